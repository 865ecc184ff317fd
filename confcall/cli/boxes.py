"""`confcall box …`: the boxes sharing the database, and closing a lost box's rows by hand.

``list``: every box with its start, when it was last seen alive, its state (alive: seen within
``--dead-after``; dead: not seen since, its rows not yet closed; reaped: closed by another box;
unknown: open rows but no heartbeat ever, e.g. it died before the upgrade) and its open legs
and credit holds. ``reap ID``: close that box's open rows now, as a live box does by itself
once it was not seen for ``[fleet] dead_after_s`` (docs/durability.md); refused for a box seen
within ``--dead-after`` unless ``--force``. Refusals print one line and exit with status 1.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from confcall.config import Config

from ._money_common import db_group, money_errors, store_of

__all__ = ["box"]

box = db_group("box", "The boxes sharing the database: list them, reap a lost one.")
_DEAD_AFTER = Config.fleet_dead_after_s
_dead_after = click.option(
    "--dead-after", "dead_after", type=click.FloatRange(1, 7 * 86400), default=_DEAD_AFTER,
    show_default=True, help="seconds without a heartbeat after which a box counts as dead "
    "(the boxes' [fleet] dead_after_s)")


def _t(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _ago(value: datetime | None, now: datetime) -> str:
    return "never" if value is None else f"{(now - value).total_seconds():.0f} s ago"


@box.command("list")
@_dead_after
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.pass_context
@money_errors
def box_list(ctx: click.Context, dead_after: float, as_json: bool) -> None:
    """Boxes: id, state, last seen, started, open legs, credit holds held."""
    from confcall.fleet import box_states
    now = datetime.now(UTC)
    rows = store_of(ctx).run(box_states, now=now, dead_after_s=dead_after)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    for r in rows:
        reaped = f"  reaped by {r.reaped_by} at {_t(r.reaped_at)}" if r.reaped_by else ""
        click.echo(f"{r.box:<20} {r.state:<7} last seen {_t(r.last_seen)} "
                   f"({_ago(r.last_seen, now)})  started {_t(r.started_at)}  "
                   f"open legs {r.open_legs}  holds {r.held}{reaped}")
    click.echo(f"{len(rows)} box(es)")


@box.command("reap")
@click.argument("box_id")
@_dead_after
@click.option("--force", is_flag=True, help="reap even a box seen within --dead-after (only "
              "when you KNOW it is down: its live calls would be closed and rated)")
@click.pass_context
@money_errors
def box_reap(ctx: click.Context, box_id: str, dead_after: float, force: bool) -> None:
    """Close BOX_ID's open call legs at their last interim record, rate them, release their
    credit holds and close its conferences, as its own restart would."""
    from confcall.fleet import adopt_unknown, box_states, reap
    from confcall.ids import BOX_ID_PATTERN
    if not BOX_ID_PATTERN.match(box_id):
        raise click.BadParameter(f"{box_id!r}: a box id is 1-32 of a-z 0-9 _ . -",
                                 param_hint="BOX_ID")
    store = store_of(ctx)
    now = datetime.now(UTC)
    state = {r.box: r for r in store.run(box_states, now=now, dead_after_s=dead_after)}
    known = state.get(box_id)
    if known is None:
        raise click.ClickException(f"box {box_id}: unknown (no heartbeat and no open rows); "
                                   "nothing to reap")
    if known.state == "alive" and not force:
        raise click.ClickException(
            f"box {box_id}: seen {_ago(known.last_seen, now)} (within {dead_after:g} s): it "
            "may be alive; refused (--force if you know it is down)")
    if known.state == "unknown":
        store.run(adopt_unknown, box=box_id, now=now)
    me = "noc-cli"
    result = reap(store, box_id, me=me, now=now, dead_after_s=dead_after, force=True)
    if result is None:
        raise click.ClickException(f"box {box_id}: another box is reaping it right now; "
                                   "try again later")
    click.echo(f"box {box_id}: {result}")
    if result.failed:
        raise click.ClickException(f"box {box_id}: {result.failed} row(s) could not be "
                                   "closed (see the log)")
