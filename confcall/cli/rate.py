"""`confcall rate …`: rate plans, area prefixes, number rules and quotes.

Amounts are fen. Refusals print the reason and exit with status 1; nothing is written.
"""
from __future__ import annotations

from typing import Any

import click

from confcall.rating import ops

from ._money_common import db_group, fen_text, money_errors, store_of, when

__all__ = ["rate"]

rate = db_group("rate", "Rate plans, areas and quotes.")


@rate.command("import")
@click.argument("plan")
@click.argument("csv_file", type=click.File("rb"))
@click.option("--rounding", type=click.Choice(["up", "half_up", "down"]), default="up",
              help="rounding of a started charging unit")
@click.pass_context
@money_errors
def rate_import(ctx: click.Context, plan: str, csv_file: Any, rounding: str) -> None:
    """Replace PLAN's rows with CSV_FILE (UTF-8; all or nothing)."""
    from confcall.rating.rates import decode_rate_file
    text = decode_rate_file(csv_file.read(4_000_001))
    if len(text) > 4_000_000:
        raise click.ClickException("CSV_FILE: at most 4 MB (a rate table, not a CDR dump)")
    from ._common import progress
    lines = max(text.count("\n"), 1)  # the bar counts lines read and checked
    with progress("checking rates", length=lines) as bar:
        n = ops.import_rates(store_of(ctx), plan, text, rounding, progress=bar.update)
    click.echo(f"plan {plan}: {n} rows")


@rate.command("export")
@click.argument("plan")
@click.pass_context
@money_errors
def rate_export(ctx: click.Context, plan: str) -> None:
    """Print PLAN's rates as CSV, in the format `rate import` reads."""
    click.echo(ops.export_rates(store_of(ctx), plan), nl=False)


@rate.command("quote")
@click.argument("payer")
@click.argument("dialled")
@click.argument("seconds", type=int)
@click.option("--at", default=None, help="ISO time of answer (default now)")
@click.pass_context
@money_errors
def rate_quote(ctx: click.Context, payer: str, dialled: str, seconds: int,
               at: str | None) -> None:
    """What a call from PAYER to DIALLED lasting SECONDS would cost, per the payer's plan."""
    q = ops.quote(store_of(ctx), payer, dialled, seconds, when(at, "--at") if at else None)
    click.echo(f"{q.destination} {q.number_class} area {q.area or '?'}: {seconds}s billed "
               f"{q.billed_s}s = {fen_text(q.amount_fen)}; balance allows {q.max_duration_s}s")


@rate.command("seed-areas")
@click.pass_context
@money_errors
def rate_seed_areas(ctx: click.Context) -> None:
    """(Re)load the prefix → area table from phonenumbers (operator rows are kept)."""
    from confcall.rating.areas import seed_areas
    n = store_of(ctx).run(seed_areas)
    click.echo(f"{n} prefixes seeded")


@rate.command("set-area")
@click.argument("prefix")
@click.argument("area")
@click.option("--name", default="", help="the area's name")
@click.pass_context
@money_errors
def rate_set_area(ctx: click.Context, prefix: str, area: str, name: str) -> None:
    """Map national-number PREFIX (e.g. 1991234) to AREA code (e.g. 10)."""
    from confcall.rating.areas import set_area
    store_of(ctx).run(set_area, prefix, area, name)
    click.echo(f"{prefix} → {area}")


@rate.command("rule")
@click.argument("prefix")
@click.argument("action", type=click.Choice(["block", "free"]))
@click.option("--reason", default="", help="why (shown in `rate rules`)")
@click.pass_context
@money_errors
def rate_rule(ctx: click.Context, prefix: str, action: str, reason: str) -> None:
    """Block or make free every number starting with national PREFIX (``168``) or, with a
    ``+``, E.164 PREFIX of any country (``+882``)."""
    from confcall.rating import validate
    from confcall.store.models import NumberRule
    if prefix.startswith("+"):  # an E.164 prefix, any country
        validate.ascii_digits("PREFIX", prefix[1:], 1, 15)
    else:
        validate.ascii_digits("PREFIX", prefix, 1, 16)
    validate.text("--reason", reason, 120)

    def fn(s: Any) -> None:
        s.merge(NumberRule(prefix=prefix, action=action, reason=reason))
    store_of(ctx).run(fn)
    click.echo(f"{prefix}: {action}")
