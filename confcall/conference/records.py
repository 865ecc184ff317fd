"""Call records: every leg written when it starts and completed when it ends.

Why at the start: a box that crashes mid-call must still show the leg (who, where, when it was
seized) so it can be rated from the carrier's records or refunded; only the end time and cause
are missing. ``MemoryRecords`` keeps them in a list (tests, demo without a DB);
``StoreRecords`` writes them to the ``call_legs`` table.

The carrier's billing hand-off (``confcall.billing.handoff``) rides in the same transactions:
a charged leg's answer opens its billing record and queues the RADIUS Start, every
``interim_s`` while it is up an Interim-Update is queued, and its end completes the record.

The same interim writes the leg's "alive at" time into its call-log row: when the box dies,
the start-up recovery (``recovery.py``) closes the leg there (to within ``interim_s``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twisted.internet.defer import Deferred, succeed

from confcall.dahdi.legs import CallLeg
from confcall.store.writes import OrderedWrites

__all__ = ["LegLog", "MemoryRecords", "StoreRecords"]


@dataclass
class LegLog:
    reference: str
    conference_ref: str
    role: str  # access | callback | participant | service
    direction: str
    number: str
    caller_id: str
    trunk: str
    channo: int | None
    seized_at: float
    answered_at: float | None = None
    ended_at: float | None = None
    cause: int | None = None


@dataclass
class MemoryRecords:
    legs: dict[str, LegLog] = field(default_factory=dict)

    def leg_started(self, conference_ref: str, leg: CallLeg, leg_ref: str,
                    role: str) -> Deferred[Any]:
        self.legs[leg_ref] = LegLog(leg_ref, conference_ref, role, leg.direction, leg.number,
                                    leg.caller_id, leg.trunk.name, leg.channo, leg.seized_at)
        return succeed(None)

    def leg_ended(self, leg_ref: str, leg: CallLeg) -> Deferred[Any]:
        rec = self.legs.get(leg_ref)
        if rec is not None:
            rec.channo = leg.channo if rec.channo is None else rec.channo
            rec.answered_at, rec.ended_at, rec.cause = leg.answered_at, leg.ended_at, leg.cause
        return succeed(None)


def _insert(session: Any, values: dict[str, Any]) -> None:
    from sqlalchemy import select

    from confcall.store.models import CallLog
    if session.scalar(select(CallLog.id).where(CallLog.reference == values["reference"])):
        return  # a retried write: already recorded
    session.add(CallLog(**values))


def _complete(session: Any, reference: str, values: dict[str, Any],
              start: dict[str, Any]) -> None:
    """End the leg's row. The row count is checked: a row that is not there (its start was
    refused for good) is written whole now, so the end is never lost."""
    from sqlalchemy import update

    from confcall.billing import handoff
    from confcall.store.engine import rowcount
    from confcall.store.models import CallLog
    done = rowcount(session, update(CallLog).where(CallLog.reference == reference)
                    .values(**values))
    if done == 0:
        _log().warning("leg %s: no call-log row to complete; writing it whole", reference)
        session.add(CallLog(**{**start, **values}))
    elif done != 1:
        raise AssertionError(f"leg {reference}: {done} call-log rows completed (references "
                             "are unique)")
    if values.get("answered_at") is not None:
        handoff.leg_logged(session, reference, values["ended_at"], values["cause"])


def _answered(session: Any, reference: str, billing: dict[str, Any]) -> None:
    from sqlalchemy import or_, update

    from confcall.billing import handoff
    from confcall.store.models import CallLog
    at = billing["answered_at"]
    session.execute(update(CallLog).where(CallLog.reference == reference)
                    .values(answered_at=at))
    # alive_at only moves forward: a replay (confcall.store.journal) never takes it back
    session.execute(update(CallLog).where(CallLog.reference == reference, or_(
        CallLog.alive_at.is_(None), CallLog.alive_at < at)).values(alive_at=at))
    handoff.leg_answered(session, reference, **billing)


def _interim(session: Any, reference: str, at: Any) -> None:
    """The leg is alive at ``at``: its call-log row says so (what a restart closes it at) and
    the carrier's billing gets its Interim-Update, in one transaction."""
    from sqlalchemy import or_, update

    from confcall.billing import handoff
    from confcall.store.engine import rowcount
    from confcall.store.models import CallLog
    moved = rowcount(session, update(CallLog).where(
        CallLog.reference == reference, CallLog.ended_at.is_(None),
        or_(CallLog.alive_at.is_(None), CallLog.alive_at < at)).values(alive_at=at))
    if moved:  # not a replay of an interim already written (confcall.store.journal)
        handoff.leg_interim(session, reference, at)


_CHARGED_ROLES = ("callback", "participant")


class StoreRecords:
    """The call log in the ``call_legs`` table, written through the DB pool.

    Every write of a conference's legs goes through its ordered queue (``OrderedWrites``,
    keyed by the conference's reference, shared with the money port): a leg's row is inserted
    before it is answered, interim-updated or completed, and all of it before the conference's
    rating closes; a write the DB cannot take now is retried until it can.
    """

    def __init__(self, runner: Any, to_dt: Any, clock: Any = None,
                 interim_s: float = 60.0, writes: OrderedWrites | None = None) -> None:
        """``clock`` (the reactor): answers and interim records of charged legs are written
        as they happen; without it only the start and the end are. ``writes``: the box's
        ordered queues (the money port's), default its own."""
        self.runner = runner
        self.to_dt = to_dt
        self.clock = clock
        self.interim_s = interim_s
        self.writes = writes or OrderedWrites(runner, clock if clock is not None
                                              else _no_clock())
        self._interims: dict[str, Any] = {}
        self._starts: dict[str, tuple[str, dict[str, Any]]] = {}  # leg → (conference, row)

    def leg_started(self, conference_ref: str, leg: CallLeg, leg_ref: str,
                    role: str) -> Deferred[Any]:
        from confcall.ids import box_id
        start = {
            "reference": leg_ref, "conference_ref": conference_ref, "role": role,
            "direction": leg.direction, "number": leg.number[:32],
            "caller_id": (leg.caller_id or "")[:32], "trunk": leg.trunk.name,
            "channo": leg.channo, "seized_at": self.to_dt(leg.seized_at), "box": box_id()}
        self._starts[leg_ref] = (conference_ref, start)
        d = self.writes.call(conference_ref, _insert, start)
        if self.clock is not None and role in _CHARGED_ROLES:
            def watch(leg: CallLeg, ev: Any) -> None:
                if ev.kind == "answered":
                    self._answered(conference_ref, leg, leg_ref, role)
                elif ev.kind in ("hangup", "failed"):  # no longer alive: no more interims
                    from confcall.clock import cancel_pending
                    cancel_pending(self._interims.pop(leg_ref, None))
            leg.watchers.append(watch)
        return d.addErrback(_log_failure, "recording the start of", leg_ref)

    def _answered(self, conference_ref: str, leg: CallLeg, leg_ref: str, role: str) -> None:
        d = self.writes.call(conference_ref, _answered, leg_ref, {
            "conference_ref": conference_ref, "role": role, "calling": leg.caller_id or "",
            "called": leg.number, "trunk": leg.trunk.name, "channo": leg.channo,
            "seized_at": self.to_dt(leg.seized_at), "answered_at": self.to_dt(leg.answered_at)})
        d.addErrback(_log_failure, "recording the answer of", leg_ref)
        self._interims[leg_ref] = self.clock.callLater(self.interim_s, self._interim,
                                                       conference_ref, leg_ref)

    def _interim(self, conference_ref: str, leg_ref: str) -> None:
        at = self.to_dt(float(self.clock.seconds()))
        d = self.writes.call(conference_ref, _interim, leg_ref, at)
        d.addErrback(_log_failure, "recording an interim of", leg_ref)
        self._interims[leg_ref] = self.clock.callLater(self.interim_s, self._interim,
                                                       conference_ref, leg_ref)

    def leg_ended(self, leg_ref: str, leg: CallLeg) -> Deferred[Any]:
        from confcall.clock import cancel_pending
        cancel_pending(self._interims.pop(leg_ref, None))
        conference_ref, start = self._starts.pop(leg_ref, (leg_ref, {}))
        if not start:  # never started here: the end still needs a whole row
            start = {"reference": leg_ref, "conference_ref": conference_ref, "role": "service",
                     "direction": leg.direction, "number": leg.number[:32],
                     "caller_id": (leg.caller_id or "")[:32], "trunk": leg.trunk.name,
                     "seized_at": self.to_dt(leg.seized_at)}
        d = self.writes.call(conference_ref, _complete, leg_ref, {
            "channo": leg.channo, "answered_at": self.to_dt(leg.answered_at),
            "ended_at": self.to_dt(leg.ended_at), "cause": leg.cause}, start)
        return d.addErrback(_log_failure, "recording the end of", leg_ref)


def _no_clock() -> Any:
    from twisted.internet import reactor
    return reactor


def _log() -> Any:
    import logging
    return logging.getLogger("confcall.records")


def _log_failure(failure: Any, what: str, ref: str) -> None:
    _log().error("%s leg %s failed: %s", what, ref, failure.getErrorMessage())
