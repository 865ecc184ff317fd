"""Rated calls, listed with filters: the one query behind ``confcall cdr list`` (and the web's
call history when it wants one).

A line is one rated leg (``legs``) of a conference, with its payer, the call log's clearing
cause and, for answered charged legs, the billing record's Acct-Session-Id and billing mode —
what a NOC engineer needs to answer "was this call billed, and how".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from confcall.rating import CLASSES, MoneyError
from confcall.rating.numbers import normalize
from confcall.store.models import Account, BilledLeg, CallLog, Conference, Leg

__all__ = ["FILTER_CLASSES", "CdrFilter", "CdrLine", "list_cdrs"]

FILTER_CLASSES = tuple(c for c in CLASSES if c != "blocked") + ("unrated",)
MAX_LINES = 100_000


@dataclass(frozen=True)
class CdrFilter:
    account: str | None = None  # the payer (any form of the number)
    number: str | None = None  # the destination or the caller (any form)
    number_class: str | None = None  # one of FILTER_CLASSES
    start: datetime | None = None  # leg started at or after (UTC-aware)
    end: datetime | None = None  # ... and before
    conference: str | None = None  # the conference reference
    limit: int = 1000

    def checked(self) -> CdrFilter:
        """Refuse what cannot match anything, naming the field (nothing is queried)."""
        if self.number_class is not None and self.number_class not in FILTER_CLASSES:
            raise ValueError(f"class: {self.number_class!r} is not one of "
                             f"{', '.join(FILTER_CLASSES)}")
        for name, when in (("from", self.start), ("to", self.end)):
            if when is not None and when.tzinfo is None:
                raise ValueError(f"{name}: {when.isoformat()} has no time zone")
        if self.start and self.end and self.end <= self.start:
            raise ValueError("to: must be later than from")
        if not 1 <= self.limit <= MAX_LINES:
            raise ValueError(f"limit: {self.limit} is outside 1..{MAX_LINES}")
        for name, value in (("account", self.account), ("number", self.number)):
            if value is not None:
                try:
                    normalize(value)
                except MoneyError as e:
                    raise ValueError(f"{name}: {e}") from None
        return self


@dataclass(frozen=True)
class CdrLine:
    conference: str
    leg: str
    account: str
    billing_mode: str
    role: str
    destination: str
    number_class: str
    area: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    duration_s: int
    billed_s: int
    amount_fen: int
    cause: int | None
    session_id: str | None  # Acct-Session-Id (answered, charged legs)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("started_at", "answered_at", "ended_at"):
            out[k] = out[k].isoformat().replace("+00:00", "Z") if out[k] else None
        return out


def list_cdrs(session: Session, f: CdrFilter) -> list[CdrLine]:
    f = f.checked()
    stmt = (select(Leg, Conference.reference, Account.number, Account.billing_mode,
                   CallLog.role, CallLog.cause, BilledLeg.session_id, BilledLeg.billing_mode)
            .join(Conference, Leg.conference_id == Conference.id)
            .join(Account, Conference.account_id == Account.id)
            .outerjoin(CallLog, CallLog.reference == Leg.reference)
            .outerjoin(BilledLeg, BilledLeg.leg_ref == Leg.reference))
    if f.account is not None:
        stmt = stmt.where(Account.number == normalize(f.account))
    if f.number is not None:
        e164 = normalize(f.number)
        national = "0" + e164[3:] if e164.startswith("+86") else e164
        stmt = stmt.where(or_(Leg.destination == e164, CallLog.number.in_(
            [f.number, e164, national, e164.removeprefix("+86")])))
    if f.number_class is not None:
        stmt = stmt.where(Leg.number_class == f.number_class)
    if f.start is not None:
        stmt = stmt.where(Leg.started_at >= f.start)
    if f.end is not None:
        stmt = stmt.where(Leg.started_at < f.end)
    if f.conference is not None:
        stmt = stmt.where(Conference.reference == f.conference)
    rows = session.execute(stmt.order_by(Leg.started_at, Leg.id).limit(f.limit)).all()
    return [CdrLine(conf, leg.reference, number, billed_mode or mode,
                    "initiator" if role == "callback" else (role or "participant"),
                    leg.destination, leg.number_class, leg.area, leg.started_at,
                    leg.answered_at, leg.ended_at, leg.duration_s, leg.billed_s,
                    leg.amount_fen, cause, session_id)
            for leg, conf, number, mode, role, cause, session_id, billed_mode in rows]
