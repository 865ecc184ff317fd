"""The booking service: every rule about booking, listing and cancelling, once.

Each function takes an open SQLAlchemy ``Session`` (one transaction: from Twisted
``DbRunner.call(book, request, now=…, limits=…)``, from the CLI ``store.run(...)``) and either
returns frozen views or raises ``BookingError(key, field, …)``; nothing is written when it
raises. The web site, the JSON API and the CLI parse, call these, and render.

- ``book`` validates the whole request (account, numbers as the keypad classifies them, start
  time, retry bounds, participants, credit for the expected length, channels at that time
  against the bookings already held) and stores the booking with its participants.
- ``classify_participants`` answers the booking form: class and price per minute per number,
  or the refusal.
- ``list_bookings`` / ``get_booking`` show a subscriber their own bookings (another account's id
  answers exactly like a missing one) with every dial attempt.
- ``cancel`` has one winner against the dialer: a booking not yet dialling is cancelled (its
  lease released); once dialling it is refused with ``booking.already_started``.

Concurrency: SQLite runs every transaction under ``BEGIN IMMEDIATE`` (serialised); on
PostgreSQL ``book`` takes a transaction-scoped advisory lock so two bookings cannot both take
the last channels or the last credit, and state changes are single conditional UPDATEs.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from confcall.ids import new_ref
from confcall.rating import MoneyError
from confcall.rating.accounts import get_account
from confcall.rating.carrier import free_fen
from confcall.rating.numbers import normalize
from confcall.rating.rates import plan_for_account
from confcall.store.engine import rowcount
from confcall.store.prepared import Prepared
from confcall.store.models import (
    Account,
    Booking,
    BookingAttempt,
    BookingHorizon,
    BookingParticipant,
    ReferenceGeneration,
    table_of,
)
from confcall.store.types import utc

from .capacity import check_capacity
from .errors import BookingError
from .numbers import Checked, accept, check_number, dial_string
from .reference import Generation, generation_for
from .states import (
    ACTIVE,
    AttemptResult,
    BookingKind,
    BookingState,
    predecessors,
)
from .views import AttemptView, BookingLimits, BookingRequest, BookingView, ParticipantQuote

__all__ = ["book", "cancel", "cancel_as_operator", "classify_participants", "get_any",
           "get_booking", "list_all", "list_bookings", "load_views"]

BOOKING_LOCK = 0x636F6E66  # "conf": PostgreSQL advisory lock serialising capacity checks
_B = table_of(Booking)
NOT_STARTED = (BookingState.BOOKED, BookingState.CLAIMED)
# -- the write path's statements, built once (no per-booking construction or cache keys) ----------
_A, _P = table_of(Account), table_of(BookingParticipant)
_G, _H = table_of(ReferenceGeneration), table_of(BookingHorizon)
_NOT_STARTED_SQL = text("bookings.state IN ('booked', 'claimed')")  # constants: no expanding IN
_ACTIVE_SQL = text("bookings.state IN (" + ", ".join(f"'{s.value}'" for s in ACTIVE) + ")")
assert {s.value for s in NOT_STARTED} == {"booked", "claimed"}
_PAYER = select(_A.c.id, _A.c.number, _A.c.home_area, _A.c.status, _A.c.plan_id,
                _A.c.billing_mode,
                select(_G.c.generation).where(_G.c.id == 1).scalar_subquery(),
                select(_H.c.longest_s).where(_H.c.id == 1).scalar_subquery()
                ).where(_A.c.number == bindparam("number"))
_PROMISED = select(func.coalesce(func.sum(_B.c.expected_fen), 0)).where(
    _B.c.account_id == bindparam("account_id"), _NOT_STARTED_SQL).scalar_subquery()
_MONEY = select(_A.c.balance_fen, _A.c.reserved_fen, _PROMISED).where(
    _A.c.id == bindparam("account_id"))
_ONLY_PROMISED = select(_PROMISED)
_BOOKING_KEYS = ("reference", "kind", "account_id", "initiator", "initiator_dial", "start_at",
                 "ends_at", "expected_s", "expected_fen", "retries", "retry_interval_s", "music",
                 "state", "takeovers", "outcome", "created_at")
_INSERT_BOOKING = Prepared(insert(_B), _BOOKING_KEYS)
_INSERT_PARTICIPANTS = Prepared(insert(_P), ("booking_id", "position", "number", "dial"))
# run on SQLite's cursor (``confcall.store.prepared``): the same statements, less machinery
_PAYER_Q, _MONEY_Q = Prepared(_PAYER), Prepared(_MONEY)
_LOCK = text("SELECT pg_advisory_xact_lock(:k)")
_HORIZON = select(_H.c.longest_s).where(_H.c.id == 1)


# -- booking ------------------------------------------------------------------------------------

def _account(session: Session, number: object, field: str = "account_number") -> Account:
    if not isinstance(number, str):
        raise BookingError("account.unknown", field, number=repr(number))
    try:
        account = get_account(session, number)
    except MoneyError as err:
        raise BookingError.from_money(err, field) from None
    if account.status != "active":
        raise BookingError("account.locked", field, number=account.number)
    return account


def _bounded(value: object, low: int, high: int, key: str, field: str) -> int:
    if type(value) is not int or not low <= value <= high:
        raise BookingError(key, field, value=value, low=low, high=high)
    return value


def _start(value: object, now: datetime, limits: BookingLimits) -> datetime:
    if not isinstance(value, datetime):
        raise BookingError("booking.start_naive", "start_at", value=repr(value))
    if value.tzinfo is None or value.utcoffset() is None:
        raise BookingError("booking.start_naive", "start_at", value=value.isoformat())
    start = utc(value).replace(microsecond=0)
    if start < now.replace(microsecond=0):
        raise BookingError("booking.start_past", "start_at", value=start.isoformat())
    if start > now + limits.max_ahead:
        raise BookingError("booking.start_too_far", "start_at", value=start.isoformat(),
                           days=limits.max_ahead.days)
    return start


@dataclass(frozen=True)
class _Payer:
    """The booking account's row as the write path needs it, and the reference generation
    read in the same statement."""
    id: int
    number: str
    home_area: str
    plan_id: int | None
    billing_mode: str
    generation: int | None
    horizon_s: int | None  # the longest booking stored (None: unknown, read everything)


# the payer's number as E.164, by number as given: ``normalize`` without a home area is a pure
# function of its text (phonenumbers' static metadata), and it was a sixth of the booking
# service's CPU for a number that is the same on every booking of a session
_E164: dict[str, str] = {}
_E164_MAX = 50_000


def _e164(number: str) -> str:
    e164 = _E164.get(number)
    if e164 is None:
        e164 = normalize(number)  # a refusal is not remembered
        if len(_E164) >= _E164_MAX:
            _E164.clear()
        _E164[number] = e164
    return e164


def _payer(session: Session, number: object) -> _Payer:
    """The account (refusals as ``_account``'s) and the reference generation: one statement."""
    if not isinstance(number, str):
        raise BookingError("account.unknown", "account_number", number=repr(number))
    try:
        e164 = _e164(number)
    except MoneyError as err:
        raise BookingError.from_money(err, "account_number") from None
    row = _PAYER_Q.first(session.connection(), {"number": e164})
    if row is None:
        raise BookingError.from_money(MoneyError("account.unknown", number=e164),
                                      "account_number")
    pid, stored, home_area, status, plan_id, billing_mode, generation, horizon_s = row
    if status != "active":
        raise BookingError("account.locked", "account_number", number=stored)
    return _Payer(pid, stored, home_area, plan_id, billing_mode, generation, horizon_s)


def _checked(ref: Generation, session: Session, entered: object, home_area: str, field: str,
             own: tuple[str, ...] = (), seen: set[str] | None = None) -> Checked:
    """``check_number`` with the classification from the reference cache."""
    if not isinstance(entered, str):
        raise BookingError("number.malformed", field, number=repr(entered), reason="not text")
    try:
        c = ref.classification(session, entered, home_area)
    except MoneyError as err:
        raise BookingError.from_money(err, field) from None
    return accept(entered, c, field, own=own, seen=seen)


def _participants(session: Session, ref: Generation, request: BookingRequest, home_area: str,
                  own: tuple[str, ...], limits: BookingLimits) -> list[Checked]:
    numbers = request.participants
    if isinstance(numbers, str) or not isinstance(numbers, Sequence):
        raise BookingError("booking.no_participants", "participants")
    if not numbers:
        raise BookingError("booking.no_participants", "participants")
    if len(numbers) > limits.max_participants:
        raise BookingError("booking.too_many_participants", "participants",
                           value=len(numbers), high=limits.max_participants)
    seen: set[str] = set()
    return [_checked(ref, session, n, home_area, f"participants[{i}]", own, seen)
            for i, n in enumerate(numbers)]


def _cost(session: Session, ref: Generation, payer: _Payer, legs: list[Checked],
          at: datetime, seconds: int) -> int:
    """What the legs cost for ``seconds`` from ``at`` in the payer's plan."""
    total = 0
    for c in legs:
        cls = c.classification
        try:
            total += ref.plan(session, payer.plan_id).charge(cls.number, cls.cls, at,
                                                             seconds).amount_fen
        except MoneyError as err:  # no rate for this destination: it cannot be called
            raise BookingError("number.blocked", "participants", str(err), number=cls.number,
                               reason="no tariff") from None
    return total


def _check_credit(session: Session, payer: _Payer, cost: int, minutes: int,
                  now: datetime) -> None:
    """Credit for the expected length beyond what the account's other not-yet-started
    bookings promise; one statement for a prepaid account."""
    if payer.billing_mode == "carrier":
        account = session.get(Account, payer.id)
        assert account is not None  # read in this transaction
        free_now = free_fen(session, account, now)
        if free_now is None:  # carrier-billed without limits: never refused for money
            return
        free = free_now - int(session.connection().scalar(_ONLY_PROMISED,
                                                          {"account_id": payer.id}) or 0)
    else:  # prepaid: free_fen's balance - reserved, with the promises, in one read
        row = _MONEY_Q.first(session.connection(), {"account_id": payer.id})
        assert row is not None  # the payer's row, read in this transaction
        free = int(row[0]) - int(row[1]) - int(row[2])
    if cost > free:
        raise BookingError("booking.no_credit", "participants", minutes=minutes, needed=cost,
                           available=max(free, 0))


def _lock(session: Session, payer: _Payer) -> _Payer:
    """PostgreSQL: serialise the checks of concurrent bookings, then read the booking horizon
    again (READ COMMITTED: a longer booking committed while this one waited for the lock must
    widen the capacity read).  SQLite's BEGIN IMMEDIATE already serialised everything."""
    if session.get_bind().dialect.name != "postgresql":
        return payer
    conn = session.connection()
    conn.execute(_LOCK, {"k": BOOKING_LOCK})
    return replace(payer, horizon_s=conn.scalar(_HORIZON))


def book(session: Session, request: BookingRequest, *, now: datetime,
         limits: BookingLimits) -> BookingView:
    """Validate ``request`` and store it as a booked conference; ``BookingError`` otherwise.

    The write path is lean on purpose (``docs/web.md``, ``bench/web.py``): Core statements
    only, numbers and plans from the reference cache, and five statements in all: the account
    with the reference generation, its credit, the channels at that time, the booking, its
    participants.  The answer is built from what was written, not read back."""
    now = utc(now)
    payer = _payer(session, request.account_number)
    ref = generation_for(session, payer.generation)
    initiator = _checked(ref, session, request.initiator, payer.home_area, "initiator")
    own = (initiator.number, payer.number)
    parts = _participants(session, ref, request, payer.home_area, own, limits)
    start = _start(request.start_at, now, limits)
    retries = _bounded(request.retry_count, 0, limits.retries_max, "booking.retry_count",
                       "retry_count")
    interval = _bounded(request.retry_interval_s, limits.retry_interval_min_s,
                        limits.retry_interval_max_s, "booking.retry_interval",
                        "retry_interval_s")
    if not isinstance(request.music, bool):
        raise BookingError("booking.music", "music", value=request.music)
    minutes = limits.expected_minutes if request.expected_minutes is None else \
        _bounded(request.expected_minutes, 1, limits.expected_minutes_max,
                 "booking.expected_length", "expected_minutes")
    seconds = minutes * 60
    end = start + timedelta(seconds=seconds)
    cost = _cost(session, ref, payer, [initiator, *parts], start, seconds)
    payer = _lock(session, payer)
    _check_credit(session, payer, cost, minutes, now)
    check_capacity(session, start, end, len(parts), limits, horizon_s=payer.horizon_s)
    reference = new_ref("booking")
    conn = session.connection()  # Core on the connection: no ORM execution layers
    booking_id = _INSERT_BOOKING.insert(conn, {
        "reference": reference, "kind": BookingKind.CONFERENCE.value, "account_id": payer.id,
        "initiator": initiator.number, "initiator_dial": dial_string(initiator.number),
        "start_at": start, "ends_at": end, "expected_s": seconds, "expected_fen": cost,
        "retries": retries, "retry_interval_s": interval, "music": request.music,
        "state": BookingState.BOOKED.value, "takeovers": 0, "outcome": "",
        "created_at": now})
    _INSERT_PARTICIPANTS.insert_many(conn, [
        {"booking_id": booking_id, "position": i, "number": c.number,
         "dial": dial_string(c.number)} for i, c in enumerate(parts, start=1)])
    return BookingView(booking_id, reference, BookingKind.CONFERENCE, payer.number,
                       initiator.number, tuple(c.number for c in parts), start, retries,
                       interval, request.music, seconds, cost, BookingState.BOOKED, "", now,
                       None, None, None, None, None, ())


def classify_participants(session: Session, account_number: str, numbers: Iterable[object],
                          *, initiator: str | None = None,
                          at: datetime | None = None) -> list[ParticipantQuote]:
    """Each number of the booking form as the keypad would take it: class, area and the price
    per minute (fen) at ``at`` (default: the dearest period), or the refusal."""
    account = _account(session, account_number)
    own: list[str] = [account.number]
    if initiator:
        try:
            own.append(check_number(session, initiator, account.home_area, "initiator").number)
        except BookingError:
            pass  # the form reports the initiator itself
    seen: set[str] = set()
    out = []
    for i, entered in enumerate(numbers):
        try:
            c = check_number(session, entered, account.home_area, f"participants[{i}]",
                             own=tuple(own), seen=seen)
        except BookingError as err:
            number = err.params.get("number")
            out.append(ParticipantQuote(str(entered), number if isinstance(number, str) and
                                        number.startswith("+") else None, None, None, None,
                                        err.key, err.detail))
            continue
        cls = c.classification
        try:
            plan = plan_for_account(session, account.plan_id, cls.number, cls.cls)
            key = plan.key_for(cls.number, cls.cls)
            if key is None:
                price = 0
            else:
                row = plan.row_at(key, plan.local(at)) if at is not None else None
                price = row.price_per_min_fen if row is not None else \
                    plan.worst_charge(cls.number, cls.cls, 60)
        except MoneyError as err:
            out.append(ParticipantQuote(str(entered), cls.number, None, cls.area, None,
                                        "number.blocked", str(err)))
            continue
        out.append(ParticipantQuote(str(entered), cls.number, cls.cls, cls.area, price))
    return out


# -- reading ------------------------------------------------------------------------------------

def load_views(session: Session, bookings: Sequence[Booking]) -> list[BookingView]:
    """Views of ``bookings`` with their participants and attempts (three queries in all)."""
    if not bookings:
        return []
    ids = [b.id for b in bookings]
    parts: dict[int, list[str]] = {i: [] for i in ids}
    for p in session.scalars(select(BookingParticipant)
                             .where(BookingParticipant.booking_id.in_(ids))
                             .order_by(BookingParticipant.booking_id,
                                       BookingParticipant.position)):
        parts[p.booking_id].append(p.number)
    tries: dict[int, list[AttemptView]] = {i: [] for i in ids}
    for a in session.scalars(select(BookingAttempt).where(BookingAttempt.booking_id.in_(ids))
                             .order_by(BookingAttempt.started_at, BookingAttempt.id)):
        tries[a.booking_id].append(AttemptView(
            a.position, a.number, a.attempt_no, a.started_at, a.answered_at, a.ended_at,
            AttemptResult(a.result) if a.result else None, a.cause, a.box))
    numbers: dict[int, str] = {
        i: n for i, n in session.execute(select(Account.id, Account.number).where(
            Account.id.in_({b.account_id for b in bookings})))}
    return [BookingView(b.id, b.reference, BookingKind(b.kind), numbers[b.account_id],
                        b.initiator, tuple(parts[b.id]), b.start_at, b.retries,
                        b.retry_interval_s, b.music, b.expected_s, b.expected_fen,
                        BookingState(b.state), b.outcome, b.created_at, b.started_at,
                        b.ended_at, b.lease_box, b.lease_until, b.conference_ref,
                        tuple(tries[b.id])) for b in bookings]


def list_bookings(session: Session, account_number: str, *, now: datetime,
                  limit: int = 200) -> list[BookingView]:
    """The account's booked conferences: upcoming and running first (soonest first), then
    past ones (latest first)."""
    now = utc(now)
    account = _account_or_none(session, account_number)
    if account is None:
        raise BookingError("account.unknown", "account_number", number=account_number)
    rows = session.scalars(select(Booking).where(
        Booking.account_id == account.id, Booking.kind == BookingKind.CONFERENCE.value)
        .order_by(Booking.start_at.desc(), Booking.id.desc()).limit(limit)).all()
    live = sorted((b for b in rows if BookingState(b.state) in ACTIVE),
                  key=lambda b: (b.start_at, b.id))
    past = [b for b in rows if BookingState(b.state) not in ACTIVE]
    return load_views(session, [*live, *past])


def _account_or_none(session: Session, number: object) -> Account | None:
    if not isinstance(number, str):
        return None
    try:
        return get_account(session, number)
    except MoneyError:
        return None


def _booking_id(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 12:
        return int(value)
    return None


def _find(session: Session, booking_id: object, account: Account | None,
          operator: bool) -> Booking:
    bid = _booking_id(booking_id)
    row = None if bid is None else session.get(Booking, bid, populate_existing=True)
    if row is None or not operator and (account is None or row.account_id != account.id):
        raise BookingError("booking.not_found", "booking", booking=booking_id)
    return row


def get_booking(session: Session, account_number: str, booking_id: object) -> BookingView:
    """One of the account's bookings; another account's id answers as a missing one does."""
    account = _account_or_none(session, account_number)
    return load_views(session, [_find(session, booking_id, account, operator=False)])[0]


def list_all(session: Session, *, states: Iterable[BookingState] | None = None,
             kinds: Iterable[BookingKind] | None = None, limit: int = 200) -> list[BookingView]:
    """The NOC's view: every booking, newest start first, optionally of some states/kinds."""
    q = select(Booking)
    if states is not None:
        q = q.where(Booking.state.in_([s.value for s in states]))
    if kinds is not None:
        q = q.where(Booking.kind.in_([k.value for k in kinds]))
    rows = session.scalars(q.order_by(Booking.start_at.desc(), Booking.id.desc())
                           .limit(limit)).all()
    return load_views(session, rows)


def get_any(session: Session, booking_id: object) -> BookingView:
    return load_views(session, [_find(session, booking_id, None, operator=True)])[0]


# -- cancelling ---------------------------------------------------------------------------------

def _cancel(session: Session, row: Booking, now: datetime, who: str) -> BookingView:
    won = rowcount(session, update(_B).where(
        _B.c.id == row.id,
        _B.c.state.in_([s.value for s in predecessors(BookingState.CANCELLED)]))
        .values(state=BookingState.CANCELLED.value, lease_box=None, lease_until=None,
                ended_at=now, outcome=f"cancelled by {who}"))
    session.refresh(row)
    state = BookingState(row.state)
    if won or state is BookingState.CANCELLED:
        return load_views(session, [row])[0]
    if state in (BookingState.DIALING, BookingState.IN_PROGRESS):
        raise BookingError("booking.already_started", "booking", booking=row.id)
    raise BookingError("booking.already_ended", "booking", booking=row.id, state=state.value)


def cancel(session: Session, account_number: str, booking_id: object, *,
           now: datetime) -> BookingView:
    """Cancel one of the account's bookings if no box has started dialling it."""
    account = _account_or_none(session, account_number)
    row = _find(session, booking_id, account, operator=False)
    return _cancel(session, row, utc(now), "subscriber")


def cancel_as_operator(session: Session, booking_id: object, *, now: datetime,
                       operator: str = "noc") -> BookingView:
    """The NOC's cancel: any account's booking (or callback), same rules."""
    row = _find(session, booking_id, None, operator=True)
    return _cancel(session, row, utc(now), operator)
