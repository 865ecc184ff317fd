"""Subscriber accounts: E.164 number, home area, status, keypad PIN (argon2id + pepper).

Functions take an open session.  argon2 (~100 ms) never runs inside a transaction — on
SQLite that would hold the write lock for every other box and call: a PIN check is
``begin_pin_check`` (short write: the attempt counted in the throttles *before* the check,
see ``throttle``), ``secrets_.verify_pin`` (no transaction; a dummy verify for an unknown
number, so both answer alike), then ``throttle.succeeded`` for a right PIN.  Functions that
must *record* something before refusing return the refusal instead of raising it, so the
write commits; ``ops`` raises it afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from confcall.store.models import Account, RatePlan

from . import throttle, validate
from .areas import known_area
from .errors import MoneyError
from .numbers import area_of_number, normalize

__all__ = [
    "PIN_MAX",
    "PIN_MIN",
    "PinState",
    "begin_pin_check",
    "check_pin_format",
    "create_account",
    "get_account",
    "pin_buckets",
    "set_pin",
    "set_status",
    "throttle_refusal",
]

PIN_MIN, PIN_MAX = 6, 12


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
    else:
        validate.ascii_digits("--area", home_area, 2, 4)
        if not known_area(session, home_area):
            raise MoneyError("area.invalid", area=home_area)
    if session.scalar(select(Account.id).where(Account.number == e164)) is not None:
        raise MoneyError("account.exists", number=e164)
    plan_id = None
    if plan is not None:
        validate.text("--plan", plan, 60, low=1)
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
        throttle.clear(session, [f"pin:to:{account.number}"])
    return account


@dataclass(frozen=True)
class PinState:
    account_id: int
    number: str
    pin_hash: str
    status: str


def pin_buckets(e164: str, source: str) -> list[throttle.Bucket]:
    """The throttles a PIN try on ``e164`` from ``source`` counts in: the source's, and the
    account's own unless the source is the account's own number (its owner's phone)."""
    buckets = [throttle.Bucket(f"pin:src:{source}", throttle.SOURCE)]
    if not _is_own_number(source, e164):
        buckets.append(throttle.Bucket(f"pin:to:{e164}", throttle.TARGET))
    return buckets


def _is_own_number(source: str, e164: str) -> bool:
    if not source.startswith("ani:"):
        return False
    try:
        return normalize(source[4:]) == e164
    except MoneyError:
        return False


def throttle_refusal(refused: throttle.Refused, code: str, number: str) -> MoneyError:
    return MoneyError(code, number=number, until=_lock_end_text(refused.until))


def begin_pin_check(session: Session, e164: str, source: str, now: datetime
                    ) -> tuple[throttle.Ticket, PinState | None] | MoneyError:
    """Count the try (refused if a throttle is blocked), then what the check needs: the
    account's hash, or None for an unknown number (checked against a dummy hash)."""
    got = throttle.attempt(session, pin_buckets(e164, source), now)
    if isinstance(got, throttle.Refused):
        return throttle_refusal(got, "account.pin_locked", e164)
    account = session.scalar(select(Account).where(Account.number == e164)
                             .execution_options(populate_existing=True))
    if account is None:
        return got, None
    return got, PinState(account.id, account.number, account.pin_hash, account.status)


def _lock_end_text(until: datetime) -> str:
    """A lock's end as the refusals show it (seconds, UTC)."""
    return f"{until:%Y-%m-%d %H:%M:%S} UTC"


def set_pin(session: Session, state: PinState, new_hash: str) -> MoneyError | None:
    """Replace the PIN hash, unless it changed since ``state`` was read (a concurrent change:
    the caller must start again rather than silently overwrite it)."""
    n = session.execute(update(Account).where(Account.id == state.account_id,
                                              Account.pin_hash == state.pin_hash)
                        .values(pin_hash=new_hash).returning(Account.id)).first()
    return None if n is not None else MoneyError("pin.wrong")
