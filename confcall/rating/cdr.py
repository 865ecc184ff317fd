"""CDR rating: each leg rated for the conference's payer, one conference record itemising them.

``settle_leg`` is the unit of work: classify the destination relative to the payer's home
area, price it with the payer's plan, store the rated leg, debit the ledger and give the leg's
credit hold back — one transaction, keyed by the leg's reference.  If the process dies between
rating and debit nothing is committed; a retry (same reference) applies it once; a retry after
the commit returns the stored result.  An unanswered leg costs 0.  A carrier-billed payer's
leg is rated the same but not debited: the same transaction hands its charge to the carrier
(``confcall.billing.handoff``: the RADIUS Stop and the CDR record).

Duration = ended - answered, in whole seconds; a started second counts as a second.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from confcall.billing import handoff
from confcall.store.models import Account, Conference, Leg, Reservation

from .accounts import get_account
from .errors import MoneyError
from .ledger import post
from .numbers import classify, normalize
from .rates import plan_for_account

__all__ = [
    "ConferenceBill",
    "LegBill",
    "LegRecord",
    "close_conference",
    "conference_bill",
    "rate_conference",
    "settle_leg",
]


@dataclass(frozen=True)
class LegRecord:
    reference: str
    destination: str  # as dialled or E.164
    started_at: datetime
    ended_at: datetime
    answered_at: datetime | None = None


@dataclass(frozen=True)
class LegBill:
    reference: str
    destination: str
    number_class: str
    area: str | None
    area_known: bool
    duration_s: int
    billed_s: int
    amount_fen: int


@dataclass(frozen=True)
class ConferenceBill:
    reference: str
    payer: str
    started_at: datetime
    ended_at: datetime | None
    total_fen: int
    legs: tuple[LegBill, ...]


def _bill(leg: Leg) -> LegBill:
    return LegBill(leg.reference, leg.destination, leg.number_class, leg.area, leg.area_known,
                   leg.duration_s, leg.billed_s, leg.amount_fen)


def _conference(session: Session, reference: str, account: Account,
                started_at: datetime) -> Conference:
    conf = session.scalar(select(Conference).where(Conference.reference == reference))
    if conf is None:
        conf = Conference(reference=reference, account_id=account.id, started_at=started_at,
                          total_fen=0)
        session.add(conf)
        session.flush()
    elif conf.account_id != account.id:
        raise MoneyError("cdr.invalid", reason=f"conference {reference} has another payer")
    return conf


def _duration(leg: LegRecord) -> int:
    if leg.ended_at < leg.started_at:
        raise MoneyError("cdr.invalid", reason=f"leg {leg.reference} ends before it starts")
    if leg.answered_at is None:
        return 0
    if not leg.started_at <= leg.answered_at <= leg.ended_at:
        raise MoneyError("cdr.invalid", reason=f"leg {leg.reference} answered outside its "
                         "start..end")
    return math.ceil((leg.ended_at - leg.answered_at).total_seconds())


def settle_leg(session: Session, payer: str, conference_ref: str, leg: LegRecord,
               now: datetime) -> LegBill:
    account = get_account(session, payer)
    existing = session.scalar(select(Leg).where(Leg.reference == leg.reference))
    if existing is not None:
        return _bill(existing)
    duration = _duration(leg)
    conf = _conference(session, conference_ref, account, leg.started_at)
    if leg.answered_at is None:  # costs nothing; classified only for the record
        cls, area, known, billed, amount, rate_id = "unrated", None, True, 0, 0, None
        e164 = leg.destination[:20]
        try:
            c = classify(session, normalize(leg.destination, account.home_area),
                         account.home_area)
            e164, cls, area, known = c.number, c.cls, c.area, c.area_known
        except MoneyError:
            pass
    else:
        c = classify(session, normalize(leg.destination, account.home_area),
                     account.home_area)
        plan = plan_for_account(session, account.plan_id, c.number, c.cls)
        charge = plan.charge(c.number, c.cls, leg.answered_at, duration)
        e164, cls, area, known = c.number, c.cls, c.area, c.area_known
        billed, amount = charge.billed_s, charge.amount_fen
        rate_id = charge.row.id if charge.row else None
    res = session.scalar(select(Reservation).where(Reservation.reference == leg.reference,
                                                   Reservation.state == "held"))
    release = res.amount_fen if res is not None else 0
    if amount > 0 and account.billing_mode != "carrier":  # carrier: on the carrier's bill
        post(session, account.id, "debit", -amount, f"leg:{leg.reference}", now,
             note=f"{cls} {e164} {duration}s billed {billed}s", conference_id=conf.id,
             release_fen=release, allow_partial=True)
    elif release:
        session.execute(update(Account).where(Account.id == account.id)
                        .values(reserved_fen=Account.reserved_fen - release))
    if res is not None:
        res.state = "settled"
    row = Leg(reference=leg.reference, conference_id=conf.id, destination=e164,
              number_class=cls, area=area, area_known=known, started_at=leg.started_at,
              answered_at=leg.answered_at, ended_at=leg.ended_at, duration_s=duration,
              billed_s=billed, amount_fen=amount, rate_id=rate_id)
    session.add(row)
    session.flush()
    handoff.leg_rated(session, row, conference_ref, account)
    return _bill(row)


def conference_bill(session: Session, reference: str) -> ConferenceBill:
    conf = session.scalar(select(Conference).where(Conference.reference == reference))
    if conf is None:
        raise MoneyError("cdr.invalid", reason=f"no conference {reference}")
    payer = session.get(Account, conf.account_id)
    assert payer is not None
    legs = session.scalars(select(Leg).where(Leg.conference_id == conf.id)
                           .order_by(Leg.started_at, Leg.id)).all()
    return ConferenceBill(conf.reference, payer.number, conf.started_at, conf.ended_at,
                          conf.total_fen, tuple(_bill(leg) for leg in legs))


def close_conference(session: Session, payer: str, reference: str, started_at: datetime,
                     ended_at: datetime) -> ConferenceBill:
    account = get_account(session, payer)
    conf = _conference(session, reference, account, started_at)
    total = session.scalar(select(func.coalesce(func.sum(Leg.amount_fen), 0))
                           .where(Leg.conference_id == conf.id))
    conf.total_fen, conf.ended_at = int(total or 0), ended_at
    session.flush()
    return conference_bill(session, reference)


def rate_conference(session: Session, payer: str, reference: str, started_at: datetime,
                    ended_at: datetime, legs: list[LegRecord], now: datetime) -> ConferenceBill:
    """Rate and debit every leg, then write the conference record (all idempotent)."""
    refs = [leg.reference for leg in legs]
    if len(set(refs)) != len(refs):
        raise MoneyError("cdr.invalid", reason="two legs share a reference")
    for leg in legs:
        settle_leg(session, payer, reference, leg, now)
    return close_conference(session, payer, reference, started_at, ended_at)
