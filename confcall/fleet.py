"""The fleet: boxes sharing one database say they are alive, and close a dead box's rows.

Why: each box closes only its OWN unfinished rows when it starts again
(``confcall.conference.recovery``). A box that dies for good (hardware gone, decommissioned,
never restarted) would leave its answered call legs unrated, its subscribers' credit held and
its conferences open for ever. So every box writes "I am alive" into the ``boxes`` table
(``last_seen``, every ``[fleet] heartbeat_s``), and every live box looks, as often, for boxes
not seen for ``[fleet] dead_after_s``; it closes their rows exactly as their own restart would
(``recovery.recover_box`` with the dead box's id): each leg ended at its last interim "alive
at" time with cause 41 and ``end_reason = 'box lost'``, rated for the time up to there, every
hold released or settled, every conference closed with its total.

Exactly once: a reaper first claims the dead box's row with one conditional UPDATE (only one
of several reapers at the same moment wins; a claim that is not finished, its reaper died
mid-way, lapses after ``dead_after_s`` and another box takes it over). Under the claim every
leg, hold and conference is re-read under a row lock and skipped if it was closed meanwhile,
so even the dead box coming back in the middle (its own restart recovery runs the same code)
settles each row once. A box that comes back after it was reaped finds nothing left to close
and charges nothing twice (ledger rows are keyed by the leg's reference).

Never too early: a box never reaps itself; another box is dead only if this box itself has
been connected to the database without a break for ``dead_after_s`` and saw no heartbeat of
that box in that time (after a database outage that hid everyone's heartbeats, every box
waits a full ``dead_after_s`` again before it reaps anyone). Times are each box's own clock:
keep the boxes on NTP; ``dead_after_s`` is minutes, clock skew is milliseconds.

All SQL runs on the store's runner (the DB thread pool), never on the reactor thread.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from confcall.clock import every
from confcall.store.engine import rowcount
from confcall.store.models import BoxSeen, CallLog, Reservation, table_of
from confcall.store.types import utc

__all__ = ["BOX_LOST", "BoxState", "FleetPolicy", "FleetWatch", "ReapRefused", "box_states",
           "dead_boxes", "heartbeat", "reap"]

log = logging.getLogger("confcall.fleet")

BOX_LOST = "box lost"  # call_legs.end_reason of a leg closed by another box (16 chars at most)
_T = table_of(BoxSeen)


@dataclass(frozen=True)
class FleetPolicy:
    """The [fleet] config keys (validated in ``confcall.config``)."""

    heartbeat_s: float = 15.0
    dead_after_s: float = 300.0

    @classmethod
    def from_config(cls, cfg: Any) -> FleetPolicy:
        return cls(cfg.fleet_heartbeat_s, cfg.fleet_dead_after_s)


class ReapRefused(Exception):
    """A reap by hand that must not happen (the box was seen recently, or is unknown)."""


# -- the database side (each function runs in one transaction, in the DB pool) -------------------

@dataclass(frozen=True)
class Reaped:
    """This box was declared dead and its rows closed by ``by`` at ``at`` while it was away."""

    by: str
    at: datetime


def heartbeat(session: Session, *, box: str, now: datetime, started: bool = False
              ) -> Reaped | None:
    """Write that ``box`` is alive now (``started``: it just started). Returns who reaped it
    since its previous heartbeat, if anyone did (it was cut off longer than dead_after_s)."""
    now = utc(now)
    row = session.scalar(select(BoxSeen).where(BoxSeen.box == box).with_for_update())
    if row is None:
        session.add(BoxSeen(box=box, started_at=now, last_seen=now))
        session.flush()  # two starts of one id at once: the unique key; Store.run re-runs
        return None
    reaped = None
    if row.reaped_at is not None and row.reaped_by and utc(row.reaped_at) >= utc(row.last_seen):
        reaped = Reaped(row.reaped_by, utc(row.reaped_at))
    row.last_seen = max(now, utc(row.last_seen)) if not started else now
    if started:
        row.started_at = now
    return reaped


def dead_boxes(session: Session, *, me: str, now: datetime, dead_after_s: float) -> list[str]:
    """Boxes not seen for ``dead_after_s``, not reaped since they were last seen, and not being
    reaped by a live box right now; never ``me``."""
    now = utc(now)
    return list(session.scalars(select(_T.c.box).where(
        _T.c.box != me, _T.c.last_seen < now - timedelta(seconds=dead_after_s),
        or_(_T.c.reaped_at.is_(None), _T.c.reaped_at < _T.c.last_seen),
        or_(_T.c.reaping_until.is_(None), _T.c.reaping_until < now))
        .order_by(_T.c.last_seen)))


def _claim(session: Session, *, box: str, me: str, now: datetime, dead_after_s: float,
           force: bool) -> bool:
    """Take the reaping of ``box`` (one conditional UPDATE: one winner among reapers)."""
    now = utc(now)
    cond = [_T.c.box == box, _T.c.box != me,
            or_(_T.c.reaping_until.is_(None), _T.c.reaping_until < now)]
    if not force:
        cond += [_T.c.last_seen < now - timedelta(seconds=dead_after_s),
                 or_(_T.c.reaped_at.is_(None), _T.c.reaped_at < _T.c.last_seen)]
    return rowcount(session, update(_T).where(and_(*cond)).values(
        reaping_by=me, reaping_until=now + timedelta(seconds=dead_after_s))) == 1


def _done(session: Session, *, box: str, me: str, now: datetime, ok: bool) -> None:
    values: dict[str, Any] = {"reaping_by": None, "reaping_until": None}
    if ok:
        values.update(reaped_at=utc(now), reaped_by=me)
    rowcount(session, update(_T).where(_T.c.box == box, _T.c.reaping_by == me).values(**values))


def reap(store: Any, box: str, *, me: str, now: datetime, dead_after_s: float,
         force: bool = False) -> Any:
    """Close the rows of ``box`` (dead: not seen for ``dead_after_s``, unless ``force``) as its
    own restart would, with the reason "box lost". Returns ``recovery.Recovered``, or None when
    another reaper has it (or it was seen meanwhile). Runs in the DB pool (plain: it manages
    its own transactions, one per row)."""
    from confcall.conference.recovery import recover_box
    if box == me:
        raise ReapRefused(f"box {box}: a box never reaps itself")
    if not store.run(_claim, box=box, me=me, now=now, dead_after_s=dead_after_s, force=force):
        return None
    ok = False
    try:
        result = recover_box(store, box, now, reason=BOX_LOST)
        ok = not result.failed
    finally:
        store.run(_done, box=box, me=me, now=now, ok=ok)
    return result


@dataclass(frozen=True)
class BoxState:
    """One box as the NOC sees it (``confcall box list``)."""

    box: str
    started_at: datetime | None
    last_seen: datetime | None
    state: str  # alive | dead | reaped | unknown (open rows, never seen: no heartbeat row)
    open_legs: int
    held: int  # credit holds still held
    reaped_by: str | None = None
    reaped_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        def t(v: datetime | None) -> str | None:
            return None if v is None else v.isoformat()
        return {"box": self.box, "started_at": t(self.started_at),
                "last_seen": t(self.last_seen), "state": self.state,
                "open_legs": self.open_legs, "held": self.held, "reaped_by": self.reaped_by,
                "reaped_at": t(self.reaped_at)}


def box_states(session: Session, *, now: datetime, dead_after_s: float) -> list[BoxState]:
    """Every box with a heartbeat row, and every box id with open legs or holds but none."""
    now = utc(now)
    legs: dict[str, int] = {str(b): int(n) for b, n in session.execute(
        select(CallLog.box, func.count()).where(CallLog.ended_at.is_(None),
                                                CallLog.box.is_not(None))
        .group_by(CallLog.box))}
    held: dict[str, int] = {str(b): int(n) for b, n in session.execute(
        select(Reservation.box, func.count()).where(Reservation.state == "held",
                                                    Reservation.box.is_not(None))
        .group_by(Reservation.box))}
    out = []
    for r in session.scalars(select(BoxSeen).order_by(BoxSeen.box)):
        seen = utc(r.last_seen)
        if seen >= now - timedelta(seconds=dead_after_s):
            state = "alive"
        elif r.reaped_at is not None and utc(r.reaped_at) >= seen:
            state = "reaped"
        else:
            state = "dead"
        out.append(BoxState(r.box, utc(r.started_at), seen, state, legs.pop(r.box, 0),
                            held.pop(r.box, 0), r.reaped_by,
                            None if r.reaped_at is None else utc(r.reaped_at)))
    for box in sorted(set(legs) | set(held)):
        out.append(BoxState(box, None, None, "unknown", legs.get(box, 0), held.get(box, 0)))
    return out


def adopt_unknown(session: Session, *, box: str, now: datetime) -> bool:
    """A box with open rows but no heartbeat row (it died before it had one): give it one,
    last seen at its last sign of life, so it can be reaped by hand. False: nothing of it."""
    if session.scalar(select(BoxSeen.id).where(BoxSeen.box == box)) is not None:
        return True
    last = session.scalar(select(func.max(func.coalesce(CallLog.alive_at, CallLog.seized_at)))
                          .where(CallLog.box == box))
    if last is None and not session.scalar(select(func.count()).select_from(Reservation)
                                           .where(Reservation.box == box)):
        return False
    seen = utc(last) if last is not None else utc(now)
    session.add(BoxSeen(box=box, started_at=seen, last_seen=seen))
    session.flush()
    return True


# -- on the box: the heartbeat and the reaper, timed on the reactor ------------------------------

class FleetWatch:
    """One per box: writes its heartbeat every ``heartbeat_s`` and, once it has been connected
    for ``dead_after_s`` without a break, reaps the boxes it finds dead (one at a time)."""

    def __init__(self, reactor: Any, runner: Any, *, box: str, now: Callable[[], datetime],
                 policy: FleetPolicy = FleetPolicy(),
                 say: Callable[[str], None] | None = None) -> None:
        self.reactor = reactor
        self.runner = runner
        self.box = box
        self.now = now
        self.policy = policy
        self.say = say or (lambda text: log.warning("%s", text))
        self.connected_since: datetime | None = None  # first heartbeat after start or outage
        self.reaped: list[tuple[str, Any]] = []  # (box, Recovered) this box reaped
        self.declared_dead: Reaped | None = None  # another box reaped this one while away
        self._loop: Any = None
        self._started = False  # the first heartbeat of this run was written
        self._busy = False

    def start(self) -> None:
        """The first heartbeat at once (``started_at``), then every ``heartbeat_s``."""
        self._loop = every(self.reactor, self.policy.heartbeat_s, self.tick)
        self.tick()

    def stop(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()

    def tick(self) -> None:
        if self._busy:  # the DB is slow: one heartbeat (and reap) at a time
            return
        self._busy = True
        now = self.now()
        d = self.runner.call(heartbeat, box=self.box, now=now, started=not self._started)
        d.addCallbacks(self._alive, self._unreachable, callbackArgs=(now,))
        d.addErrback(lambda f: log.error("fleet heartbeat: %s", f.getTraceback()))
        d.addBoth(self._idle)

    def _idle(self, _: Any) -> None:
        self._busy = False

    def _unreachable(self, failure: Any) -> None:
        if self.connected_since is not None:
            log.error("fleet heartbeat of %s failed (%s): no box is reaped until the database "
                      "has been reachable for %g s again", self.box,
                      failure.getErrorMessage().splitlines()[0], self.policy.dead_after_s)
        self.connected_since = None

    def _alive(self, reaped: Reaped | None, at: datetime) -> Any:
        self._started = True
        if reaped is not None:
            self.declared_dead = reaped
            self.say(f"this box ({self.box}) was declared dead by {reaped.by} at "
                     f"{reaped.at.isoformat()} while it could not reach the database; the "
                     "calls it had open then were closed and rated there")
        if self.connected_since is None:
            self.connected_since = at
            return None
        if (at - self.connected_since).total_seconds() < self.policy.dead_after_s:
            return None
        d = self.runner.call(dead_boxes, me=self.box, now=at,
                             dead_after_s=self.policy.dead_after_s)
        d.addCallback(self._reap_each)
        return d

    def _reap_each(self, boxes: list[str]) -> Any:
        if not boxes:
            return None
        box, rest = boxes[0], boxes[1:]
        d = self.runner.call_plain(reap, box, me=self.box, now=self.now(),
                                   dead_after_s=self.policy.dead_after_s)

        def done(result: Any) -> Any:
            if result is not None:
                self.reaped.append((box, result))
                text = (f"box {box} not seen for {self.policy.dead_after_s:g} s: lost; "
                        f"{self.box} closed its rows: {result}")
                if result.legs_closed or result.holds_released or result.conferences_closed \
                        or result.legs_rated or result.failed:
                    self.say(text)
                else:  # a box stopped cleanly (or decommissioned): nothing was left open
                    log.info("%s", text)
            return self._reap_each(rest)

        def failed(f: Any) -> Any:
            log.error("reaping box %s failed (tried again in %g s): %s", box,
                      self.policy.heartbeat_s, f.getErrorMessage())
            return self._reap_each(rest)
        d.addCallbacks(done, failed)
        return d
