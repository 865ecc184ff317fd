"""Operations the CLI, the web site and the IVR call.  Each runs in its own transaction on a
``Store`` (from Twisted: ``DbRunner.call_plain(ops.balance, number)``), takes an optional
``now`` (UTC-aware; tests inject it) and raises ``MoneyError`` with a readable reason.

Tries of a secret (PIN, card PIN) are counted in the throttles and committed *before* the
check (``throttle``); other refusals that must keep a write commit it before being raised.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from confcall.store import Store
from confcall.store.models import Conference, LedgerEntry, Leg
from confcall.store.types import utc

from . import (
    accounts,
    cards,
    carrier,
    cdr,
    credit,
    fraud,
    ledger,
    rates,
    secrets_,
    throttle,
    validate,
)
from .errors import MoneyError
from .numbers import classify_dialled, normalize

__all__ = [
    "AccountSummary",
    "Balance",
    "Quote",
    "Statement",
    "account_limits",
    "account_summary",
    "activate_batch",
    "adjust",
    "authenticate",
    "authorize_leg",
    "balance",
    "change_password",
    "check_caller",
    "check_source",
    "close_conference",
    "create_account",
    "export_rates",
    "extend_leg",
    "generate_cards",
    "import_rates",
    "lock_account",
    "quote",
    "rate_conference",
    "recharge_by_card",
    "release_leg",
    "set_billing",
    "set_plan",
    "settle_leg",
    "statement",
    "unblock_card",
    "unlock_account",
    "void_batch",
    "void_card",
]

T = TypeVar("T")


def _now(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else utc(now)


def _run(store: Store, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run; a returned MoneyError is raised after its failure counters committed."""
    result = store.run(fn, *args, **kwargs)
    if isinstance(result, MoneyError):
        raise result
    return result


@dataclass(frozen=True)
class Balance:
    number: str
    balance_fen: int
    reserved_fen: int

    @property
    def available_fen(self) -> int:
        return self.balance_fen - self.reserved_fen


@dataclass(frozen=True)
class Quote:
    destination: str
    number_class: str
    area: str | None
    duration_s: int
    billed_s: int
    amount_fen: int
    max_duration_s: int  # what the caller's free balance allows (worst period)


@dataclass(frozen=True)
class Statement:
    number: str
    start: datetime
    end: datetime
    opening_fen: int
    closing_fen: int
    # time, kind, amount, balance after, reference, note
    entries: tuple[tuple[datetime, str, int, int, str, str], ...]
    legs: tuple[tuple[str, datetime, str, str, int, int], ...]  # conf, start, dest, class, s, fen


def create_account(store: Store, number: str, pin: str, home_area: str | None = None,
                   plan: str | None = None, now: datetime | None = None) -> str:
    accounts.check_pin_format(pin)
    pin_hash = secrets_.hash_pin(pin)  # ~100 ms: outside the transaction
    return _run(store, lambda s: accounts.create_account(s, number, pin_hash, _now(now),
                                                         home_area, plan).number)


def lock_account(store: Store, number: str) -> None:
    _run(store, lambda s: accounts.set_status(s, number, "locked") and None)


def unlock_account(store: Store, number: str) -> None:
    _run(store, lambda s: accounts.set_status(s, number, "active") and None)


def _check_pin(store: Store, number: str, pin: str, now: datetime,
               source: str) -> accounts.PinState:
    """Check ``number``'s PIN, throttled per ``source`` and per number (``throttle``): the
    try is counted and committed first, argon2 runs with no transaction open, and an unknown
    number costs the same argon2 work and gets the same answer as a wrong PIN."""
    e164 = normalize(number)
    ticket, state = _run(store, accounts.begin_pin_check, e164, source, now)
    if state is None:
        secrets_.dummy_verify(pin if isinstance(pin, str) else "")
    if state is None or not isinstance(pin, str) or \
            not secrets_.verify_pin(state.pin_hash, pin):
        if ticket.blocks_until is not None:  # the burst's last: say how long to wait
            raise accounts.throttle_refusal(throttle.Refused(ticket.blocks_until, ""),
                                            "account.pin_locked", e164)
        raise MoneyError("pin.wrong")
    _run(store, throttle.succeeded, ticket, now)
    if state.status != "active":
        raise MoneyError("account.locked", number=state.number)
    if secrets_.needs_rehash(state.pin_hash):  # parameters were raised: upgrade the hash
        _run(store, accounts.set_pin, state, secrets_.hash_pin(pin))
    return state


def set_plan(store: Store, number: str, plan: str) -> None:
    """Rate ``number``'s future calls with ``plan``."""
    validate.text("PLAN", plan, 60, low=1)

    def fn(s: Session) -> None:
        from confcall.store.models import RatePlan
        plan_id = s.scalar(select(RatePlan.id).where(RatePlan.name == plan))
        if plan_id is None:
            raise MoneyError("rate.plan_unknown", plan=plan)
        accounts.get_account(s, number).plan_id = plan_id
    _run(store, fn)


def unblock_card(store: Store, serial: str) -> list[str]:
    """Clear a card's wrong-PIN counter and every throttle on its serial (after checking the
    holder's story); returns what was cleared."""
    return _run(store, cards.unblock_card, serial)


def check_source(source: object) -> str:
    """Who is trying a secret, for the throttles: ``"ani:+8613800138000"`` (the calling
    number; ``"ani:withheld"`` when there is none), ``"ip:203.0.113.7"`` (a web client) or
    ``"cli"`` (an operator at the box).  A programming error otherwise (ValueError)."""
    if not isinstance(source, str) or len(source) > 100 or not (
            source == "cli" or source.startswith(("ani:", "ip:")) and len(source) > 4):
        raise ValueError(f"source must be 'ani:<number>', 'ip:<address>' or 'cli', "
                         f"got {source!r}")
    return source


def authenticate(store: Store, number: str, pin: str, *, source: str,
                 now: datetime | None = None) -> str:
    """The account's E.164 number if ``pin`` is right; MoneyError otherwise (wrong PIN,
    lockout after repeated failures, locked account, unknown number).  ``source`` says who
    is trying (see ``check_source``)."""
    check_source(source)
    return _check_pin(store, number, pin, _now(now), source).number


def change_password(store: Store, number: str, old: str, new: str, confirm: str, *,
                    source: str, now: datetime | None = None) -> None:
    check_source(source)
    if new != confirm:
        raise MoneyError("pin.mismatch")
    accounts.check_pin_format(new)
    state = _check_pin(store, number, old, _now(now), source)
    new_hash = secrets_.hash_pin(new)
    _run(store, accounts.set_pin, state, new_hash)


def balance(store: Store, number: str, pin: str | None = None, *, source: str | None = None,
            now: datetime | None = None) -> Balance:
    """``number``'s balance.  With ``pin`` (a subscriber asking, not call control or the
    operator) the password is checked first, throttled per ``source`` and per number."""
    if pin is not None:
        _check_pin(store, number, pin, _now(now), check_source(source))

    def fn(s: Session) -> Balance:
        acc = accounts.get_account(s, number)
        return Balance(acc.number, acc.balance_fen, acc.reserved_fen)
    return _run(store, fn)


def check_caller(store: Store, ani: str, min_available_fen: int = 1,
                 now: datetime | None = None) -> Balance:
    """Access-number check before accepting a callback request: the caller's account exists,
    is active and has at least ``min_available_fen`` free — balance for a prepaid account,
    headroom under its spend limits for a carrier-billed one (no limit: always enough).
    Raises ``account.unknown``, ``account.locked``, ``funds.insufficient`` or
    ``limit.reached`` (texts suitable for the announcement)."""
    def fn(s: Session) -> tuple[Balance, str, str, int | None]:
        acc = accounts.get_account(s, ani)
        return (Balance(acc.number, acc.balance_fen, acc.reserved_fen), acc.status,
                acc.billing_mode, carrier.free_fen(s, acc, _now(now)))
    b, status, mode, free = _run(store, fn)
    if status != "active":
        raise MoneyError("account.locked", number=b.number)
    if free is not None and free < min_available_fen:
        if mode == "carrier":
            raise MoneyError("limit.reached", number=b.number, needed=min_available_fen,
                             available=free)
        raise MoneyError("funds.insufficient", needed=min_available_fen, available=free)
    return b


@dataclass(frozen=True)
class AccountSummary:
    """What the subscriber is told about their money (IVR key 2, the web's account page).

    Prepaid: the balance (``available_fen`` is what calls may use).  Carrier-billed: no
    balance — what was spent today and this month (charged on the phone bill) and what is
    left under each limit (None: no limit)."""
    number: str
    billing_mode: str  # prepaid | carrier
    balance_fen: int
    available_fen: int
    spent_today_fen: int
    spent_month_fen: int
    day_limit_fen: int | None
    month_limit_fen: int | None
    day_left_fen: int | None
    month_left_fen: int | None

    @property
    def carrier_billed(self) -> bool:
        return self.billing_mode == "carrier"


def account_summary(store: Store, number: str, now: datetime | None = None) -> AccountSummary:
    """The one answer to "what about my money?" for every face (IVR, web, CLI)."""
    def fn(s: Session) -> AccountSummary:
        acc = accounts.get_account(s, number)
        sp = carrier.spend(s, acc, _now(now))

        def left(limit: int | None, spent: int) -> int | None:
            return None if limit is None else max(0, limit - spent - sp.held_fen)
        return AccountSummary(acc.number, acc.billing_mode, acc.balance_fen,
                              acc.balance_fen - acc.reserved_fen, sp.day_fen, sp.month_fen,
                              acc.day_limit_fen, acc.month_limit_fen,
                              left(acc.day_limit_fen, sp.day_fen),
                              left(acc.month_limit_fen, sp.month_fen))
    return _run(store, fn)


def account_limits(store: Store, number: str, *, change: bool = False,
                   max_conferences: int | None = None,
                   spend_per_hour_fen: int | None = None) -> fraud.Limits:
    """``number``'s toll-fraud limits; with ``change``, set them first (None: default)."""
    def fn(s: Session) -> fraud.Limits:
        acc = accounts.get_account(s, number)
        if change:
            return fraud.set_limits(s, acc, max_conferences, spend_per_hour_fen)
        return fraud.limits_of(s, acc)
    return _run(store, fn)


def set_billing(store: Store, number: str, mode: str, day_limit_fen: int | None = None,
                month_limit_fen: int | None = None) -> AccountSummary:
    """Make ``number`` prepaid or carrier-billed (with optional spend limits, fen)."""
    _run(store, lambda s: carrier.set_billing(s, accounts.get_account(s, number), mode,
                                              day_limit_fen, month_limit_fen) and None)
    return account_summary(store, number)


def recharge_by_card(store: Store, number: str, serial: str, pin: str, *, source: str,
                     now: datetime | None = None) -> Balance:
    """Credit ``number`` (anybody's: a recharge cannot hurt its target) with the card
    ``serial`` + ``pin``; ``source`` says who is trying (see ``check_source``).

    The try is counted in the throttles (per source, per serial) and committed before the
    PIN is checked with no transaction open; an unknown serial costs the same argon2 work
    and gets the same answer (``card.wrong_pin``) as a wrong PIN."""
    check_source(source)
    at = _now(now)
    e164 = normalize(number)
    if not cards.valid_serial(serial):  # a typo: refused before any lookup (no oracle)
        raise MoneyError("card.malformed", serial=serial)
    ticket, card = _run(store, cards.begin_redeem, e164, serial, source, at)
    text = pin if isinstance(pin, str) else ""
    ok = secrets_.check_card_pin(card.pin_hash, serial, text) if card is not None else \
        secrets_.dummy_card_verify(serial, text)
    if not ok or card is None:  # the same answer, after the same work, for both
        if ticket.blocks_until is not None:  # the burst's last: say how long to wait
            raise accounts.throttle_refusal(throttle.Refused(ticket.blocks_until, ""),
                                            "card.account_locked", e164)
        raise MoneyError("card.wrong_pin")

    def finish(s: Session) -> Balance | MoneyError:
        got = cards.finish_redeem(s, e164, card, ticket, at)
        if isinstance(got, MoneyError):
            return got
        acc = accounts.get_account(s, e164)
        return Balance(acc.number, acc.balance_fen, acc.reserved_fen)
    return _run(store, finish)


def adjust(store: Store, number: str, amount_fen: int, reference: str, note: str,
           actor: str = "operator", kind: str = "adjustment",
           now: datetime | None = None) -> Balance:
    """Operator credit (+) or debit (-): kind ``adjustment`` or ``refund`` (credit only)."""
    if kind not in ("adjustment", "refund"):
        raise MoneyError("adjust.kind", kind=kind)
    ledger.check_amount(abs(amount_fen) if type(amount_fen) is int else amount_fen)
    if kind == "refund" and amount_fen < 0:
        raise MoneyError("amount.range", value=amount_fen, low=1, high=ledger.MAX_AMOUNT_FEN)
    if not reference or not note:
        raise MoneyError("adjust.note")
    validate.text("--reference", reference, 120 - len(kind) - 1, low=1)
    validate.text("--note", note, 500, low=1)
    validate.text("--actor", actor, 60, low=1)

    def fn(s: Session) -> Balance:
        acc = accounts.get_account(s, number)
        ledger.post(s, acc.id, kind, amount_fen, f"{kind}:{reference}", _now(now),
                    actor=actor, note=note)
        acc = accounts.get_account(s, number)
        return Balance(acc.number, acc.balance_fen, acc.reserved_fen)
    return _run(store, fn)


def statement(store: Store, number: str, start: datetime, end: datetime) -> Statement:
    start, end = utc(start), utc(end)

    def fn(s: Session) -> Statement:
        acc = accounts.get_account(s, number)
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.account_id == acc.id,
                                                   LedgerEntry.created_at >= start,
                                                   LedgerEntry.created_at < end)
                         .order_by(LedgerEntry.id)).all()
        before = s.scalar(select(LedgerEntry.balance_after_fen)
                          .where(LedgerEntry.account_id == acc.id,
                                 LedgerEntry.created_at < start)
                          .order_by(LedgerEntry.id.desc()).limit(1)) or 0
        legs = s.execute(select(Conference.reference, Leg.started_at, Leg.destination,
                                Leg.number_class, Leg.duration_s, Leg.amount_fen)
                         .join(Conference, Leg.conference_id == Conference.id)
                         .where(Conference.account_id == acc.id, Leg.started_at >= start,
                                Leg.started_at < end).order_by(Leg.started_at)).all()
        closing = rows[-1].balance_after_fen if rows else before
        return Statement(acc.number, start, end, before, closing,
                         tuple((r.created_at, r.kind, r.amount_fen, r.balance_after_fen,
                                r.reference, r.note) for r in rows),
                         tuple(tuple(leg) for leg in legs))  # type: ignore[misc]
    return _run(store, fn)


def generate_cards(store: Store, label: str, count: int, value_fen: int,
                   expires_at: datetime, now: datetime | None = None,
                   progress: Callable[[int], None] | None = None
                   ) -> tuple[int, list[tuple[str, str]]]:
    """(batch id, [(serial, PIN)]) — the only time the PINs exist in clear.  The PINs are
    hashed (argon2id, ~3 ms each) before the batch's short transaction opens."""
    at, expires = _now(now), utc(expires_at)
    cards.check_batch(label, count, value_fen, expires, at)
    prepared = cards.prepare_cards(count, progress=progress)
    while True:
        got = _run(store, cards.generate_batch, label, count, value_fen, expires, at,
                   prepared)
        if not isinstance(got, set):
            batch, printed = got
            return batch.id, printed
        keep = [p for p in prepared if p.serial not in got]  # a serial already existed
        prepared = keep + cards.prepare_cards(count - len(keep), frozenset(got))


def activate_batch(store: Store, batch_id: int) -> int:
    return _run(store, cards.activate_batch, batch_id)


def void_card(store: Store, serial: str) -> None:
    _run(store, cards.void_card, serial)


def void_batch(store: Store, batch_id: int) -> int:
    return _run(store, cards.void_batch, batch_id)


def quote(store: Store, payer: str, dialled: str, duration_s: int,
          at: datetime | None = None) -> Quote:
    def fn(s: Session) -> Quote:
        acc = accounts.get_account(s, payer)
        c = classify_dialled(s, dialled, acc.home_area)
        if c.cls == "blocked":
            raise MoneyError("number.blocked", number=c.number, reason=c.reason)
        plan = rates.plan_for_account(s, acc.plan_id, c.number, c.cls)
        charge = plan.charge(c.number, c.cls, _now(at), duration_s)
        max_s = plan.max_duration(c.number, c.cls, acc.balance_fen - acc.reserved_fen)
        return Quote(c.number, c.cls, c.area, duration_s, charge.billed_s, charge.amount_fen,
                     max_s)
    return _run(store, fn)


def import_rates(store: Store, plan: str, text: str, rounding: str = "up",
                 progress: Callable[[int], None] | None = None) -> int:
    return _run(store, rates.import_rates, plan, text, rounding, progress)


def export_rates(store: Store, plan: str) -> str:
    validate.text("PLAN", plan, 60, low=1)
    return _run(store, rates.export_rates, plan)


# -- credit control and CDRs: what the call control uses -------------------------------------

def authorize_leg(store: Store, payer: str, conference_ref: str, leg_ref: str, dialled: str,
                  now: datetime | None = None, quota_s: int = credit.DEFAULT_QUOTA_S,
                  warnings_s: tuple[int, ...] = credit.DEFAULT_WARNINGS_S) -> credit.Grant:
    return _run(store, credit.authorize_leg, payer, conference_ref, leg_ref, dialled,
                _now(now), quota_s, warnings_s)


def extend_leg(store: Store, leg_ref: str, quota_s: int = credit.DEFAULT_QUOTA_S,
               warnings_s: tuple[int, ...] = credit.DEFAULT_WARNINGS_S,
               now: datetime | None = None) -> credit.Grant:
    return _run(store, credit.extend_leg, leg_ref, quota_s, warnings_s, _now(now))


def release_leg(store: Store, leg_ref: str) -> None:
    _run(store, credit.release_leg, leg_ref)


def settle_leg(store: Store, payer: str, conference_ref: str, leg: cdr.LegRecord,
               now: datetime | None = None) -> cdr.LegBill:
    return _run(store, cdr.settle_leg, payer, conference_ref, leg, _now(now))


def close_conference(store: Store, payer: str, conference_ref: str, started_at: datetime,
                     ended_at: datetime) -> cdr.ConferenceBill:
    return _run(store, cdr.close_conference, payer, conference_ref, started_at, ended_at)


def rate_conference(store: Store, payer: str, conference_ref: str, started_at: datetime,
                    ended_at: datetime, legs: list[cdr.LegRecord],
                    now: datetime | None = None) -> cdr.ConferenceBill:
    return _run(store, cdr.rate_conference, payer, conference_ref, started_at, ended_at, legs,
                _now(now))
