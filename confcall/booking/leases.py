"""The scheduler's database side: claim due bookings with a lease, write every dial attempt
before it is dialled, move the state, release the lease.

Why a lease: several boxes share one database; a booking must be dialled by exactly one of
them, and by another one if that box dies. A lease is the serving box's id plus an expiry
(``lease_box``, ``lease_until``) that the box renews while the call lives; once it has expired
any box takes the booking over.

Why the attempt row first: a box that dies mid-dial leaves no memory of what it rang. The
attempt row, keyed uniquely by (booking, position, attempt number), is committed before the
SETUP leaves; the box taking over starts at the next attempt number, and two boxes racing for
one attempt have exactly one winner (the unique key), so no phone rings twice for one attempt.

Every function takes an open SQLAlchemy ``Session`` (one transaction; run it through the DB
runner, never on the reactor thread). Claims use ``confcall.store.claim.claim``: on SQLite
inside ``BEGIN IMMEDIATE`` (serialised), on PostgreSQL ``FOR UPDATE SKIP LOCKED``.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.orm import Session

from confcall.ids import new_ref
from confcall.store.claim import claim
from confcall.store.engine import rowcount
from confcall.store.models import Account, Booking, BookingAttempt, BookingParticipant, table_of
from confcall.store.types import utc

from .states import HELD, AttemptResult, BookingKind, BookingState, predecessors

__all__ = ["DueBooking", "DueParticipant", "StormLimit", "add_callback", "answered",
           "callbacks_recent", "claim_due", "close_attempt", "finish", "open_attempt",
           "reclaim", "release", "renew", "start_dialing"]

_B = table_of(Booking)
_A = table_of(BookingAttempt)
S = BookingState


@dataclass(frozen=True)
class DueParticipant:
    position: int  # 1..n (the initiator is 0)
    number: str  # E.164
    dial: str  # as dialled on the trunk
    attempts_made: int  # attempt rows already written (by any box)


@dataclass(frozen=True)
class DueBooking:
    """A booking this box holds the lease of, with what was already done for it."""

    id: int
    reference: str
    kind: BookingKind
    payer: str  # the account (E.164)
    initiator: str  # E.164
    initiator_dial: str
    participants: tuple[DueParticipant, ...]
    start_at: datetime
    retries: int
    retry_interval_s: float
    music: bool
    state: BookingState  # claimed (not yet dialled) or dialing (taken over mid-dial)
    initiator_attempts: int  # initiator attempt rows already written
    takeover: bool
    initiator_last_at: datetime | None = None  # when the last of them started


def _held_by(box: str):  # type: ignore[no-untyped-def]
    return and_(_B.c.lease_box == box, _B.c.state.in_([s.value for s in HELD]))


def claim_due(session: Session, *, box: str, now: datetime, ahead_s: float, lease_s: float,
              grace_s: float, limit: int = 100, restarted: bool = False) -> list[DueBooking]:
    """Mark missed what is past its grace, then claim up to ``limit`` bookings due within
    ``ahead_s`` and take over bookings whose lease expired (``restarted``: also this box's own
    leases, which no process serves any more). A booking that was in progress on a lost box
    is redialled as the initiator's next attempt if it has redials left, else closed as
    failed; open attempts of a taken-over booking are closed as lost."""
    now = utc(now)
    until = now + timedelta(seconds=lease_s)
    expired = or_(_B.c.lease_until.is_(None), _B.c.lease_until < now)
    if restarted:
        expired = or_(expired, _B.c.lease_box == box)
    else:
        # a lease of this very process that lapsed (its renewals could not reach the database
        # during an outage) is still being served here: never take it over from ourselves
        expired = and_(expired, or_(_B.c.lease_box.is_(None), _B.c.lease_box != box))
    rowcount(session, update(_B).where(
        _B.c.state.in_([s.value for s in predecessors(S.MISSED)]),
        _B.c.start_at < now - timedelta(seconds=grace_s),
        or_(_B.c.state == S.BOOKED.value, expired))
        .values(state=S.MISSED.value, lease_box=None, lease_until=None, ended_at=now,
                outcome=f"missed: no box dialled it within {grace_s:g} s of its start"))
    # lost work first (and before the fresh claims, which ``expired`` would match on restart)
    taken = claim(session, _B, and_(_B.c.state.in_([s.value for s in HELD]), expired),
                  {"lease_box": box, "lease_until": until, "takeovers": _B.c.takeovers + 1},
                  limit, order_by=(_B.c.state, _B.c.lease_until))
    fresh = claim(session, _B, and_(_B.c.state == S.BOOKED.value,
                                    _B.c.start_at <= now + timedelta(seconds=ahead_s)),
                  {"state": S.CLAIMED.value, "lease_box": box, "lease_until": until},
                  limit - len(taken), order_by=(_B.c.state, _B.c.start_at)
                  ) if len(taken) < limit else []  # ix_bookings_state_start
    if taken:
        _close_lost(session, taken, box, now)
    ids = taken + fresh
    if not ids:
        return []
    return _load(session, ids, set(taken))


def _close_lost(session: Session, ids: list[int], box: str, now: datetime) -> None:
    """What the lost box left open. Its attempts still open (ringing, or answered and talking)
    are closed as ``lost``: the box serving them died, so the outcome on the wire is unknown.
    A conference that was in progress there went down with the box: it is dialled again as the
    initiator's *next* attempt when the booking has redials left (``dialing``: the scheduler
    takes it from there), else it is closed as failed; the outcome names the lost box."""
    lost_boxes = {i: b for i, b in session.execute(
        select(_A.c.booking_id, func.max(_A.c.box)).where(
            _A.c.booking_id.in_(ids), or_(_A.c.result.is_(None), and_(
                _A.c.result == AttemptResult.ANSWERED.value, _A.c.ended_at.is_(None))))
        .group_by(_A.c.booking_id))}
    rowcount(session, update(_A).where(_A.c.booking_id.in_(ids), or_(
        _A.c.result.is_(None), and_(_A.c.result == AttemptResult.ANSWERED.value,
                                    _A.c.ended_at.is_(None))))
             .values(result=AttemptResult.LOST.value, ended_at=now))
    mid_call = session.execute(
        select(_B.c.id, _B.c.retries, func.max(_A.c.attempt_no))
        .join(_A, and_(_A.c.booking_id == _B.c.id, _A.c.position == 0), isouter=True)
        .where(_B.c.id.in_(ids), _B.c.state == S.IN_PROGRESS.value)
        .group_by(_B.c.id, _B.c.retries)).all()
    for bid, retries, made in mid_call:
        made = int(made or 0)
        who = lost_boxes.get(bid) or "its box"
        if made < retries + 1:
            rowcount(session, update(_B).where(_B.c.id == bid,
                                               _B.c.state == S.IN_PROGRESS.value)
                     .values(state=S.DIALING.value, conference_ref=None,
                             outcome=f"{who} was lost mid-call; {box} redials the initiator "
                                     f"(attempt {made + 1} of {retries + 1})"[:200]))
        else:
            rowcount(session, update(_B).where(_B.c.id == bid,
                                               _B.c.state == S.IN_PROGRESS.value)
                     .values(state=S.FAILED.value, lease_box=None, lease_until=None,
                             ended_at=now,
                             outcome=f"{who} was lost mid-call with no redial left "
                                     f"({made} of {retries + 1} attempts made); taken over "
                                     f"by {box}"[:200]))


def _load(session: Session, ids: list[int], taken: set[int]) -> list[DueBooking]:
    """The claimed bookings as plain values (core selects: no ORM objects, three queries)."""
    _P = table_of(BookingParticipant)
    _C = table_of(Account)
    rows = session.execute(
        select(_B.c.id, _B.c.reference, _B.c.kind, _C.c.number, _B.c.initiator,
               _B.c.initiator_dial, _B.c.start_at, _B.c.retries, _B.c.retry_interval_s,
               _B.c.music, _B.c.state)
        .join(_C, _C.c.id == _B.c.account_id)
        .where(_B.c.id.in_(ids), _B.c.state.in_([S.CLAIMED.value, S.DIALING.value]))
        .order_by(_B.c.start_at, _B.c.id)).all()
    made: dict[tuple[int, int], int] = {}
    last: dict[int, datetime] = {}
    for b, p, n, t in session.execute(
            select(_A.c.booking_id, _A.c.position, func.max(_A.c.attempt_no),
                   func.max(_A.c.started_at))
            .where(_A.c.booking_id.in_(ids))
            .group_by(_A.c.booking_id, _A.c.position)):
        made[(b, p)] = int(n)
        if p == 0 and t is not None:
            last[b] = utc(t)
    parts: dict[int, list[DueParticipant]] = {i: [] for i in ids}
    for bid, position, number, dial in session.execute(
            select(_P.c.booking_id, _P.c.position, _P.c.number, _P.c.dial)
            .where(_P.c.booking_id.in_(ids)).order_by(_P.c.booking_id, _P.c.position)):
        parts[bid].append(DueParticipant(position, number, dial, made.get((bid, position), 0)))
    return [DueBooking(bid, ref, BookingKind(kind), payer, initiator, dial,
                       tuple(parts[bid]), utc(start), retries, interval, music,
                       BookingState(state), made.get((bid, 0), 0), bid in taken,
                       last.get(bid))
            for bid, ref, kind, payer, initiator, dial, start, retries, interval, music, state
            in rows]


def renew(session: Session, *, box: str, ids: list[int],
          now: datetime | Callable[[], datetime], lease_s: float) -> list[int]:
    """Extend this box's leases on ``ids``; returns the ids it still holds (a booking cancelled
    before dialling, or taken over after this box stalled, is no longer held). ``now`` may be
    the box's clock itself: a renewal retried after a DB outage extends from when it runs."""
    if not ids:
        return []
    until = utc(now() if callable(now) else now) + timedelta(seconds=lease_s)
    result = session.execute(update(_B).where(_B.c.id.in_(ids), _held_by(box))
                             .values(lease_until=until).returning(_B.c.id))
    return sorted(int(r[0]) for r in result)


def start_dialing(session: Session, booking_id: int, *, box: str, now: datetime) -> bool:
    """claimed → dialing, only if this box still holds it (a cancel may have won)."""
    return rowcount(session, update(_B).where(
        _B.c.id == booking_id, _B.c.lease_box == box, _B.c.state == S.CLAIMED.value)
        .values(state=S.DIALING.value, started_at=utc(now))) == 1


def open_attempt(session: Session, booking_id: int, position: int, attempt_no: int,
                 number: str, *, box: str, now: datetime) -> str | None:
    """Write the attempt row before dialling; returns its reference, or None when this box no
    longer holds the booking or the attempt exists already (another box made it): then the
    phone must not be rung."""
    held = session.scalar(select(func.count()).select_from(_B).where(
        _B.c.id == booking_id, _held_by(box)))
    if not held:
        return None
    exists = session.scalar(select(func.count()).select_from(_A).where(
        _A.c.booking_id == booking_id, _A.c.position == position,
        _A.c.attempt_no == attempt_no))
    if exists:
        return None
    ref = new_ref("att")
    session.add(BookingAttempt(reference=ref, booking_id=booking_id, position=position,
                               attempt_no=attempt_no, number=number, box=box,
                               started_at=utc(now)))
    session.flush()  # a concurrent insert of the same key fails here; the re-run sees it
    return ref


def close_attempt(session: Session, reference: str, *, result: AttemptResult,
                  cause: int | None, now: datetime, answered_at: datetime | None = None
                  ) -> None:
    """An attempt's outcome: answered (``answered_at``; ended at the conference's end), or
    failed with its Q.850 cause."""
    values: dict[str, object] = {"result": result.value, "cause": cause}
    if answered_at is not None:
        values["answered_at"] = utc(answered_at)
    else:
        values["ended_at"] = utc(now)
    rowcount(session, update(_A).where(_A.c.reference == reference).values(**values))


def answered(session: Session, booking_id: int, *, box: str, now: datetime,
             conference_ref: str) -> bool:
    """dialing → in_progress: the initiator answered and the conference runs."""
    return rowcount(session, update(_B).where(
        _B.c.id == booking_id, _B.c.lease_box == box, _B.c.state == S.DIALING.value)
        .values(state=S.IN_PROGRESS.value, conference_ref=conference_ref)) == 1


def finish(session: Session, booking_id: int, *, box: str, now: datetime,
           state: BookingState, outcome: str) -> bool:
    """→ done or failed, the lease released; answered attempts still open end now."""
    now = utc(now)
    won = rowcount(session, update(_B).where(
        _B.c.id == booking_id, _B.c.lease_box == box,
        _B.c.state.in_([s.value for s in predecessors(state)]))
        .values(state=state.value, lease_box=None, lease_until=None, ended_at=now,
                outcome=outcome[:200])) == 1
    if won:
        rowcount(session, update(_A).where(_A.c.booking_id == booking_id,
                                           _A.c.ended_at.is_(None))
                 .values(ended_at=now))
        rowcount(session, update(_A).where(_A.c.booking_id == booking_id,
                                           _A.c.result.is_(None))
                 .values(result=AttemptResult.FAILED.value))
    return won


def reclaim(session: Session, booking_id: int, *, box: str, now: datetime, lease_s: float,
            conference_ref: str) -> str | None:
    """Take back a booking whose conference still runs on this box, after its lease lapsed
    while the box could not reach the database and another box took it over. That box is
    redialling the initiator, who is in this very conference (busy): so while it has not
    reached them (the booking is ``dialing``) the booking comes back here, ``in_progress``
    with this conference, and this box's attempts it closed as ``lost`` are open again (they
    are up). The other box's dial, if one is ringing, ends on its own; its next attempt is
    not made (it no longer holds the booking). Returns the box it was taken back from, or
    None: the other box already reached the initiator, or the booking is over (then it stays
    the other box's; the conference here goes on and is billed here)."""
    now = utc(now)
    row = session.execute(select(_B.c.lease_box, _B.c.state).where(_B.c.id == booking_id)
                          .with_for_update()).first()
    if row is None or row[1] != S.DIALING.value or row[0] in (None, box):
        return None
    other = str(row[0])
    won = rowcount(session, update(_B).where(
        _B.c.id == booking_id, _B.c.state == S.DIALING.value, _B.c.lease_box == other)
        .values(state=S.IN_PROGRESS.value, lease_box=box,
                lease_until=now + timedelta(seconds=lease_s), conference_ref=conference_ref,
                outcome=f"{box} kept its conference up through a database outage; taken back "
                        f"from {other}"[:200])) == 1
    if not won:
        return None
    rowcount(session, update(_A).where(
        _A.c.booking_id == booking_id, _A.c.box == box,
        _A.c.result == AttemptResult.LOST.value, _A.c.answered_at.is_not(None))
        .values(result=AttemptResult.ANSWERED.value, ended_at=None))
    return other


def release(session: Session, booking_id: int, *, box: str) -> bool:
    """Give a claimed, not yet dialled booking back (the box is shutting down)."""
    return rowcount(session, update(_B).where(
        _B.c.id == booking_id, _B.c.lease_box == box, _B.c.state == S.CLAIMED.value)
        .values(state=S.BOOKED.value, lease_box=None, lease_until=None)) == 1


# -- phone-mode callbacks ------------------------------------------------------------------------

@dataclass(frozen=True)
class StormLimit:
    """At most ``limit`` callbacks per number per ``window_s``, across every box."""

    limit: int
    window_s: float


def _storm_lock(session: Session, number: str) -> None:
    """PostgreSQL: serialise the count-then-insert per number across boxes (SQLite's
    ``BEGIN IMMEDIATE`` already serialises every writer)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"),
                        {"a": 0x63616C6C, "b": zlib.crc32(number.encode()) - 2**31})


def callbacks_recent(session: Session, payer: str, *, now: datetime, window_s: float) -> int:
    """Callback requests of ``payer`` within the window, made on any box."""
    return int(session.scalar(select(func.count()).select_from(_B).where(
        _B.c.kind == BookingKind.CALLBACK.value, _B.c.initiator == payer,
        _B.c.created_at > utc(now) - timedelta(seconds=window_s))) or 0)


def add_callback(session: Session, *, payer: str, dial: str, box: str, now: datetime,
                 delay_s: float, redials: int, retry_interval_s: float, lease_s: float,
                 storm: StormLimit | None = None) -> DueBooking | None:
    """The access call's callback as a booking row, claimed by this box at once (it dials it
    after ``delay_s``; if the box dies first, another box takes it over when the lease ends).
    None when ``storm`` says this number asked too often (on any box). (``redials``, not
    ``retries``: ``Store.run`` takes that keyword for itself.)"""
    now = utc(now)
    if storm is not None:
        _storm_lock(session, payer)
        if callbacks_recent(session, payer, now=now, window_s=storm.window_s) >= storm.limit:
            return None
    account_id = session.scalar(select(Account.id).where(Account.number == payer))
    if account_id is None:
        return None
    start = now + timedelta(seconds=delay_s)
    row = Booking(reference=new_ref("callback"), kind=BookingKind.CALLBACK.value,
                  account_id=account_id, initiator=payer, initiator_dial=dial,
                  start_at=start, ends_at=start, expected_s=0, expected_fen=0,
                  retries=redials, retry_interval_s=max(1, round(retry_interval_s)),
                  music=False, state=S.CLAIMED.value, lease_box=box,
                  lease_until=now + timedelta(seconds=lease_s), takeovers=0, outcome="",
                  created_at=now)
    session.add(row)
    session.flush()
    return DueBooking(row.id, row.reference, BookingKind.CALLBACK, payer, payer, dial, (),
                      start, redials, retry_interval_s, False, S.CLAIMED, 0, False)
