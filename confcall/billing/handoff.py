"""What the carrier's billing gets of each answered leg, written in the transactions of the leg.

Why here and so: a record handed off later from memory is a record lost when the box dies.
Each function below runs *inside* the transaction that writes the event it describes (the call
log's answer and end, an interim "alive at", the rating), and writes there:

- the leg's ``billed_legs`` row — opened at answer (its Acct-Session-Id, a
  ``confcall.ids.new_ref``), completed by two halves that may commit in either order: the
  call log's end (time, Q.850 cause) and the rating (class, durations, charge);
- the RADIUS outbox rows (``acct_outbox``): Start at answer, Interim-Update at each interim,
  and Stop from whichever half completes the pair — exactly once, because both halves lock
  the leg's row before looking at the other half.

Only charged legs are handed off: those with a credit hold (the callback to the initiator and
each participant); access calls are never answered and service calls are free. The CDR files
(``cdrfiles.py``) read the completed rows.

The outbox is written only while RADIUS accounting is configured (``configure``, at daemon
start); ``billed_legs`` always (it is also what carrier-billed spend limits count).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from confcall.ids import box_id, new_ref
from confcall.store.models import Account, AcctRecord, BilledLeg, CallLog, Leg, Reservation

from . import attributes

__all__ = ["HandoffPolicy", "configure", "leg_answered", "leg_interim", "leg_logged",
           "leg_rated", "policy"]


@dataclass(frozen=True)
class HandoffPolicy:
    radius: bool = False  # queue Accounting-Requests in the outbox


_policy = HandoffPolicy()


def configure(value: HandoffPolicy) -> None:
    """Set at daemon start from the config (a process-wide setting, like the box id)."""
    global _policy
    _policy = value


def policy() -> HandoffPolicy:
    return _policy


def _locked(session: Session, leg_ref: str) -> BilledLeg | None:
    stmt = select(BilledLeg).where(BilledLeg.leg_ref == leg_ref)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.scalar(stmt.execution_options(populate_existing=True))


def _queue(session: Session, leg: BilledLeg, status: str, at: datetime, seq: int = 0) -> None:
    if not _policy.radius:
        return
    rid = attributes.record_id(leg.session_id, status, seq)
    if session.scalar(select(AcctRecord.id).where(AcctRecord.record_id == rid)) is not None:
        return  # a retried transaction: already queued
    session.add(AcctRecord(record_id=rid, box=leg.box, session_id=leg.session_id,
                           status=status, event_at=at,
                           attributes=json.dumps(attributes.build(leg, status, at, seq),
                                                 ensure_ascii=False, sort_keys=True),
                           created_at=datetime.now(UTC), server=""))


def _payer(session: Session, leg_ref: str) -> Account | None:
    account_id = session.scalar(select(Reservation.account_id)
                                .where(Reservation.reference == leg_ref))
    return None if account_id is None else session.get(Account, account_id)


def leg_answered(session: Session, leg_ref: str, *, conference_ref: str, role: str,
                 calling: str, called: str, trunk: str, channo: int | None,
                 seized_at: datetime, answered_at: datetime) -> BilledLeg | None:
    """Open the leg's billing record and queue its Start; None for an uncharged leg."""
    row = _locked(session, leg_ref)
    if row is not None:
        return row
    payer = _payer(session, leg_ref)
    if payer is None:
        return None
    row = BilledLeg(leg_ref=leg_ref, session_id=new_ref("acct"), box=box_id(),
                    conference_ref=conference_ref, account=payer.number,
                    billing_mode=payer.billing_mode, role=role, calling=calling[:32],
                    called=called[:32], trunk=trunk[:32], channo=channo, seized_at=seized_at,
                    answered_at=answered_at, interims=0, logged=False, rated=False,
                    destination="", number_class="", duration_s=0, billed_s=0, charge_fen=0)
    session.add(row)
    session.flush()
    _queue(session, row, "start", answered_at)
    return row


def leg_interim(session: Session, leg_ref: str, at: datetime) -> None:
    """The leg is still up at ``at``: queue the next Interim-Update (none once it ended)."""
    row = _locked(session, leg_ref)
    if row is None or row.logged or row.stopped_at is not None or at <= row.answered_at:
        return
    row.interims += 1
    _queue(session, row, "interim", at, row.interims)


def leg_logged(session: Session, leg_ref: str, ended_at: datetime | None,
               cause: int | None) -> None:
    """The call log's half: the leg ended at ``ended_at`` with ``cause``."""
    row = _locked(session, leg_ref)
    if row is None or row.logged:
        return
    row.ended_at, row.cause, row.logged = ended_at, cause, True
    _maybe_stop(session, row)


def leg_rated(session: Session, leg: Leg, conference_ref: str, payer: Account) -> None:
    """The rating's half: ``leg`` (a rated CDR of ``payer``) with its class and charge.  Opens
    the billing record first if its answer was never recorded (nothing is lost that way)."""
    if leg.answered_at is None:
        return
    row = _locked(session, leg.reference)
    if row is None:
        row = _open_late(session, leg, conference_ref, payer)
    if row.rated:
        return
    row.destination, row.number_class, row.area = leg.destination, leg.number_class, leg.area
    row.duration_s, row.billed_s, row.charge_fen = leg.duration_s, leg.billed_s, leg.amount_fen
    row.rated = True
    _maybe_stop(session, row)


def _open_late(session: Session, leg: Leg, conference_ref: str, payer: Account) -> BilledLeg:
    assert leg.answered_at is not None
    log = session.scalar(select(CallLog).where(CallLog.reference == leg.reference))
    row = leg_answered(
        session, leg.reference, conference_ref=conference_ref,
        role=log.role if log is not None else "participant",
        calling=log.caller_id if log is not None else "",
        called=log.number if log is not None else leg.destination,
        trunk=log.trunk if log is not None else "", channo=log.channo if log else None,
        seized_at=leg.started_at, answered_at=leg.answered_at)
    if row is None:  # rated without a credit hold (an operator's re-rating): bill the payer
        row = BilledLeg(leg_ref=leg.reference, session_id=new_ref("acct"), box=box_id(),
                        conference_ref=conference_ref, account=payer.number,
                        billing_mode=payer.billing_mode, role="participant", calling="",
                        called=leg.destination, trunk="", channo=None,
                        seized_at=leg.started_at, answered_at=leg.answered_at, interims=0,
                        logged=False, rated=False, destination="", number_class="",
                        duration_s=0, billed_s=0, charge_fen=0)
        session.add(row)
        session.flush()
        _queue(session, row, "start", leg.answered_at)
    if log is not None and log.ended_at is not None and not row.logged:
        row.ended_at, row.cause, row.logged = log.ended_at, log.cause, True
    return row


def _maybe_stop(session: Session, row: BilledLeg) -> None:
    if not (row.logged and row.rated) or row.stopped_at is not None:
        return
    at = row.ended_at or row.answered_at
    row.stopped_at = at
    session.flush()
    _queue(session, row, "stop", at)
