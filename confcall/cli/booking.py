"""`confcall booking …`: the NOC's view of booked conferences and phone-mode callbacks.

``list`` (by state, kind or account; newest start first), ``show`` (one booking with every dial
attempt and its cause), ``cancel`` (same rules as the subscriber's: a booking not yet dialled
is cancelled and its lease released; once dialling it is refused). ``--json`` everywhere.
Times are UTC. Refusals print the reason and exit with status 1; nothing is written.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from confcall.booking import BookingError, BookingKind, BookingState, BookingView

from ._money_common import db_group, money_errors, store_of

__all__ = ["booking"]

booking = db_group("booking", "Booked conferences and callbacks (list, show, cancel).")


def _booking_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BookingError as err:
            raise click.ClickException(str(err)) from None
    return money_errors(wrapper)


def _t(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _line(v: BookingView) -> str:
    held = f" lease {v.lease_box} until {_t(v.lease_until)}" if v.lease_box else ""
    return (f"{v.id}\t{v.kind}\t{v.state}\t{_t(v.start_at)}\t{v.account_number}\t"
            f"{v.initiator} + {len(v.participants)}{held}")


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@booking.command("list")
@click.option("--state", "states", multiple=True,
              type=click.Choice([s.value for s in BookingState]),
              help="only bookings in this state (repeatable)")
@click.option("--kind", type=click.Choice([k.value for k in BookingKind]), default=None,
              help="conference (booked on the site) or callback (phone mode)")
@click.option("--account", default=None, help="only this account's booked conferences")
@click.option("--limit", type=click.IntRange(1, 10_000), default=200, show_default=True,
              help="bookings listed at most (newest start first)")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.pass_context
@_booking_errors
def booking_list(ctx: click.Context, states: tuple[str, ...], kind: str | None,
                 account: str | None, limit: int, as_json: bool) -> None:
    """Bookings, newest start first: id, kind, state, start (UTC), account, initiator +
    participants, and the lease of the box serving it."""
    from confcall.booking import list_all, list_bookings
    store = store_of(ctx)
    if account is not None:
        rows = store.run(list_bookings, account, now=datetime.now(UTC), limit=limit)
        rows = [v for v in rows if (not states or v.state.value in states)
                and (kind is None or v.kind.value == kind)]
    else:
        rows = store.run(list_all, states=[BookingState(s) for s in states] or None,
                         kinds=[BookingKind(kind)] if kind else None, limit=limit)
    if as_json:
        _echo_json([v.as_dict() for v in rows])
        return
    for v in rows:
        click.echo(_line(v))


@booking.command("show")
@click.argument("booking_id")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.pass_context
@_booking_errors
def booking_show(ctx: click.Context, booking_id: str, as_json: bool) -> None:
    """One booking with every dial attempt (party, attempt, result, Q.850 cause, box)."""
    from confcall.booking import get_any
    v = store_of(ctx).run(get_any, booking_id)
    if as_json:
        _echo_json(v.as_dict())
        return
    click.echo(_line(v))
    click.echo(f"reference {v.reference}; retries {v.retry_count} every "
               f"{v.retry_interval_s} s; conference {v.conference_ref or '-'}")
    if v.outcome:
        click.echo(f"outcome: {v.outcome}")
    click.echo(f"participants: {', '.join(v.participants) or '-'}")
    for a in v.attempts:
        who = "initiator" if a.position == 0 else f"participant {a.position}"
        click.echo(f"  {_t(a.started_at)} {who} {a.number} attempt {a.attempt_no}: "
                   f"{a.result or 'in progress'}"
                   + (f" (cause {a.cause})" if a.cause is not None else "")
                   + f" on {a.box}")


@booking.command("cancel")
@click.argument("booking_id")
@click.option("--operator", default="noc", show_default=True,
              help="who cancels (recorded in the booking's outcome)")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.pass_context
@_booking_errors
def booking_cancel(ctx: click.Context, booking_id: str, operator: str, as_json: bool) -> None:
    """Cancel a booking that no box has started dialling (refused once dialling)."""
    from confcall.booking import cancel_as_operator
    if not operator.strip() or len(operator) > 60:
        raise click.BadParameter("1 to 60 characters", param_hint="--operator")
    v = store_of(ctx).run(cancel_as_operator, booking_id, now=datetime.now(UTC),
                          operator=operator.strip())
    if as_json:
        _echo_json(v.as_dict())
        return
    click.echo(f"booking {v.id} cancelled")
