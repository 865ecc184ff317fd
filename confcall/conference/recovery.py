"""At start-up, settle what this box's previous life left open: its unfinished legs, their
credit holds, their conference records.

Why: a box that dies (kill -9, power, a kernel panic) leaves the legs it was carrying open in
the call log, their credit held and their conferences unrated. Nobody else will close them:
the legs were this box's (``[box] id``, ``confcall.ids``). So before it takes calls, the box
closes them itself, the way carriers close a session whose RADIUS Stop never came: at its last
interim record.

When: before the box takes its first call (the daemon refuses incoming calls with cause 41
and starts the booking scheduler only once this is done), so that every open row of this box
in the database is its previous life's. Nothing is decided by comparing times: a box whose
clock comes back earlier than it was when it died (a power cut, an RTC without NTP yet, a
clock stepped back; or a simulated box restarted at the same epoch) would otherwise see its
dead life's legs as "started after this run did" and leave them open for ever.

What it does, each leg in its own transaction (one bad row does not stop the rest):

- a leg of this box never ended is ended at its last "alive at"
  time (the interim record, ``records.py``; for a leg never answered, its seizure), with cause
  41 (temporary failure) and the reason ``"box restart"``; an answered charged leg is rated and
  debited for the time up to there (``cdr.settle_leg``: idempotent by the leg's reference, so
  a leg whose rating had committed is not rated twice) and its carrier record completed; a leg
  never answered gives its hold back;
- every hold of this box still held after that is settled: its leg ended and answered in the
  call log but the rating never committed (the box died with the write queued) — rated as
  logged; a leg never answered, or whose call-log row never made it — the hold is given back;
- every conference of this box still open is closed with the total of its rated legs.

The bill of a leg lost this way is short by at most the interim period (``[accounting]
interim_s``): the leg was alive at its last interim record, and gone before the next.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from confcall.billing import handoff
from confcall.dahdi.legs import Cause
from confcall.rating import cdr, credit
from confcall.store.models import Account, CallLog, Conference, Reservation

__all__ = ["BOX_RESTART", "Recovered", "recover_box", "restart"]

log = logging.getLogger("confcall.recovery")

BOX_RESTART = "box restart"
RESTART_CAUSE = int(Cause.TEMPORARY_FAILURE)
_RELEASED = -1  # _close_leg: the leg was never answered, its hold was given back


@dataclass(frozen=True)
class Recovered:
    legs_closed: int = 0
    legs_rated: int = 0
    fen: int = 0  # what the rated legs cost
    holds_released: int = 0  # of legs never answered, or never recorded
    conferences_closed: int = 0
    failed: int = 0  # rows that could not be settled (logged; an operator's job)

    def __str__(self) -> str:
        return (f"{self.legs_closed} unfinished leg(s) closed at their last interim record "
                f"({self.legs_rated} rated, {self.fen} fen), {self.holds_released} credit "
                f"hold(s) released, {self.conferences_closed} conference(s) closed"
                + (f", {self.failed} FAILED (see the log)" if self.failed else ""))


def recover_box(store: object, box: str, now: datetime, reason: str = BOX_RESTART) -> Recovered:
    """Close ``box``'s legs, holds and conferences left open by a previous run: every one
    still open (run it before this run seizes anything). ``now``: when the settling is
    recorded (ledger rows). Idempotent. ``reason``: the legs' ``end_reason`` (another box
    closing a dead box's rows, ``confcall.fleet``, says "box lost"); every row is re-read
    under a row lock, so two recoveries of one box at once settle each row once."""
    from confcall.store.engine import Store
    assert isinstance(store, Store)
    closed = rated = fen = released = confs = failed = 0
    with store.transaction() as s:
        open_legs = s.scalars(select(CallLog.reference).where(
            CallLog.box == box, CallLog.ended_at.is_(None)).order_by(CallLog.id)).all()
    for ref in open_legs:
        try:
            amount = store.run(_close_leg, ref, now, reason)
        except Exception:  # noqa: BLE001 - one bad leg must not keep the others open
            log.exception("closing leg %s after the restart failed", ref)
            failed += 1
            continue
        closed += 1
        if amount == _RELEASED:
            released += 1
        elif amount is not None:
            rated, fen = rated + 1, fen + amount
    with store.transaction() as s:
        holds = s.scalars(select(Reservation.reference).where(
            Reservation.box == box, Reservation.state == "held")).all()
    for ref in holds:
        try:
            amount = store.run(_settle_hold, ref, now)
        except Exception:  # noqa: BLE001
            log.exception("settling the hold of leg %s after the restart failed", ref)
            failed += 1
            continue
        if amount is None:  # settled meanwhile (a concurrent recovery of the same box)
            continue
        if amount == _RELEASED:
            released += 1
        else:
            rated, fen = rated + 1, fen + amount
    with store.transaction() as s:
        mine = exists().where(CallLog.conference_ref == Conference.reference,
                              CallLog.box == box)
        conferences = s.scalars(select(Conference.reference).where(
            Conference.ended_at.is_(None), mine)).all()
    for ref in conferences:
        try:
            store.run(_close_conference, ref)
            confs += 1
        except Exception:  # noqa: BLE001
            log.exception("closing conference %s after the restart failed", ref)
            failed += 1
    return Recovered(closed, rated, fen, released, confs, failed)


def restart(store: object, journal: object, box: str, now: datetime) -> tuple[object, Recovered]:
    """What a box does first at start-up: replay the writes its previous run journalled
    while the database was away (``confcall.store.journal``; ``journal`` None: none kept),
    then close what is still open (``recover_box``). Returns (``Replayed``, ``Recovered``).
    A transient failure (the database away) raises: the whole is run again (idempotent)."""
    from confcall.store.journal import Replayed, WriteJournal, replay
    replayed = replay(store, journal) if isinstance(journal, WriteJournal) else Replayed()
    return replayed, recover_box(store, box, now)


def _close_leg(session: Session, reference: str, now: datetime,
               reason: str = BOX_RESTART) -> int | None:
    """End one open leg at its last sign of life; rate it if it was answered and charged.
    Returns the fen it cost; ``_RELEASED`` (its hold given back) or None (nothing held)."""
    row = session.scalar(select(CallLog).where(CallLog.reference == reference)
                         .with_for_update().execution_options(populate_existing=True))
    if row is None or row.ended_at is not None:
        return None  # closed meanwhile (a retried recovery)
    end = row.alive_at or row.answered_at or row.seized_at
    row.ended_at, row.cause, row.end_reason = end, RESTART_CAUSE, reason
    session.flush()
    res = _locked_hold(session, reference)  # locks in one order: the leg, then its hold
    if row.answered_at is not None:
        handoff.leg_logged(session, reference, end, RESTART_CAUSE)
    if res is None:
        return None  # an uncharged leg (access, service): nothing held, nothing to rate
    if row.answered_at is None:
        credit.release_leg(session, reference)
        return _RELEASED
    payer = session.get(Account, res.account_id)
    assert payer is not None
    bill = cdr.settle_leg(session, payer.number, row.conference_ref, cdr.LegRecord(
        reference, row.number, row.seized_at, end, row.answered_at), now)
    log.warning("leg %s (%s) lost with the box: closed at its last interim record %s, "
                "rated %d s, %d fen", reference, row.number, end.isoformat(), bill.duration_s,
                bill.amount_fen)
    return bill.amount_fen


def _settle_hold(session: Session, reference: str, now: datetime) -> int | None:
    """A hold still held once every leg is closed: its leg ended (the call log says so) but
    the rating never committed — rate it as logged — or the leg never reached the call log
    or was never answered: give the hold back. Returns the fen, ``_RELEASED``, or None
    (no longer held: a concurrent recovery settled it)."""
    row = session.scalar(select(CallLog).where(CallLog.reference == reference)
                         .with_for_update().execution_options(populate_existing=True))
    res = _locked_hold(session, reference)
    if res is None or res.state != "held":
        return None
    if row is not None and row.ended_at is None and row.box is not None:
        return None  # its leg is still open: whoever closes the leg settles its hold
    if row is None or row.answered_at is None or row.ended_at is None:
        credit.release_leg(session, reference)
        return _RELEASED
    payer = session.get(Account, res.account_id)
    assert payer is not None
    bill = cdr.settle_leg(session, payer.number, row.conference_ref, cdr.LegRecord(
        reference, row.number, row.seized_at, row.ended_at, row.answered_at), now)
    log.warning("leg %s (%s) ended before the box died but was never rated: rated %d s, "
                "%d fen", reference, row.number, bill.duration_s, bill.amount_fen)
    return bill.amount_fen


def _locked_hold(session: Session, reference: str) -> Reservation | None:
    """The leg's hold, re-read under a row lock (a concurrent recovery of the same box, e.g.
    another box reaping it while it restarts, may have settled it)."""
    return session.scalar(select(Reservation).where(Reservation.reference == reference)
                          .with_for_update().execution_options(populate_existing=True))


def _close_conference(session: Session, reference: str) -> None:
    conf = session.scalar(select(Conference).where(Conference.reference == reference)
                          .with_for_update().execution_options(populate_existing=True))
    if conf is None or conf.ended_at is not None:
        return
    payer = session.get(Account, conf.account_id)
    assert payer is not None
    ended = session.scalar(select(func.max(CallLog.ended_at))
                           .where(CallLog.conference_ref == reference)) or conf.started_at
    cdr.close_conference(session, payer.number, reference, conf.started_at, ended)

