"""`confcall account …`: subscriber accounts, balances, the ledger and credit holds.

Amounts are fen. Refusals print the reason and exit with status 1; nothing is written.
"""
from __future__ import annotations

from datetime import UTC, datetime

import click

from confcall.rating import ops

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
    click.echo(f"created {ops.create_account(store_of(ctx), number, pin, area, plan)}")


@account.command("lock")
@click.argument("number")
@click.pass_context
@money_errors
def account_lock(ctx: click.Context, number: str) -> None:
    ops.lock_account(store_of(ctx), number)
    click.echo(f"locked {number}")


@account.command("unlock")
@click.argument("number")
@click.pass_context
@money_errors
def account_unlock(ctx: click.Context, number: str) -> None:
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
    b = ops.balance(store_of(ctx), number)
    click.echo(f"{b.number}: balance {fen_text(b.balance_fen)}, held for calls "
               f"{fen_text(b.reserved_fen)}, available {fen_text(b.available_fen)}")


@account.command("adjust")
@click.argument("number")
@click.argument("amount", type=int)
@click.option("--reference", required=True, help="unique reference (a retry is harmless)")
@click.option("--note", required=True)
@click.option("--refund", is_flag=True, help="book as a refund instead of an adjustment")
@click.option("--actor", default="operator")
@click.pass_context
@money_errors
def account_adjust(ctx: click.Context, number: str, amount: int, reference: str, note: str,
                   refund: bool, actor: str) -> None:
    """Credit (+AMOUNT) or debit (-AMOUNT) fen with a ledger entry."""
    b = ops.adjust(store_of(ctx), number, amount, reference, note, actor,
                   "refund" if refund else "adjustment")
    click.echo(f"{b.number}: balance {fen_text(b.balance_fen)}")


@account.command("statement")
@click.argument("number")
@click.option("--start", "start", required=True, help="ISO date/time (UTC if no zone)")
@click.option("--end", "end", required=True)
@click.pass_context
@money_errors
def account_statement(ctx: click.Context, number: str, start: str, end: str) -> None:
    st = ops.statement(store_of(ctx), number, when(start), when(end))
    click.echo(f"statement {st.number} {st.start:%Y-%m-%d %H:%M} .. {st.end:%Y-%m-%d %H:%M} UTC")
    click.echo(f"opening balance {fen_text(st.opening_fen)}")
    for at, kind, amount, after, ref, note in st.entries:
        click.echo(f"{at:%Y-%m-%d %H:%M:%S} {kind:<10} {amount:>+10} {after:>10}  {ref}  {note}")
    click.echo(f"closing balance {fen_text(st.closing_fen)}")
    for conf, at, dest, cls, secs, fen in st.legs:
        click.echo(f"  call {conf} {at:%Y-%m-%d %H:%M:%S} {dest} {cls} {secs}s {fen} fen")


@account.command("passwd")
@click.argument("number")
@click.option("--old", prompt=True, hide_input=True)
@click.option("--new", prompt=True, hide_input=True)
@click.option("--confirm", prompt=True, hide_input=True)
@click.pass_context
@money_errors
def account_passwd(ctx: click.Context, number: str, old: str, new: str, confirm: str) -> None:
    ops.change_password(store_of(ctx), number, old, new, confirm, source="cli")
    click.echo("password changed")



@account.command("release-holds")
@click.option("--slack", type=int, default=3600, show_default=True,
              help="seconds past a hold's granted time before it counts as abandoned")
@click.pass_context
@money_errors
def account_release_holds(ctx: click.Context, slack: int) -> None:
    """Give back credit held for calls that were never settled (a box died mid-call)."""
    from confcall.rating.credit import release_stale
    refs = store_of(ctx).run(release_stale, datetime.now(UTC), slack)
    click.echo(f"{len(refs)} holds released" + "".join(f"\n  {r}" for r in refs))
