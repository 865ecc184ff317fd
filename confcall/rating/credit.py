"""Credit control: hold credit for legs in flight, so conferences sharing one balance can never
spend more than it holds.

``authorize_leg`` (before dialling a leg) holds credit for up to ``quota_s`` seconds, priced at
the dearest period of the leg's tariff row, with one conditional ``UPDATE accounts SET
reserved = reserved + x WHERE balance - reserved >= x``.  ``extend_leg`` (before the grant runs
out) holds more.  When the free balance allows no more, the grant is ``final``: the call control
plays warnings at ``warnings_s`` (seconds after answer) and clears the leg at ``granted_s``.
``cdr.settle_leg`` debits the rated cost and gives the hold back in the same statement;
``release_leg`` gives it back for a leg that failed.

The balance is never below zero and ``reserved`` never above the balance (``balance -
reserved >= 0`` is what each hold checks), on SQLite and PostgreSQL alike.

A carrier-billed account (``carrier.py``) has no balance to hold against: its holds count
against the headroom under its spend limits instead (none: never refused), decided under a
lock on the account row, and a refusal is ``limit.reached`` instead of ``funds.insufficient``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from confcall.ids import box_id
from confcall.store.engine import rowcount as _count
from confcall.store.models import Account, Reservation, table_of

from . import fraud
from .accounts import get_account
from .carrier import free_fen, lock_account
from .errors import MoneyError
from .numbers import classify_dialled
from .rates import plan_for_account
from .tariff import MAX_CALL_S, Plan

__all__ = [
    "DEFAULT_QUOTA_S",
    "DEFAULT_WARNINGS_S",
    "Grant",
    "authorize_leg",
    "extend_leg",
    "release_leg",
    "release_stale",
]

DEFAULT_QUOTA_S = 300
DEFAULT_WARNINGS_S = (60, 30)
_ACC = table_of(Account).c


@dataclass(frozen=True)
class Grant:
    reference: str
    destination: str
    number_class: str
    granted_s: int  # seconds after answer the leg may run on the credit held now
    reserved_fen: int  # credit held for this leg
    final: bool  # the balance allows no more: clear the leg at granted_s
    warnings_s: tuple[int, ...]  # when final: seconds after answer to warn the subscriber


def _grant(res: Reservation, cls: str, final: bool, warnings: tuple[int, ...]) -> Grant:
    warn = tuple(res.granted_s - w for w in sorted(warnings, reverse=True)
                 if res.granted_s - w > 0) if final else ()
    return Grant(res.reference, res.destination, cls, res.granted_s, res.amount_fen, final,
                 warn)


def _hold(session: Session, account: Account, amount: int) -> bool:
    if amount <= 0:
        return True
    stmt = update(table_of(Account)).where(_ACC.id == account.id)
    if account.billing_mode != "carrier":  # carrier: headroom checked under the row lock
        stmt = stmt.where(_ACC.balance_fen - _ACC.reserved_fen >= amount)
    return _count(session, stmt.values(reserved_fen=_ACC.reserved_fen + amount)) == 1


def _refusal(account: Account, needed: int, free: int | None) -> MoneyError:
    if account.billing_mode == "carrier":
        return MoneyError("limit.reached", number=account.number, needed=needed,
                          available=free or 0)
    return MoneyError("funds.insufficient", needed=needed, available=free or 0)


def _max_s(plan: Plan, number: str, cls: str, free: int | None) -> int:
    return MAX_CALL_S if free is None else plan.max_duration(number, cls, free)


def authorize_leg(session: Session, number: str, conference_ref: str, leg_ref: str,
                  dialled: str, now: datetime, quota_s: int = DEFAULT_QUOTA_S,
                  warnings_s: tuple[int, ...] = DEFAULT_WARNINGS_S) -> Grant:
    """Hold credit for a new leg of ``number``'s conference.  Raises ``number.blocked``,
    ``number.malformed``, ``account.locked``, ``funds.insufficient``, ``fraud.*``."""
    account = get_account(session, number)
    if account.status != "active":
        raise MoneyError("account.locked", number=account.number)
    c = classify_dialled(session, dialled, account.home_area)
    if c.cls == "blocked":
        raise MoneyError("number.blocked", number=c.number, reason=c.reason)
    if account.billing_mode == "carrier":
        lock_account(session, account)
    existing = session.scalar(select(Reservation).where(Reservation.reference == leg_ref))
    plan = plan_for_account(session, account.plan_id, c.number, c.cls)
    free = free_fen(session, account, now)
    if existing is not None:  # a retried request: same answer
        more = _max_s(plan, c.number, c.cls,
                      None if free is None else free + existing.amount_fen)
        return _grant(existing, c.cls, more <= existing.granted_s, warnings_s)
    max_s = _max_s(plan, c.number, c.cls, free)
    if max_s == 0:
        raise _refusal(account, plan.worst_charge(c.number, c.cls, 1), free)
    granted = min(quota_s, max_s)
    amount = plan.worst_charge(c.number, c.cls, granted)
    if not _hold(session, account, amount):
        raise _refusal(account, amount, free_fen(session, account, now))
    # toll-fraud limits (issue 14), under the row lock the hold took; a refusal rolls it back
    fraud.check_new_leg(session, account, conference_ref, c.number, amount, granted, now)
    res = Reservation(reference=leg_ref, account_id=account.id, conference_ref=conference_ref,
                      destination=c.number, amount_fen=amount, granted_s=granted,
                      state="held", created_at=now, box=box_id())
    session.add(res)
    session.flush()
    return _grant(res, c.cls, granted >= max_s and granted < MAX_CALL_S, warnings_s)


def _held(session: Session, leg_ref: str) -> Reservation:
    res = session.scalar(select(Reservation).where(Reservation.reference == leg_ref)
                         .execution_options(populate_existing=True))
    if res is None:
        raise MoneyError("credit.unknown", reference=leg_ref)
    return res


def extend_leg(session: Session, leg_ref: str, quota_s: int = DEFAULT_QUOTA_S,
               warnings_s: tuple[int, ...] = DEFAULT_WARNINGS_S,
               now: datetime | None = None) -> Grant:
    """Hold credit for ``quota_s`` more seconds if the balance (or, carrier-billed, the spend
    limit as of ``now``, default the wall clock) allows; else a final grant."""
    res = _held(session, leg_ref)
    account = session.get(Account, res.account_id, populate_existing=True)
    assert account is not None
    c = classify_dialled(session, res.destination, account.home_area)
    if res.state != "held":
        return _grant(res, c.cls, True, warnings_s)
    if account.billing_mode == "carrier":
        lock_account(session, account)
    plan = plan_for_account(session, account.plan_id, c.number, c.cls)
    free = free_fen(session, account, now or datetime.now(UTC))
    max_s = _max_s(plan, c.number, c.cls, None if free is None else free + res.amount_fen)
    target = min(res.granted_s + quota_s, max_s)
    if target > res.granted_s:
        amount = plan.worst_charge(c.number, c.cls, target)
        if _hold(session, account, amount - res.amount_fen):
            res.amount_fen, res.granted_s = amount, target
        else:  # a concurrent conference took the credit first
            max_s = res.granted_s
    return _grant(res, c.cls, res.granted_s >= max_s and res.granted_s < MAX_CALL_S,
                  warnings_s)


def release_stale(session: Session, now: datetime, slack_s: int = 3600) -> list[str]:
    """Give back holds whose leg was never settled (a box died mid-call): every hold older
    than its granted time plus ``slack_s``.  Returns the references released."""
    held = session.scalars(select(Reservation).where(Reservation.state == "held")).all()
    stale = [r.reference for r in held
             if r.created_at + timedelta(seconds=r.granted_s + slack_s) <= now]
    for ref in stale:
        release_leg(session, ref)
    return stale


def release_leg(session: Session, leg_ref: str) -> None:
    """Give the held credit back (the leg failed or was never answered). Idempotent."""
    res = _held(session, leg_ref)
    if res.state != "held":
        return
    session.execute(update(table_of(Account)).where(_ACC.id == res.account_id)
                    .values(reserved_fen=_ACC.reserved_fen - res.amount_fen))
    res.state = "released"
