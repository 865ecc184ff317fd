"""Rate plans in the database: load a plan for rating, import/export rate tables as CSV.

CSV columns (header required, one row per tariff row)::

    match,days,start,end,price_per_min_fen,initial_s,subsequent_s,connect_fee_fen,min_charge_fen,free_seconds
    local,1234567,00:00,24:00,10,60,60,0,0,0
    +86138,12345,08:00,21:00,12,6,6,0,0,3

``match`` is a class name (see ``numbers.CLASSES``, ``blocked`` excluded) or ``+`` and digits.
An import replaces the plan's rows atomically; any bad row aborts the whole import with its
line number, and nothing is written.  Refused (issue 14): a file with no rows (it would wipe
the plan), weekday sets that are the same set written twice (``1234567``/``7654321``) or rows
of equal width that both cover an instant (which one charges would be arbitrary), Unicode
digits, numbers beyond their column's bound, files that are not UTF-8 (a UTF-8 BOM is fine).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from confcall.store.models import Rate, RatePlan, table_of

from . import validate
from .errors import MoneyError
from .numbers import CLASSES
from .tariff import ROUNDINGS, Plan, RateRow

__all__ = [
    "CSV_COLUMNS",
    "decode_rate_file",
    "ensure_plan",
    "export_rates",
    "import_rates",
    "load_plan",
    "parse_rates_csv",
    "plan_for_account",
    "rates_to_csv",
]

CSV_COLUMNS = ["match", "days", "start", "end", "price_per_min_fen", "initial_s",
               "subsequent_s", "connect_fee_fen", "min_charge_fen", "free_seconds"]
_INT_COLUMNS = CSV_COLUMNS[4:]


def decode_rate_file(data: bytes) -> str:
    """A rate file's text: UTF-8 (a BOM is dropped), else a refusal naming the first bad
    byte's line (a GBK file from a spreadsheet, say)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise MoneyError("rate.encoding", reason=f"line {line}, byte {e.start + 1}") from None


def _minute(text: str, line: int, allow_24: bool) -> int:
    try:
        hh, mm = text.strip().split(":")
        if not (hh + mm).isascii() or not hh.isdigit() or not mm.isdigit() or \
                len(hh) > 2 or len(mm) != 2:
            raise ValueError(text)
        h, m = int(hh), int(mm)
    except ValueError:
        raise MoneyError("rate.file", line=line, reason=f"time {text!r} is not HH:MM") from None
    if not (0 <= m < 60 and (0 <= h < 24 or (allow_24 and h == 24 and m == 0))):
        raise MoneyError("rate.file", line=line, reason=f"time {text!r} is out of range")
    return h * 60 + m


def _ambiguous(a: RateRow, b: RateRow) -> bool:
    """Both rows would apply at some instant and neither is narrower: the charge would
    depend on row order."""
    return a.match == b.match and a.width == b.width and bool(set(a.days) & set(b.days)) \
        and a.start_minute < b.end_minute and b.start_minute < a.end_minute


def parse_rates_csv(text: str, progress: Callable[[int], None] | None = None
                    ) -> list[RateRow]:
    """Every row checked before any is stored; ``progress(1)`` per line read (the CLI's bar)."""
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise MoneyError("rate.file", line=1, reason="empty file") from None
    if header != CSV_COLUMNS:
        raise MoneyError("rate.file", line=1, reason="header must be " + ",".join(CSV_COLUMNS))
    rows: list[RateRow] = []
    seen: set[tuple[str, str, int]] = set()
    for line, fields in enumerate(reader, start=2):
        if progress is not None:
            progress(1)
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != len(CSV_COLUMNS):
            raise MoneyError("rate.file", line=line, reason=f"{len(fields)} fields, "
                             f"{len(CSV_COLUMNS)} expected")
        match, days = fields[0].strip(), fields[1].strip()
        if days.isascii() and days.isdigit() and len(set(days)) == len(days):
            days = "".join(sorted(days))  # one spelling per weekday set
        else:
            raise MoneyError("rate.file", line=line, reason=f"days must be distinct ISO "
                             f"weekday digits 1-7 (1 = Monday), got {days[:20]!r}")
        if match.startswith("+"):
            if not match[1:].isascii() or not match[1:].isdigit() or \
                    not 1 <= len(match) - 1 <= 15:
                raise MoneyError("rate.file", line=line, reason=f"prefix {match!r} must be + "
                                 "and 1 to 15 digits")
        elif match not in CLASSES or match == "blocked":
            raise MoneyError("rate.file", line=line, reason=f"unsupported match {match[:30]!r}: a "
                             "class (" + ", ".join(c for c in CLASSES if c != "blocked") +
                             ") or +prefix")
        values: dict[str, int] = {}
        for name, raw in zip(_INT_COLUMNS, fields[4:], strict=False):
            raw = raw.strip()
            if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
                raise MoneyError("rate.file", line=line, reason=f"{name} must be a whole "
                                 f"non-negative number (fen or seconds) below 10^9, got "
                                 f"{raw[:20]!r}")
            values[name] = int(raw)
        start = _minute(fields[2], line, False)
        end = _minute(fields[3], line, True)
        try:
            row = RateRow(match=match, days=days, start_minute=start, end_minute=end, **values)
        except MoneyError as err:
            raise MoneyError("rate.file", line=line, reason=err.params.get("reason", str(err))
                             ) from None
        key = (match, days, start)
        if key in seen:
            raise MoneyError("rate.file", line=line, reason=f"duplicate row for {match} "
                             f"days {days} from {fields[2].strip()}")
        seen.add(key)
        for other in rows:
            if _ambiguous(row, other):
                raise MoneyError("rate.file", line=line, reason=f"overlaps an earlier row for "
                                 f"{match} with the same width (days {other.days} "
                                 f"{_hhmm(other.start_minute)}-{_hhmm(other.end_minute)}): "
                                 "which one charges would be arbitrary")
        rows.append(row)
    if not rows:
        raise MoneyError("rate.empty")
    return rows


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def rates_to_csv(rows: list[RateRow]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in sorted(rows, key=lambda r: (r.match, r.days, r.start_minute)):
        w.writerow([r.match, r.days, _hhmm(r.start_minute), _hhmm(r.end_minute),
                    r.price_per_min_fen, r.initial_s, r.subsequent_s, r.connect_fee_fen,
                    r.min_charge_fen, r.free_seconds])
    return out.getvalue()


def ensure_plan(session: Session, name: str, rounding: str = "up",
                utc_offset_minutes: int = 480) -> RatePlan:
    if rounding not in ROUNDINGS:
        raise MoneyError("rate.invalid", reason=f"rounding must be one of {ROUNDINGS}")
    plan = session.scalar(select(RatePlan).where(RatePlan.name == name))
    if plan is None:
        plan = RatePlan(name=name, rounding=rounding, utc_offset_minutes=utc_offset_minutes)
        session.add(plan)
        session.flush()
    return plan


def import_rates(session: Session, plan_name: str, text: str, rounding: str = "up",
                 progress: Callable[[int], None] | None = None) -> int:
    validate.text("plan", plan_name, 60, low=1)
    rows = parse_rates_csv(text, progress)  # validate everything before touching the database
    plan = ensure_plan(session, plan_name, rounding)
    session.execute(delete(Rate).where(Rate.plan_id == plan.id))
    if rows:
        session.execute(table_of(Rate).insert(), [
            {"plan_id": plan.id, "match": r.match, "days": r.days,
             "start_minute": r.start_minute, "end_minute": r.end_minute,
             "price_per_min_fen": r.price_per_min_fen, "initial_s": r.initial_s,
             "subsequent_s": r.subsequent_s, "connect_fee_fen": r.connect_fee_fen,
             "min_charge_fen": r.min_charge_fen, "free_seconds": r.free_seconds}
            for r in rows])
    return len(rows)


def load_plan(session: Session, name: str | None = None, plan_id: int | None = None,
              keys: list[str] | None = None) -> Plan:
    """A plan with its rows (only the rows of ``keys`` if given: cheap for one call)."""
    stmt = select(RatePlan)
    stmt = stmt.where(RatePlan.id == plan_id) if plan_id is not None else \
        stmt.where(RatePlan.name == (name or "default"))
    plan = session.scalar(stmt)
    if plan is None:
        raise MoneyError("rate.plan_unknown", plan=name or plan_id or "default")
    q = select(Rate).where(Rate.plan_id == plan.id)
    if keys is not None:
        q = q.where(Rate.match.in_(keys))
    rows = [RateRow(match=r.match, days=r.days, start_minute=r.start_minute,
                    end_minute=r.end_minute, price_per_min_fen=r.price_per_min_fen,
                    initial_s=r.initial_s, subsequent_s=r.subsequent_s,
                    connect_fee_fen=r.connect_fee_fen, min_charge_fen=r.min_charge_fen,
                    free_seconds=r.free_seconds, id=r.id) for r in session.scalars(q)]
    return Plan(plan.name, rows, plan.utc_offset_minutes, plan.rounding, plan.id)


def plan_for_account(session: Session, plan_id: int | None, e164: str, cls: str) -> Plan:
    """The payer's plan (or ``default``) with just the rows that can match ``e164``."""
    keys = [e164[:i] for i in range(2, len(e164) + 1)] + [cls]
    return load_plan(session, plan_id=plan_id, keys=keys) if plan_id is not None else \
        load_plan(session, "default", keys=keys)


def export_rates(session: Session, plan_name: str) -> str:
    return rates_to_csv(load_plan(session, plan_name).rows)


# The embedded default's rate plan (fen per minute; operators replace it with `confcall rate
# import`): 60/60 s increments everywhere, international 300 fen/min.
DEFAULT_PLAN_CSV = ("match,days,start,end,price_per_min_fen,initial_s,subsequent_s,"
                    "connect_fee_fen,min_charge_fen,free_seconds\n") + """\
local,1234567,00:00,24:00,10,60,60,0,0,0
long_distance,1234567,00:00,24:00,30,60,60,0,0,0
mobile_local,1234567,00:00,24:00,12,60,60,0,0,0
mobile_long_distance,1234567,00:00,24:00,20,60,60,0,0,0
international,1234567,00:00,24:00,300,60,60,0,0,0
free,1234567,00:00,24:00,0,60,60,0,0,0
"""
