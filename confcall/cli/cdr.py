"""`confcall cdr …`: rated call records, and their hand-off to the carrier's billing.

``list`` (filters, ``--json``), ``show`` (one conference), ``export`` (re-create the CDR files
of a period, or one file for it), ``outbox`` (RADIUS records still to be acknowledged).
Amounts are fen, times UTC. Refusals print the reason and exit with status 1; nothing is written.
"""
from __future__ import annotations

from typing import Any

import click

from ._common import progress
from ._money_common import db_group, fen_text, money_errors, store_of, when

__all__ = ["cdr"]

cdr = db_group("cdr", "Rated calls.")


@cdr.command("show")
@click.argument("conference")
@click.pass_context
@money_errors
def cdr_show(ctx: click.Context, conference: str) -> None:
    """One conference's legs: numbers, times, rated seconds, areas and fen."""
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

    # one labelled expression, grouped by its label: psycopg 3 binds parameters on the server,
    # so two separately bound substr(…, $1, $2) would not be the same expression to PostgreSQL
    prefix_col = func.substr(Leg.destination, 1, 8).label("prefix")

    def fn(s: Any) -> list[Any]:
        return s.execute(select(prefix_col, func.count())
                         .where(Leg.area_known.is_(False))
                         .group_by("prefix")).all()
    for prefix, n in store_of(ctx).run(fn):
        click.echo(f"{prefix}\t{n}")



@cdr.command("list")
@click.option("--account", default=None, help="the paying account's number")
@click.option("--number", default=None, help="a called (or calling) number")
@click.option("--class", "number_class", default=None,
              help="local, long_distance, mobile_local, mobile_long_distance, international, "
                   "free or unrated (never answered)")
@click.option("--from", "start", default=None,
              help="legs started at or after (ISO; UTC if no zone)")
@click.option("--to", "end", default=None, help="... and before")
@click.option("--conference", default=None, help="a conference reference")
@click.option("--limit", type=int, default=1000, show_default=True, help="rows at most")
@click.option("--json", "as_json", is_flag=True, help="one JSON array (fen as integers)")
@click.option("--csv", "as_csv", is_flag=True,
              help="CSV with a header line (UTF-8, fen as integers, times ISO 8601 UTC)")
@click.pass_context
@money_errors
def cdr_list(ctx: click.Context, account: str | None, number: str | None,
             number_class: str | None, start: str | None, end: str | None,
             conference: str | None, limit: int, as_json: bool, as_csv: bool) -> None:
    """Rated calls, oldest first (as text, --json or --csv)."""
    import json

    from confcall.billing.query import CdrFilter, list_cdrs
    try:
        f = CdrFilter(account, number, number_class, when(start) if start else None,
                      when(end) if end else None, conference, limit).checked()
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    if as_json and as_csv:
        raise click.UsageError("--json and --csv: choose one output format")
    lines = store_of(ctx).run(list_cdrs, f)
    if as_csv:
        _write_csv([x.as_json() for x in lines])
        return
    if as_json:
        click.echo(json.dumps([x.as_json() for x in lines], ensure_ascii=False, indent=1))
        return
    for x in lines:
        click.echo(f"{x.started_at:%Y-%m-%d %H:%M:%S} {x.conference} {x.leg} {x.account} "
                   f"{x.billing_mode} {x.role} {x.destination} {x.number_class} "
                   f"{x.duration_s}s billed {x.billed_s}s {x.amount_fen} fen"
                   + (f" cause {x.cause}" if x.cause is not None else ""))
    click.echo(f"{len(lines)} call(s), {sum(x.amount_fen for x in lines)} fen")


def _write_csv(rows: list[dict[str, Any]]) -> None:
    """The rows as CSV on stdout; the header is the JSON form's keys, so both exports agree."""
    import csv
    import io

    from confcall.billing.query import CdrLine
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(CdrLine.__dataclass_fields__), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    click.echo(buf.getvalue(), nl=False)


@cdr.command("export")
@click.option("--from", "start", required=True, help="legs that ended at or after (ISO; UTC "
              "if no zone)")
@click.option("--to", "end", required=True, help="... and before")
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False),
              help="where to write the files")
@click.option("--box", default=None, help="only this box's files (default: every box)")
@click.option("--one-file", is_flag=True, help="one file of the whole period instead of the "
              "rotated files that hold it")
@click.pass_context
@money_errors
def cdr_export(ctx: click.Context, start: str, end: str, directory: str, box: str | None,
               one_file: bool) -> None:
    """Re-create the CDR files of a period, byte for byte as first written (same names, same
    checksums), or one file for it."""
    from pathlib import Path

    from confcall.billing.cdrfiles import export_file, export_period, files_of_period
    t0, t1 = when(start), when(end)
    if t1 <= t0:
        raise click.BadParameter("must be later than --from", param_hint="--to")
    store = store_of(ctx)
    if one_file:
        f = export_period(store, t0, t1, Path(directory), box)
        click.echo(f"{f.path}: {f.records} record(s), {f.total_fen} fen, sha256 {f.sha256}")
        return
    ids, loose = files_of_period(store, t0, t1, box)
    files = []
    with progress("writing CDR files", items=ids) as bar:
        for fid in bar:
            files.append(export_file(store, fid, Path(directory)))
    for f in files:
        click.echo(f"{f.path}: {f.records} record(s), {f.total_fen} fen, sha256 {f.sha256}")
    click.echo(f"{len(files)} file(s)")
    if loose:
        click.echo(f"{loose} record(s) of the period are in no file yet (the box writes them at "
                   "its next rotation; --one-file includes them)")


@cdr.command("outbox")
@click.option("--box", default=None, help="one box (default: all)")
@click.option("--purge-sent-before", "purge", default=None,
              help="delete records acknowledged before this time (ISO; UTC if no zone)")
@click.pass_context
def cdr_outbox(ctx: click.Context, box: str | None, purge: str | None) -> None:
    """RADIUS accounting records not yet acknowledged by a billing server."""
    from confcall.billing.outbox import backlog, purge_sent
    if purge:
        n = store_of(ctx).run(purge_sent, when(purge))
        click.echo(f"{n} acknowledged record(s) deleted")
    b = store_of(ctx).run(backlog, box)
    oldest = f", oldest queued {b.oldest:%Y-%m-%d %H:%M:%S} UTC" if b.oldest else ""
    click.echo(f"{b.records} record(s) waiting{oldest}")
