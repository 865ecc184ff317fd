"""`confcall cdr …`: rated call records.

Amounts are fen. Refusals print the reason and exit with status 1; nothing is written.
"""
from __future__ import annotations

from typing import Any

import click

from ._money_common import db_group, fen_text, money_errors, store_of

__all__ = ["cdr"]

cdr = db_group("cdr", "Rated calls.")


@cdr.command("show")
@click.argument("conference")
@click.pass_context
@money_errors
def cdr_show(ctx: click.Context, conference: str) -> None:
    from confcall.rating.cdr import conference_bill
    bill = store_of(ctx).run(conference_bill, conference)
    click.echo(f"conference {bill.reference} payer {bill.payer} total {fen_text(bill.total_fen)}")
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
    for prefix, n in store_of(ctx).run(fn):
        click.echo(f"{prefix}\t{n}")

