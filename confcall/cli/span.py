"""`confcall span …`: E1/T1 line status (alarms, error counters, channels)."""
from __future__ import annotations

import click

from confcall.dahdi import DahdiError

from ._common import ask_box, parse_sim, socket_option

__all__ = ["span"]


@click.group()
def span() -> None:
    """E1/T1 spans: alarms, error counters, channels."""


@span.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--sim", metavar="SPANS", default=None,
              help="Show a simulated card instead of /dev/dahdi, e.g. E1:pri,E1:pri.")
@socket_option
def span_status_cmd(as_json: bool, sim: str | None, socket_path: str | None) -> None:
    """Each span's alarms, counters and channel states (from the running box when there is
    one, else straight from /dev/dahdi)."""
    import json

    from confcall.console import render_span_dicts, span_dicts
    from confcall.dahdi.inventory import inventory

    answer = ask_box(socket_path, "span_status") if sim is None else None
    if answer is not None:
        spans = answer["spans"]
    else:
        card = None
        if sim is not None:
            from confcall.sim import SimCard
            card = SimCard(parse_sim(sim)).install()
        try:
            spans = span_dicts(inventory())
        except DahdiError as e:
            hint = (" (no DAHDI driver loaded? check `lsmod | grep dahdi` and "
                    "/etc/dahdi/system.conf, or use --sim to see a simulated card)"
                    if e.errno == 2 else "")
            raise click.ClickException(f"{e}{hint}") from e
        finally:
            if card is not None:
                card.uninstall()
    if as_json:
        click.echo(json.dumps({"spans": spans}, indent=2, ensure_ascii=False))
    else:
        click.echo(render_span_dicts(spans))
