"""Carrier-billed accounts: the carrier collects the charge on the subscriber's phone bill.

Why a second billing mode: a carrier that sells the service to its own line subscribers does
not want prepaid cards; the subscriber needs no balance with us. Such an account's calls are
rated exactly like prepaid ones, but the charge is handed to the carrier (RADIUS accounting and
CDR files, ``confcall.billing``) instead of being debited from our ledger.

What replaces the balance: optional spend limits per local day and per local month (the day
and month of the account's rate plan, China time by default). Credit control treats what is
left under the tighter limit as a prepaid account's free balance: legs in flight hold credit
against it (``accounts.reserved_fen``), the initiator hears the same warnings, and a leg is
cleared when the limit is reached. Without limits a carrier-billed account is never refused
for money.

What has been spent is what was handed off: the charges of the account's rated legs in
``billed_legs``, by the time the leg was answered.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from confcall.store.models import Account, BilledLeg, RatePlan

from .errors import MoneyError
from .ledger import MAX_AMOUNT_FEN, available

__all__ = [
    "BILLING_MODES",
    "Spend",
    "free_fen",
    "lock_account",
    "set_billing",
    "spend",
    "windows",
]

BILLING_MODES = ("prepaid", "carrier")
DEFAULT_UTC_OFFSET_MIN = 480  # China; the account's plan says otherwise


@dataclass(frozen=True)
class Spend:
    """A carrier-billed account's spending now (fen); limits None = no limit."""
    day_fen: int
    month_fen: int
    held_fen: int  # legs in flight
    day_limit_fen: int | None
    month_limit_fen: int | None
    month_start: datetime  # UTC instant the local month began

    @property
    def headroom_fen(self) -> int | None:
        """What new or longer calls may still commit, under the tighter limit (never < 0)."""
        left = [limit - spent - self.held_fen for limit, spent in
                ((self.day_limit_fen, self.day_fen), (self.month_limit_fen, self.month_fen))
                if limit is not None]
        return max(0, min(left)) if left else None


def _utc_offset(session: Session, account: Account) -> int:
    stmt = (select(RatePlan.utc_offset_minutes).where(RatePlan.id == account.plan_id)
            if account.plan_id is not None else
            select(RatePlan.utc_offset_minutes).where(RatePlan.name == "default"))
    offset = session.scalar(stmt)
    return DEFAULT_UTC_OFFSET_MIN if offset is None else int(offset)


def windows(now: datetime, utc_offset_minutes: int) -> tuple[datetime, datetime]:
    """(start of the local day, start of the local month) containing ``now``, as UTC."""
    shift = timedelta(minutes=utc_offset_minutes)
    local = now.astimezone(UTC) + shift
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - shift, day.replace(day=1) - shift


def _spent(session: Session, number: str, since: datetime) -> int:
    total = session.scalar(select(func.coalesce(func.sum(BilledLeg.charge_fen), 0))
                           .where(BilledLeg.account == number, BilledLeg.rated.is_(True),
                                  BilledLeg.answered_at >= since))
    return int(total or 0)


def spend(session: Session, account: Account, now: datetime) -> Spend:
    day_start, month_start = windows(now, _utc_offset(session, account))
    _, held = available(session, account.id)
    return Spend(_spent(session, account.number, day_start),
                 _spent(session, account.number, month_start), held,
                 account.day_limit_fen, account.month_limit_fen, month_start)


def lock_account(session: Session, account: Account) -> None:
    """Serialise credit decisions of one carrier-billed account: its headroom is computed from
    several rows, so two boxes must not both read it before either holds (PostgreSQL row lock;
    SQLite transactions are already serialised by BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Account.id).where(Account.id == account.id).with_for_update())


def free_fen(session: Session, account: Account, now: datetime) -> int | None:
    """What credit control may commit to new call time: the free balance of a prepaid account,
    the limit headroom of a carrier-billed one (None: no limit)."""
    if account.billing_mode == "carrier":
        return spend(session, account, now).headroom_fen
    balance, reserved = available(session, account.id)
    return balance - reserved


def _limit(value: int | None, field: str) -> int | None:
    if value is None:
        return None
    if type(value) is not int or not 0 <= value <= MAX_AMOUNT_FEN:
        raise MoneyError("limit.value", field=field, value=value, high=MAX_AMOUNT_FEN)
    return value


def set_billing(session: Session, account: Account, mode: str, day_limit_fen: int | None,
                month_limit_fen: int | None) -> Account:
    """Switch ``account`` to ``mode`` with these limits (carrier-billed only).  A prepaid
    account keeps its balance when it becomes carrier-billed (and can use it again if it goes
    back); limits are refused on a prepaid account, where the balance is the limit."""
    if mode not in BILLING_MODES:
        raise MoneyError("billing.mode", mode=mode)
    day, month = _limit(day_limit_fen, "day limit"), _limit(month_limit_fen, "month limit")
    if mode == "prepaid" and (day is not None or month is not None):
        raise MoneyError("limit.prepaid")
    if account.reserved_fen:
        raise MoneyError("billing.busy", number=account.number)
    account.billing_mode, account.day_limit_fen, account.month_limit_fen = mode, day, month
    session.flush()
    return account
