"""Subscriber accounts: E.164 number, home area, status, keypad PIN (argon2id + pepper).

Functions take an open session.  argon2 (~100 ms) never runs inside a transaction — on
SQLite that would hold the write lock for every other box and call: a PIN check is
``pin_state`` (short read), ``secrets_.verify_pin`` (no transaction), then ``record_pin_check``
(short write: count the failure and maybe lock, or reset the counter).  Functions that must
*record* a failure return the refusal instead of raising it, so the counter commits; ``ops``
raises it afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from confcall.store.models import Account, RatePlan

from .errors import MoneyError
from .numbers import area_of_number, normalize

__all__ = [
    "MAX_PIN_FAILURES",
    "PIN_LOCK",
    "PIN_MAX",
    "PIN_MIN",
    "PinState",
    "check_pin_format",
    "count_failure",
    "create_account",
    "get_account",
    "lockout_refusal",
    "pin_state",
    "record_pin_check",
    "set_pin",
    "set_status",
]

PIN_MIN, PIN_MAX = 6, 12
MAX_PIN_FAILURES = 5
PIN_LOCK = timedelta(minutes=15)


def check_pin_format(pin: object) -> str:
    if not isinstance(pin, str) or not pin.isascii() or not pin.isdigit() or \
            not PIN_MIN <= len(pin) <= PIN_MAX:
        raise MoneyError("pin.format", low=PIN_MIN, high=PIN_MAX)
    steps = {int(b) - int(a) for a, b in pairwise(pin)}
    if steps in ({0}, {1}, {-1}):
        raise MoneyError("pin.weak")
    return pin


def get_account(session: Session, number: str, *, for_update: bool = False) -> Account:
    e164 = normalize(number)
    stmt = select(Account).where(Account.number == e164)
    if for_update:
        stmt = stmt.with_for_update()
    account = session.scalar(stmt.execution_options(populate_existing=True))
    if account is None:
        raise MoneyError("account.unknown", number=e164)
    return account


def create_account(session: Session, number: str, pin_hash: str, now: datetime,
                   home_area: str | None = None, plan: str | None = None) -> Account:
    """Insert an account; ``pin_hash`` from ``secrets_.hash_pin`` (computed beforehand,
    outside the transaction, after ``check_pin_format``)."""
    e164 = normalize(number)
    if home_area is None:
        home_area = area_of_number(session, e164)
        if home_area is None:
            raise MoneyError("area.invalid", area=f"unknown for {e164}; give the home area")
    elif not home_area.isdigit() or not 2 <= len(home_area) <= 4:
        raise MoneyError("area.invalid", area=home_area)
    if session.scalar(select(Account.id).where(Account.number == e164)) is not None:
        raise MoneyError("account.exists", number=e164)
    plan_id = None
    if plan is not None:
        plan_id = session.scalar(select(RatePlan.id).where(RatePlan.name == plan))
        if plan_id is None:
            raise MoneyError("rate.plan_unknown", plan=plan)
    account = Account(number=e164, home_area=home_area, status="active", pin_hash=pin_hash,
                      balance_fen=0, reserved_fen=0, plan_id=plan_id, pin_failures=0,
                      card_failures=0, created_at=now)
    session.add(account)
    session.flush()
    return account


def set_status(session: Session, number: str, status: str) -> Account:
    if status not in ("active", "locked"):
        raise ValueError(status)
    account = get_account(session, number)
    account.status = status
    if status == "active":
        account.pin_failures, account.pin_locked_until = 0, None
        account.card_failures, account.card_locked_until = 0, None
    return account


@dataclass(frozen=True)
class PinState:
    account_id: int
    number: str
    pin_hash: str


def pin_state(session: Session, number: str, now: datetime) -> PinState | MoneyError:
    """What a PIN check needs, or why no PIN may be tried now (locked account/lockout)."""
    account = get_account(session, number)
    refusal = lockout_refusal(account, account.pin_locked_until, "account.pin_locked", now)
    if refusal is not None:
        return refusal
    return PinState(account.id, account.number, account.pin_hash)


def lockout_refusal(account: Account, locked_until: datetime | None, code: str,
                    now: datetime) -> MoneyError | None:
    """Why ``account`` may not try a secret now: not active, or ``locked_until`` (one of its
    lockout columns) still in the future — refused as ``code`` with the lock's end.  One check
    for both lockouts (keypad PIN, card redemption), which differ only in column and code."""
    if account.status != "active":
        return MoneyError("account.locked", number=account.number)
    if locked_until is not None and locked_until > now:
        return MoneyError(code, number=account.number, until=_lock_end_text(locked_until))
    return None


def count_failure(session: Session, account_id: int, failures: InstrumentedAttribute[int],
                  locked_until: InstrumentedAttribute[datetime | None], limit: int,
                  lock: timedelta, now: datetime) -> datetime | None:
    """Count one failed attempt in the ``failures`` column with one atomic UPDATE (racing
    attempts cannot lose a count); at ``limit``, lock until ``now + lock`` and restart the
    count.  Returns the lock's end if this attempt locked the account, else None.  Shared by
    the keypad-PIN and card-redemption lockouts, which differ only in columns and limits."""
    n = session.execute(update(Account).where(Account.id == account_id)
                        .values({failures: failures + 1})
                        .returning(failures)).scalar_one()
    if n < limit:
        return None
    until = now + lock
    session.execute(update(Account).where(Account.id == account_id)
                    .values({locked_until: until, failures: 0}))
    return until


def _lock_end_text(until: datetime) -> str:
    """A lock's end as the refusals show it (minutes, UTC)."""
    return f"{until:%Y-%m-%d %H:%M} UTC"


def record_pin_check(session: Session, state: PinState, ok: bool,
                     now: datetime) -> MoneyError | None:
    """Count a wrong PIN (after MAX_PIN_FAILURES: no PIN accepted for PIN_LOCK) or reset the
    counter after a right one.  Returns the refusal for a wrong PIN."""
    if ok:
        session.execute(update(Account).where(Account.id == state.account_id,
                                              Account.pin_failures != 0)
                        .values(pin_failures=0, pin_locked_until=None))
        return None
    until = count_failure(session, state.account_id, Account.pin_failures,
                          Account.pin_locked_until, MAX_PIN_FAILURES, PIN_LOCK, now)
    if until is not None:
        return MoneyError("account.pin_locked", number=state.number,
                          until=_lock_end_text(until))
    return MoneyError("pin.wrong")


def set_pin(session: Session, state: PinState, new_hash: str) -> MoneyError | None:
    """Replace the PIN hash, unless it changed since ``state`` was read (a concurrent change:
    the caller must start again rather than silently overwrite it)."""
    n = session.execute(update(Account).where(Account.id == state.account_id,
                                              Account.pin_hash == state.pin_hash)
                        .values(pin_hash=new_hash).returning(Account.id)).first()
    return None if n is not None else MoneyError("pin.wrong")
