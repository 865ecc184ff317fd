"""`confcall calls` and `confcall conferences`: what the running box is doing right now."""
from __future__ import annotations

import click

from ._common import from_box, socket_option

__all__ = ["calls", "conferences"]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@socket_option
def calls(as_json: bool, socket_path: str | None) -> None:
    """Calls in progress on the running box (every leg, every span)."""
    items = from_box(socket_path, "calls", as_json)
    if items is None:
        return
    for c in items:
        click.echo(f"{c['trunk']:8} ch {c['channo']!s:>4}  {c['direction']:3}  "
                   f"{c['number'] or '-':>15} -> {c['dnis'] or '-':<8} {c['state']:<12} "
                   f"{c['seconds']:>7.1f} s")
    click.echo(f"{len(items)} call(s)")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@socket_option
def conferences(as_json: bool, socket_path: str | None) -> None:
    """Conferences in progress on the running box, with their seats."""
    items = from_box(socket_path, "conferences", as_json)
    if items is None:
        return
    for c in items:
        seats = ", ".join(f"{m['seat'] or '-'}:{m['number']}" for m in c["members"])
        click.echo(f"{c['reference']}  payer {c['payer']}  {c['seconds']:.0f} s  "
                   f"{'inviting' if c['inviting'] else 'talking'}  [{seats}]")
    click.echo(f"{len(items)} conference(s)")
