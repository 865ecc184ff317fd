"""NOC commands for the money side: ``db``, ``account``, ``card``, ``rate``, ``cdr``.

Standalone click groups (the main ``confcall`` CLI registers them with ``add_command``).  Each
takes ``--db URL`` (default: $CONFCALL_DB or sqlite:///var/confcall.db).  Amounts are fen.
Refusals print the reason and exit with status 1; nothing is written.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from confcall.rating import MoneyError, ops
from confcall.store import DEFAULT_URL, Store

__all__ = ["GROUPS", "account", "card", "cdr", "db", "rate"]

_db_option = click.option("--db", "db_url", envvar="CONFCALL_DB", default=DEFAULT_URL,
                          show_default=True, help="database URL (env CONFCALL_DB)")


def _store(ctx: click.Context) -> Store:
    if "store" not in ctx.obj:
        ctx.obj["store"] = Store(ctx.obj["url"])
        ctx.call_on_close(ctx.obj["store"].dispose)
    return ctx.obj["store"]


def _group(name: str, help_: str) -> click.Group:
    @click.group(name=name, help=help_)
    @_db_option
    @click.pass_context
    def grp(ctx: click.Context, db_url: str) -> None:
        ctx.ensure_object(dict)
        ctx.obj["url"] = db_url
    return grp


def _money(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MoneyError as err:
            raise click.ClickException(str(err)) from None
    return wrapper


def _fen(v: int) -> str:
    return f"{v} fen ({v / 100:.2f} yuan)" if abs(v) < 10**15 else str(v)


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO date/time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- db --------------------------------------------------------------------------------------
db = _group("db", "Database schema (Alembic migrations).")


@db.command("upgrade")
@click.argument("revision", default="head")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Migrate the database to REVISION (default: newest)."""
    from confcall.store import current, upgrade
    upgrade(ctx.obj["url"], revision)
    click.echo(f"database at revision {current(ctx.obj['url'])}")


@db.command("downgrade")
@click.argument("revision", default="-1")
@click.pass_context
def db_downgrade(ctx: click.Context, revision: str) -> None:
    """Step the schema back (default: one revision)."""
    from confcall.store import current, downgrade
    downgrade(ctx.obj["url"], revision)
    click.echo(f"database at revision {current(ctx.obj['url'])}")


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    from confcall.store import current
    click.echo(current(ctx.obj["url"]) or "empty")


# -- account ---------------------------------------------------------------------------------
account = _group("account", "Subscriber accounts, balances and the ledger.")


@account.command("create")
@click.argument("number")
@click.option("--pin", prompt=True, hide_input=True, confirmation_prompt=True,
              help="numeric password, 6-12 digits")
@click.option("--area", default=None, help="home area code (default: from the number)")
@click.option("--plan", default=None, help="rate plan (default: 'default')")
@click.pass_context
@_money
def account_create(ctx: click.Context, number: str, pin: str, area: str | None,
                   plan: str | None) -> None:
    click.echo(f"created {ops.create_account(_store(ctx), number, pin, area, plan)}")


@account.command("lock")
@click.argument("number")
@click.pass_context
@_money
def account_lock(ctx: click.Context, number: str) -> None:
    ops.lock_account(_store(ctx), number)
    click.echo(f"locked {number}")


@account.command("unlock")
@click.argument("number")
@click.pass_context
@_money
def account_unlock(ctx: click.Context, number: str) -> None:
    ops.unlock_account(_store(ctx), number)
    click.echo(f"unlocked {number}")


@account.command("plan")
@click.argument("number")
@click.argument("plan")
@click.pass_context
@_money
def account_plan(ctx: click.Context, number: str, plan: str) -> None:
    """Rate NUMBER's calls with PLAN from now on."""
    ops.set_plan(_store(ctx), number, plan)
    click.echo(f"{number}: plan {plan}")


@account.command("balance")
@click.argument("number")
@click.pass_context
@_money
def account_balance(ctx: click.Context, number: str) -> None:
    b = ops.balance(_store(ctx), number)
    click.echo(f"{b.number}: balance {_fen(b.balance_fen)}, held for calls "
               f"{_fen(b.reserved_fen)}, available {_fen(b.available_fen)}")


@account.command("adjust")
@click.argument("number")
@click.argument("amount", type=int)
@click.option("--reference", required=True, help="unique reference (a retry is harmless)")
@click.option("--note", required=True)
@click.option("--refund", is_flag=True, help="book as a refund instead of an adjustment")
@click.option("--actor", default="operator")
@click.pass_context
@_money
def account_adjust(ctx: click.Context, number: str, amount: int, reference: str, note: str,
                   refund: bool, actor: str) -> None:
    """Credit (+AMOUNT) or debit (-AMOUNT) fen with a ledger entry."""
    b = ops.adjust(_store(ctx), number, amount, reference, note, actor,
                   "refund" if refund else "adjustment")
    click.echo(f"{b.number}: balance {_fen(b.balance_fen)}")


@account.command("statement")
@click.argument("number")
@click.option("--start", "start", required=True, help="ISO date/time (UTC if no zone)")
@click.option("--end", "end", required=True)
@click.pass_context
@_money
def account_statement(ctx: click.Context, number: str, start: str, end: str) -> None:
    st = ops.statement(_store(ctx), number, _when(start), _when(end))
    click.echo(f"statement {st.number} {st.start:%Y-%m-%d %H:%M} .. {st.end:%Y-%m-%d %H:%M} UTC")
    click.echo(f"opening balance {_fen(st.opening_fen)}")
    for at, kind, amount, after, ref, note in st.entries:
        click.echo(f"{at:%Y-%m-%d %H:%M:%S} {kind:<10} {amount:>+10} {after:>10}  {ref}  {note}")
    click.echo(f"closing balance {_fen(st.closing_fen)}")
    for conf, at, dest, cls, secs, fen in st.legs:
        click.echo(f"  call {conf} {at:%Y-%m-%d %H:%M:%S} {dest} {cls} {secs}s {fen} fen")


@account.command("passwd")
@click.argument("number")
@click.option("--old", prompt=True, hide_input=True)
@click.option("--new", prompt=True, hide_input=True)
@click.option("--confirm", prompt=True, hide_input=True)
@click.pass_context
@_money
def account_passwd(ctx: click.Context, number: str, old: str, new: str, confirm: str) -> None:
    ops.change_password(_store(ctx), number, old, new, confirm)
    click.echo("password changed")


# -- card ------------------------------------------------------------------------------------
card = _group("card", "Prepaid recharge cards.")


@card.command("generate")
@click.option("--label", required=True)
@click.option("--count", type=int, required=True)
@click.option("--value", "value_fen", type=int, required=True, help="face value in fen")
@click.option("--expires", required=True, help="ISO date/time (UTC if no zone)")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="new CSV file for the printer; the only copy of the PINs")
@click.pass_context
@_money
def card_generate(ctx: click.Context, label: str, count: int, value_fen: int, expires: str,
                  out: str) -> None:
    import os

    from confcall.rating.cards import write_print_file
    from confcall.store.models import CardBatch
    if os.path.exists(out):
        raise click.ClickException(f"{out} exists: the print file is written once, never over")
    store = _store(ctx)
    batch_id, printed = ops.generate_cards(store, label, count, value_fen, _when(expires))
    with store.transaction() as s:
        batch = s.get(CardBatch, batch_id)
        assert batch is not None
        write_print_file(out, batch, printed)
    click.echo(f"batch {batch_id}: {count} cards of {_fen(value_fen)} written to {out} "
               "(state generated; 'card activate' when sold)")


@card.command("activate")
@click.argument("batch_id", type=int)
@click.pass_context
@_money
def card_activate(ctx: click.Context, batch_id: int) -> None:
    click.echo(f"{ops.activate_batch(_store(ctx), batch_id)} cards activated")


@card.command("void")
@click.argument("serial")
@click.pass_context
@_money
def card_void(ctx: click.Context, serial: str) -> None:
    ops.void_card(_store(ctx), serial)
    click.echo(f"card {serial} void")


@card.command("void-batch")
@click.argument("batch_id", type=int)
@click.pass_context
@_money
def card_void_batch(ctx: click.Context, batch_id: int) -> None:
    click.echo(f"{ops.void_batch(_store(ctx), batch_id)} cards void")


@card.command("unblock")
@click.argument("serial")
@click.pass_context
@_money
def card_unblock(ctx: click.Context, serial: str) -> None:
    """Clear a card's wrong-PIN lock."""
    ops.unblock_card(_store(ctx), serial)
    click.echo(f"card {serial} unblocked")


@card.command("redeem")
@click.argument("number")
@click.argument("serial")
@click.option("--pin", prompt=True, hide_input=True)
@click.pass_context
@_money
def card_redeem(ctx: click.Context, number: str, serial: str, pin: str) -> None:
    b = ops.recharge_by_card(_store(ctx), number, serial, pin)
    click.echo(f"{b.number}: balance {_fen(b.balance_fen)}")


@card.command("expire")
@click.pass_context
@_money
def card_expire(ctx: click.Context) -> None:
    """Mark every card past its expiry as expired."""
    from confcall.rating.cards import expire_cards
    n = _store(ctx).run(expire_cards, datetime.now(UTC))
    click.echo(f"{n} cards expired")


@account.command("release-holds")
@click.option("--slack", type=int, default=3600, show_default=True,
              help="seconds past a hold's granted time before it counts as abandoned")
@click.pass_context
@_money
def account_release_holds(ctx: click.Context, slack: int) -> None:
    """Give back credit held for calls that were never settled (a box died mid-call)."""
    from confcall.rating.credit import release_stale
    refs = _store(ctx).run(release_stale, datetime.now(UTC), slack)
    click.echo(f"{len(refs)} holds released" + "".join(f"\n  {r}" for r in refs))


# -- rate ------------------------------------------------------------------------------------
rate = _group("rate", "Rate plans, areas and quotes.")


@rate.command("import")
@click.argument("plan")
@click.argument("csv_file", type=click.File("r", encoding="utf-8"))
@click.option("--rounding", type=click.Choice(["up", "half_up", "down"]), default="up")
@click.pass_context
@_money
def rate_import(ctx: click.Context, plan: str, csv_file: Any, rounding: str) -> None:
    """Replace PLAN's rows with CSV_FILE (all or nothing)."""
    n = ops.import_rates(_store(ctx), plan, csv_file.read(), rounding)
    click.echo(f"plan {plan}: {n} rows")


@rate.command("export")
@click.argument("plan")
@click.pass_context
@_money
def rate_export(ctx: click.Context, plan: str) -> None:
    click.echo(ops.export_rates(_store(ctx), plan), nl=False)


@rate.command("quote")
@click.argument("payer")
@click.argument("dialled")
@click.argument("seconds", type=int)
@click.option("--at", default=None, help="ISO time of answer (default now)")
@click.pass_context
@_money
def rate_quote(ctx: click.Context, payer: str, dialled: str, seconds: int,
               at: str | None) -> None:
    q = ops.quote(_store(ctx), payer, dialled, seconds, _when(at) if at else None)
    click.echo(f"{q.destination} {q.number_class} area {q.area or '?'}: {seconds}s billed "
               f"{q.billed_s}s = {_fen(q.amount_fen)}; balance allows {q.max_duration_s}s")


@rate.command("seed-areas")
@click.pass_context
@_money
def rate_seed_areas(ctx: click.Context) -> None:
    """(Re)load the prefix → area table from phonenumbers (operator rows are kept)."""
    from confcall.rating.areas import seed_areas
    n = _store(ctx).run(seed_areas)
    click.echo(f"{n} prefixes seeded")


@rate.command("set-area")
@click.argument("prefix")
@click.argument("area")
@click.option("--name", default="")
@click.pass_context
@_money
def rate_set_area(ctx: click.Context, prefix: str, area: str, name: str) -> None:
    """Map national-number PREFIX (e.g. 1991234) to AREA code (e.g. 10)."""
    from confcall.rating.areas import set_area
    _store(ctx).run(set_area, prefix, area, name)
    click.echo(f"{prefix} → {area}")


@rate.command("rule")
@click.argument("prefix")
@click.argument("action", type=click.Choice(["block", "free"]))
@click.option("--reason", default="")
@click.pass_context
@_money
def rate_rule(ctx: click.Context, prefix: str, action: str, reason: str) -> None:
    """Block or make free every number starting with national PREFIX."""
    from confcall.store.models import NumberRule
    if not prefix.isdigit():
        raise click.BadParameter("PREFIX must be digits of a national number")

    def fn(s: Any) -> None:
        s.merge(NumberRule(prefix=prefix, action=action, reason=reason))
    _store(ctx).run(fn)
    click.echo(f"{prefix}: {action}")


# -- cdr -------------------------------------------------------------------------------------
cdr = _group("cdr", "Rated calls.")


@cdr.command("show")
@click.argument("conference")
@click.pass_context
@_money
def cdr_show(ctx: click.Context, conference: str) -> None:
    from confcall.rating.cdr import conference_bill
    bill = _store(ctx).run(conference_bill, conference)
    click.echo(f"conference {bill.reference} payer {bill.payer} total {_fen(bill.total_fen)}")
    for leg in bill.legs:
        click.echo(f"  {leg.reference} {leg.destination} {leg.number_class} "
                   f"{leg.duration_s}s billed {leg.billed_s}s {leg.amount_fen} fen"
                   + ("" if leg.area_known else " (area unknown)"))


@cdr.command("unknown-areas")
@click.pass_context
def cdr_unknown_areas(ctx: click.Context) -> None:
    """Destinations rated as long distance because their area is unknown."""
    from sqlalchemy import func, select

    from confcall.store.models import Leg

    def fn(s: Any) -> list[Any]:
        return s.execute(select(func.substr(Leg.destination, 1, 8), func.count())
                         .where(Leg.area_known.is_(False))
                         .group_by(func.substr(Leg.destination, 1, 8))).all()
    for prefix, n in _store(ctx).run(fn):
        click.echo(f"{prefix}\t{n}")


GROUPS = [db, account, card, rate, cdr]
