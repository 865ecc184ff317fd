"""`confcall account …`: subscriber accounts, balances, the ledger and credit holds.

Amounts are fen. Refusals print the reason and exit with status 1; nothing is written.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from confcall.rating import MoneyError, ops

from ._money_common import db_group, fen_text, money_errors, store_of, when

__all__ = ["account"]

account = db_group("account", "Subscriber accounts, balances and the ledger.")


@account.command("create")
@click.argument("number")
@click.option("--pin", prompt=True, hide_input=True, confirmation_prompt=True,
              help="numeric password, 6-12 digits")
@click.option("--area", default=None, help="home area code (default: from the number)")
@click.option("--plan", default=None, help="rate plan (default: 'default')")
@click.pass_context
@money_errors
def account_create(ctx: click.Context, number: str, pin: str, area: str | None,
                   plan: str | None) -> None:
    """Open a prepaid account for NUMBER (E.164 or national) with a 6-digit PIN.

    Works on a fresh database after `confcall db upgrade`: the area table is seeded on first
    and the default plan are loaded there; a database without areas gets an error naming
    `confcall rate seed-areas`."""
    try:
        created = ops.create_account(store_of(ctx), number, pin, area, plan)
    except MoneyError as e:
        if "area" in str(e) and _no_areas(store_of(ctx)):
            raise click.ClickException(f"{e}: this database has no area table yet; run "
                                       "`confcall rate seed-areas` (or `confcall db "
                                       "upgrade`, which seeds it)") from None
        raise
    click.echo(f"created {created}")


def _no_areas(store: Any) -> bool:
    from sqlalchemy import func, select

    from confcall.store.models import AreaPrefix
    return bool(store.run(lambda s: s.scalar(select(func.count()).select_from(AreaPrefix))
                          == 0))


@account.command("lock")
@click.argument("number")
@click.pass_context
@money_errors
def account_lock(ctx: click.Context, number: str) -> None:
    """Lock NUMBER: no callbacks, no IVR, no web login until `account unlock`."""
    ops.lock_account(store_of(ctx), number)
    click.echo(f"locked {number}")


@account.command("unlock")
@click.argument("number")
@click.pass_context
@money_errors
def account_unlock(ctx: click.Context, number: str) -> None:
    """Unlock NUMBER: an operator's lock or the wrong-PIN lock of the ACCOUNT (the IVR
    and web login). A recharge CARD locked by wrong card PINs is `card unblock` instead."""
    ops.unlock_account(store_of(ctx), number)
    click.echo(f"unlocked {number}")


@account.command("plan")
@click.argument("number")
@click.argument("plan")
@click.pass_context
@money_errors
def account_plan(ctx: click.Context, number: str, plan: str) -> None:
    """Rate NUMBER's calls with PLAN from now on."""
    ops.set_plan(store_of(ctx), number, plan)
    click.echo(f"{number}: plan {plan}")


@account.command("balance")
@click.argument("number")
@click.pass_context
@money_errors
def account_balance(ctx: click.Context, number: str) -> None:
    """Print NUMBER's balance, credit held for running calls, and what is available (fen)."""
    b = ops.balance(store_of(ctx), number)
    click.echo(f"{b.number}: balance {fen_text(b.balance_fen)}, held for calls "
               f"{fen_text(b.reserved_fen)}, available {fen_text(b.available_fen)}")


@account.command("summary")
@click.argument("number")
@click.pass_context
@money_errors
def account_summary(ctx: click.Context, number: str) -> None:
    """What the subscriber is told: balance (prepaid) or spending and limits (carrier-billed)."""
    s = ops.account_summary(store_of(ctx), number)
    if not s.carrier_billed:
        click.echo(f"{s.number}: prepaid, balance {fen_text(s.balance_fen)}, available "
                   f"{fen_text(s.available_fen)}")
        return

    def limit(value: int | None, left: int | None) -> str:
        if value is None:
            return "no limit"
        return f"limit {fen_text(value)}, left {fen_text(left or 0)}"
    click.echo(f"{s.number}: carrier-billed; today {fen_text(s.spent_today_fen)} "
               f"({limit(s.day_limit_fen, s.day_left_fen)}); this month "
               f"{fen_text(s.spent_month_fen)} ({limit(s.month_limit_fen, s.month_left_fen)})")


@account.command("billing")
@click.argument("number")
@click.argument("mode", type=click.Choice(["prepaid", "carrier"]))
@click.option("--day-limit", type=int, default=None, help="carrier-billed: fen per local day")
@click.option("--month-limit", type=int, default=None,
              help="carrier-billed: fen per local month")
@click.pass_context
@money_errors
def account_billing(ctx: click.Context, number: str, mode: str, day_limit: int | None,
                    month_limit: int | None) -> None:
    """Make NUMBER prepaid (our ledger) or carrier-billed (charged on the phone bill through
    the RADIUS/CDR hand-off), with optional spend limits."""
    s = ops.set_billing(store_of(ctx), number, mode, day_limit, month_limit)
    click.echo(f"{s.number}: {s.billing_mode}"
               + (f", day limit {fen_text(s.day_limit_fen)}" if s.day_limit_fen is not None
                  else "")
               + (f", month limit {fen_text(s.month_limit_fen)}"
                  if s.month_limit_fen is not None else ""))


@account.command("limits")
@click.argument("number")
@click.option("--max-conferences", type=int, default=None,
              help="conferences in progress at once")
@click.option("--spend-per-hour", type=int, default=None,
              help="fen its legs may cost (spent + held) in any hour")
@click.option("--default", "to_default", is_flag=True, help="back to the box defaults")
@click.pass_context
@money_errors
def account_limits(ctx: click.Context, number: str, max_conferences: int | None,
                   spend_per_hour: int | None, to_default: bool) -> None:
    """Show or set NUMBER's toll-fraud limits (no option: show)."""
    change = to_default or max_conferences is not None or spend_per_hour is not None
    if to_default and (max_conferences is not None or spend_per_hour is not None):
        raise click.UsageError("--default cannot be combined with a limit")
    lim = ops.account_limits(store_of(ctx), number, change=change,
                             max_conferences=max_conferences,
                             spend_per_hour_fen=spend_per_hour)
    click.echo(f"{lim.number}: at most {lim.max_conferences} conferences at once, "
               f"{fen_text(lim.spend_per_hour_fen)} an hour"
               + ("" if lim.custom else " (box defaults)"))


@account.command("adjust", context_settings={"ignore_unknown_options": True})
@click.argument("number")
@click.argument("amount", type=int)
@click.option("--reference", required=True, help="unique reference (a retry is harmless)")
@click.option("--note", required=True, help="why (kept in the ledger)")
@click.option("--refund", is_flag=True, help="book as a refund instead of an adjustment")
@click.option("--actor", default="operator", help="who did it (kept in the ledger)")
@click.pass_context
@money_errors
def account_adjust(ctx: click.Context, number: str, amount: int, reference: str, note: str,
                   refund: bool, actor: str) -> None:
    """Credit (+AMOUNT) or debit (-AMOUNT) fen with a ledger entry (``-500`` needs no
    ``--``)."""
    b = ops.adjust(store_of(ctx), number, amount, reference, note, actor,
                   "refund" if refund else "adjustment")
    click.echo(f"{b.number}: balance {fen_text(b.balance_fen)}")


@account.command("statement")
@click.argument("number")
@click.option("--start", "start", required=True, help="ISO date/time (UTC if no zone)")
@click.option("--end", "end", required=True, help="ISO date/time, exclusive")
@click.pass_context
@money_errors
def account_statement(ctx: click.Context, number: str, start: str, end: str) -> None:
    """Ledger entries of NUMBER between --start and --end, with the running balance."""
    st = ops.statement(store_of(ctx), number, when(start, "--start"), when(end, "--end"))
    click.echo(f"statement {st.number} {st.start:%Y-%m-%d %H:%M} .. {st.end:%Y-%m-%d %H:%M} UTC")
    click.echo(f"opening balance {fen_text(st.opening_fen)}")
    for at, kind, amount, after, ref, note in st.entries:
        click.echo(f"{at:%Y-%m-%d %H:%M:%S} {kind:<10} {amount:>+10} {after:>10}  {ref}  {note}")
    click.echo(f"closing balance {fen_text(st.closing_fen)}")
    for conf, at, dest, cls, secs, fen in st.legs:
        click.echo(f"  call {conf} {at:%Y-%m-%d %H:%M:%S} {dest} {cls} {secs}s {fen} fen")


@account.command("passwd")
@click.argument("number")
@click.option("--old", prompt=True, hide_input=True, help="the current PIN")
@click.option("--new", prompt=True, hide_input=True, help="the new PIN")
@click.option("--confirm", prompt=True, hide_input=True, help="the new PIN again")
@click.pass_context
@money_errors
def account_passwd(ctx: click.Context, number: str, old: str, new: str, confirm: str) -> None:
    """Change NUMBER's PIN (asks for the old PIN, then the new one twice)."""
    ops.change_password(store_of(ctx), number, old, new, confirm, source="cli")
    click.echo("password changed")



@account.command("release-holds")
@click.option("--slack", type=int, default=3600, show_default=True,
              help="seconds past a hold's granted time before it counts as abandoned")
@click.pass_context
@money_errors
def account_release_holds(ctx: click.Context, slack: int) -> None:
    """Give back credit held for calls that were never settled (a box died mid-call)."""
    from confcall.rating import validate
    from confcall.rating.credit import release_stale
    validate.int_range("--slack", slack, 0, 30 * 86400)
    refs = store_of(ctx).run(release_stale, datetime.now(UTC), slack)
    click.echo(f"{len(refs)} holds released" + "".join(f"\n  {r}" for r in refs))
