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
    media = answer.get("media") if answer is not None else None
    writes = answer.get("writes") if answer is not None else None
    if as_json:
        out = {"spans": spans} if media is None else {"spans": spans, "media": media}
        if writes is not None:
            out["writes"] = writes
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        click.echo(render_span_dicts(spans))
        if media is not None:
            click.echo(_media_line(media))
        if writes is not None:
            click.echo(writes_line(writes))


def writes_line(w: dict) -> str:
    """The box's money/record writes under the spans (issue 13): OK, or WAITING while the
    database cannot take them (retried; calls go on)."""
    # journal's hunk: how many of them are safe on disk (docs/durability.md, the write journal)
    disk = (f"; {w['journaled']} kept in the write journal" if w.get("journaled") else "") + \
        (f"; the write journal FAILED {w['journal_failures']} time(s): those wait in memory "
         "only (disk full?)" if w.get("journal_failures") else "")
    if w.get("failing"):
        return (f"database writes  WAITING  {w.get('pending', 0)} pending, the database "
                f"refuses them (retried; {w.get('retries', 0)} retries so far){disk}")
    return f"database writes  OK  {w.get('pending', 0)} pending{disk}"


def _media_line(m: dict) -> str:
    """The box's media engine under the spans: OK, or ALARM with what failed (issue 13)."""
    if not m.get("alarm"):
        return f"media engine  OK  faults {m.get('faults', 0)}"
    parts = [m["failed"]] if m.get("failed") else []
    oos = m.get("out_of_service") or {}
    if oos:
        parts.append("out of service: " + ", ".join(f"channel {c}" for c in oos))
    if m.get("alarms"):
        parts.append("last: " + m["alarms"][-1]["text"])
    return (f"media engine  ALARM  faults {m.get('faults', 0)}  restarts "
            f"{m.get('restarts', 0)}  " + "; ".join(parts))
