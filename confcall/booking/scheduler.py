"""The booking scheduler: at a booking's time, call the initiator; when they answer, call the
booked participants in parallel; retry each party by the booking's count and interval.

Why here, and how it shares the work: every box runs one scheduler against the shared
database. Every ``poll_s`` it claims the bookings due within ``claim_ahead_s`` (and takes over
those whose box's lease expired) through ``leases.claim_due``; each claimed booking becomes a
``BookedCall`` timed on the reactor to its start time to the tick. While a booking is held its
lease is renewed every ``lease_s / 3``. All SQL runs on the store's runner (the DB thread
pool), never on the reactor thread; the reactor only keeps timers and reacts to call events.

What one booking lives through (``BookedCall``)::

    start time ─► claimed→dialing ─► initiator attempt n (row written first) ─► answered?
        no: busy / no answer / congestion and n ≤ retries ─► wait interval ─► attempt n+1
            otherwise ─► failed
        yes: in_progress; every participant: attempt 1 (row first) ─► joined, or failed and
             retried ``retries`` times ``interval`` apart while the conference lasts;
             the initiator keys more participants as in phone mode; conference ends ─► done
        the box dies mid-call: the box taking it over redials the initiator as attempt n+1
             (if n ≤ retries), then the participants, each from its next attempt number

The phone network is behind one seam, ``BookedDialer`` (the box's implementation is
``confcall.conference.callback.CallbackService``): it dials, and hands back a
``BookedConference`` once the initiator answered — the phone mode's own conference session.
Phone-mode callbacks are bookings too (kind ``callback``, no participants), so a callback
survives a restart and another box takes it over if this one dies.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from twisted.internet.defer import Deferred, gatherResults, succeed

from confcall.clock import cancel_pending, every
from confcall.dahdi.legs import Cause
from confcall.ids import new_ref
from confcall.recent import RecentlyEnded

from . import leases
from .leases import DueBooking, DueParticipant
from .states import AttemptResult, BookingKind, BookingState, result_for_cause

__all__ = ["BookedCall", "BookedConference", "BookedDialer", "BookingScheduler",
           "RETRY_CAUSES", "SchedulerPolicy"]

log = logging.getLogger("confcall.booking")

# a party that could not be reached for now: worth another attempt after the interval
RETRY_CAUSES = frozenset({Cause.USER_BUSY, Cause.NO_ANSWER, Cause.NO_USER_RESPONSE,
                          Cause.CONGESTION, Cause.SWITCH_CONGESTION, Cause.TEMPORARY_FAILURE,
                          Cause.SUBSCRIBER_ABSENT, Cause.NETWORK_OUT_OF_ORDER})


@dataclass(frozen=True)
class SchedulerPolicy:
    """The [booking] config keys the scheduler uses (validated in ``confcall.config``)."""

    poll_s: float = 2.0
    lease_s: float = 60.0
    claim_ahead_s: float = 10.0
    grace_s: float = 300.0
    batch: int = 500  # bookings claimed per transaction at most
    max_live: int = 0  # this box's B-channels (0 = no limit): a box claims no more bookings
    # than its free channels can dial, so boxes sharing a database share a burst

    @property
    def renew_s(self) -> float:
        return self.lease_s / 3

    @classmethod
    def from_config(cls, cfg: Any, channels: int = 0) -> SchedulerPolicy:
        """``channels``: this box's B-channels (each booking needs at least one)."""
        return cls(cfg.booking_poll_s, cfg.booking_lease_s, cfg.booking_claim_ahead_s,
                   cfg.booking_grace_s, max_live=channels)


class BookedConference(Protocol):
    """A running conference whose initiator answered a booked call or a callback."""

    reference: str

    @property
    def ended(self) -> bool: ...

    def invite(self, number: str, *, on_answered: Callable[[], None],
               on_failed: Callable[[int | None, bool], None]) -> None:
        """Dial ``number`` into the conference as if the initiator keyed it; ``on_failed``
        gets the Q.850 cause and whether it was refused before dialling (no retry then)."""

    def when_ended(self, fn: Callable[[], None]) -> None: ...


class BookedDialer(Protocol):
    def dial_initiator(self, job: DueBooking, conference_ref: str, leg_ref: str, *,
                       on_answered: Callable[[BookedConference], None],
                       on_failed: Callable[[int | None, bool], None]) -> None:
        """Call the booking's initiator; on answer start the conference (the welcome of a
        booked conference, or of a callback) and hand it back."""


class BookingScheduler:
    """One per box: claims due bookings, times them, renews their leases."""

    def __init__(self, reactor: Any, runner: Any, dialer: BookedDialer, *, box: str,
                 now: Callable[[], datetime], policy: SchedulerPolicy = SchedulerPolicy(),
                 on_serve: Callable[[BookedCall], None] | None = None,
                 writes: Any = None) -> None:
        """``writes``: the box's ``OrderedWrites`` (``confcall.store.writes``). The scheduler's
        own state writes (an attempt's outcome, answered, finished, released, the lease
        renewals) go through it: in order per booking, retried while the database is away, so
        an outage does not lose them. Without it (unit tests) they run once on ``runner``."""
        self.reactor = reactor
        self.runner = runner
        self.writes = writes
        self._renewing = False  # a renewal waits in the write queue (the DB is away)
        self.dialer = dialer
        self.box = box
        self.now = now
        self.policy = policy
        self.on_serve = on_serve
        self.live: dict[int, BookedCall] = {}  # bookings this box holds the lease of
        # every booking served here that is still live, and those over in the last ten
        # minutes (tests, control); by time, not count: a count-bounded deque of 2000 kept
        # every ended conference (legs, members, keypad) for ~80 minutes of a loaded box
        self.calls: RecentlyEnded[BookedCall] = RecentlyEnded(reactor, _call_over)
        self._loops: list[Any] = []
        self._polling = False
        self._restarted = True  # the first claim also takes back this box's own old leases
        self._stopped = False

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """The first claim comes one period after start-up (the spans are up by then); it
        takes what fell due while the box was down, within the grace."""
        self._loops = [every(self.reactor, self.policy.poll_s, self.poll),
                       every(self.reactor, self.policy.renew_s, self.renew)]

    def stop(self) -> Deferred[Any]:
        """Stop claiming; give back the bookings claimed but not yet dialled (another box, or
        this one after its restart, dials them at their time)."""
        self._stopped = True
        for loop in self._loops:
            if loop.running:
                loop.stop()
        waiting = [c for c in self.live.values() if c.state == "waiting" and not c.dialled]
        ds = []
        for c in waiting:
            c.drop()
            ds.append(self._write(c.job, "releasing a booking", leases.release, c.job.id,
                                  box=self.box))
        return gatherResults(ds) if ds else succeed(None)

    def _db(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred[Any]:
        """Run ``fn`` on the store's runner; a failure is logged and answers None."""
        d: Deferred[Any] = self.runner.call(fn, *args, **kwargs)

        def failed(f: Any) -> None:
            log.error("%s failed: %s", what, f.getErrorMessage())
            return None
        d.addErrback(failed)
        return d

    def _write(self, job: DueBooking, what: str, fn: Callable[..., Any], *args: Any,
               **kwargs: Any) -> Deferred[Any]:
        """A state write of one booking: through the ordered, retried write queue (keyed by the
        booking), so it lands after the booking's earlier writes and survives a DB outage; a
        write the database refuses for good is logged and answers None."""
        if self.writes is None:
            return self._db(what, fn, *args, **kwargs)
        d: Deferred[Any] = self.writes.call(f"booking:{job.reference}", fn, *args, **kwargs)

        def refused(f: Any) -> None:
            log.error("%s (booking %s) failed: %s", what, job.reference, f.getErrorMessage())
            return None
        d.addErrback(refused)
        return d

    # -- claiming ---------------------------------------------------------------------------------
    def poll(self) -> None:
        if self._polling or self._stopped:
            return
        p = self.policy
        limit = p.batch if not p.max_live else min(p.batch, self.free_channels() // 2)
        if limit <= 0:
            return  # busy enough: the other boxes take what is due
        self._polling = True
        d = self.runner.call(leases.claim_due, box=self.box, now=self.now(),
                             ahead_s=p.claim_ahead_s, lease_s=p.lease_s, grace_s=p.grace_s,
                             limit=limit, restarted=self._restarted)

        def claimed(due: list[DueBooking]) -> None:
            self._restarted = False
            for job in due:
                self.serve(job)
            if len(due) == limit:  # more are due: claim again without waiting a period
                self.reactor.callLater(0, self.poll)

        def failed(f: Any) -> None:
            log.error("claiming due bookings failed (retried in %.1f s): %s", p.poll_s,
                      f.getErrorMessage())

        def done(_: Any) -> None:
            self._polling = False
        d.addCallbacks(claimed, failed).addBoth(done)

    def free_channels(self) -> int:
        """This box's B-channels not promised to the bookings it serves: each holds its
        initiator and its booked participants, two channels at least (a callback's caller
        keys a participant in). A new claim is counted at two channels, the least it needs."""
        used = sum(max(2, 1 + len(c.job.participants)) for c in self.live.values())
        return self.policy.max_live - used

    def serve(self, job: DueBooking) -> BookedCall:
        """Time a booking this box holds (claimed here, or a callback it just wrote)."""
        current = self.live.get(job.id)
        if current is not None:
            return current
        call = BookedCall(self, job)
        self.live[job.id] = call
        self.calls.append(call)
        if job.takeover:
            log.warning("booking %s taken over by %s (its box's lease expired)", job.reference,
                        self.box)
        if self.on_serve is not None:
            self.on_serve(call)
        call.schedule()
        return call

    def forget(self, call: BookedCall) -> None:
        if self.live.get(call.job.id) is call:
            del self.live[call.job.id]

    def renew(self) -> None:
        """Extend the leases of the bookings served here. Through the write queue: while the
        database is away the renewal waits and is retried (one at a time; it reads the time
        when it runs), and once it lands the box learns which leases it lost meanwhile."""
        ids = sorted(self.live)
        if not ids or self._stopped or self._renewing:
            return
        if self.writes is None:
            d = self._db("renewing booking leases", leases.renew, box=self.box, ids=ids,
                         now=self.now(), lease_s=self.policy.lease_s)
        else:
            self._renewing = True
            d = self.writes.call(f"booking-leases:{self.box}", leases.renew, box=self.box,
                                 ids=ids, now=self.now, lease_s=self.policy.lease_s)
            d.addErrback(lambda f: log.error("renewing booking leases failed: %s",
                                             f.getErrorMessage()))

        def renewed(held: list[int] | None) -> None:
            self._renewing = False
            if held is None:
                return  # the DB refused it: keep serving; the next period tries again
            for bid in set(ids) - set(held):
                call = self.live.get(bid)
                if call is not None:
                    call.lost_lease()
        d.addCallback(renewed)


def _call_over(call: "BookedCall") -> bool:
    """A served booking that will not dial or hold a conference any more."""
    return call.state in ("done", "given_up", "cancelled") or call._dropped


class BookedCall:
    """One booking served by this box. ``state`` (waiting | dialing | answered | given_up |
    cancelled | done) and ``attempts`` (the initiator's: reactor time, cause) are what the
    control socket and the tests read."""

    def __init__(self, scheduler: BookingScheduler, job: DueBooking) -> None:
        self.s = scheduler
        self.job = job
        self.state = "waiting"
        self.attempts: list[tuple[float, int | None]] = []
        self.conference: BookedConference | None = None
        self.dialled = False
        self._timers: list[Any] = []
        self._dropped = False
        self._reclaiming = False
        self.lost = False  # taken over by another box while its conference ran here

    @property
    def number(self) -> str:
        return self.job.initiator_dial

    # -- timing -----------------------------------------------------------------------------------
    def schedule(self) -> None:
        delay = (self.job.start_at - self.s.now()).total_seconds()
        self._later(max(0.0, delay), self._begin)

    def _later(self, seconds: float, fn: Callable[..., None], *args: Any) -> None:
        self._timers = [t for t in self._timers if t.active()]
        self._timers.append(self.s.reactor.callLater(seconds, fn, *args))

    def drop(self) -> None:
        """Stop serving it here (shutdown, lease lost): no further dial from this box."""
        self._dropped = True
        for t in self._timers:
            cancel_pending(t)
        self._timers = []
        self.s.forget(self)

    def lost_lease(self) -> None:
        if self.conference is not None and not self.conference.ended:
            self._take_back(self.conference)
            return
        log.warning("booking %s is no longer held by %s (cancelled, or taken over): not "
                    "dialled here", self.job.reference, self.s.box)
        if self.state == "waiting" and not self.dialled:
            self.state = "cancelled"
        self.drop()

    def _take_back(self, conf: BookedConference) -> None:
        """The lease lapsed while this box could not reach the database, and another box took
        the booking over, while its conference still runs here: the call goes on here (never
        cut talking subscribers off), and the booking is taken back if the other box has not
        reached the initiator yet (``leases.reclaim``); otherwise it stays the other box's and
        this box stops renewing it. Either way nobody is dialled again from here for it."""
        if self._reclaiming:
            return
        self._reclaiming = True
        log.error("booking %s: lease lost while its conference runs here (the database was "
                  "unreachable longer than the lease); the call goes on here, taking the "
                  "booking back", self.job.reference)
        d = self.s._write(self.job, "taking a booking back", leases.reclaim, self.job.id,
                          box=self.s.box, now=self.s.now(), lease_s=self.s.policy.lease_s,
                          conference_ref=conf.reference)

        def done(other: str | None) -> None:
            self._reclaiming = False
            if other is not None:
                log.warning("booking %s taken back from %s: its conference runs here",
                            self.job.reference, other)
                return
            log.error("booking %s stays with the box that took it over (it reached the "
                      "initiator, or the booking is over); the conference here goes on and is "
                      "billed here", self.job.reference)
            self.lost = True
            self.s.forget(self)  # no more renewals or dials for it from here
        d.addCallback(done)

    # -- the initiator ---------------------------------------------------------------------------
    def _begin(self) -> None:
        if self._dropped:
            return
        if self.job.state is BookingState.DIALING:  # taken over mid-dial: the next attempt,
            job = self.job                           # the retry interval after the last one
            wait = 0.0 if job.initiator_last_at is None else (
                job.initiator_last_at + timedelta(seconds=job.retry_interval_s)
                - self.s.now()).total_seconds()
            self._later(max(0.0, wait), self._initiator, job.initiator_attempts + 1)
            return
        d = self.s._db("starting a booking", leases.start_dialing, self.job.id,
                       box=self.s.box, now=self.s.now())

        def started(ok: bool | None) -> None:
            if ok:
                self._initiator(1)
            elif ok is False:
                log.info("booking %s not dialled: cancelled or no longer held",
                         self.job.reference)
                self.state = "cancelled"
                self.drop()
            else:
                self.drop()  # DB failure: the lease lapses and the booking is taken over
        d.addCallback(started)

    def _initiator(self, n: int) -> None:
        job = self.job
        if self._dropped:
            return
        if n > job.retries + 1:
            self._finish(BookingState.FAILED, f"the initiator was not reached in {n - 1} "
                                              "attempt(s)")
            return
        d = self.s._db("writing an attempt", leases.open_attempt, job.id, 0, n,
                       job.initiator_dial, box=self.s.box, now=self.s.now())
        d.addCallback(lambda ref: self._dial_initiator(n, ref))

    def _dial_initiator(self, n: int, ref: str | None) -> None:
        job = self.job
        if ref is None or self._dropped:
            log.warning("booking %s: initiator attempt %d not made here (made by another box, "
                        "or the lease is gone)", job.reference, n)
            self.drop()
            return
        self.state = "dialing"
        self.dialled = True
        conf_ref = new_ref("conf")

        def answered(conf: BookedConference) -> None:
            self.state = "answered"
            self.conference = conf
            now = self.s.now()
            self.s._write(job, "recording an answer", leases.close_attempt, ref,
                          result=AttemptResult.ANSWERED, cause=None, now=now, answered_at=now)
            self.s._write(job, "starting the conference", leases.answered, job.id,
                          box=self.s.box, now=now, conference_ref=conf.reference)
            conf.when_ended(self._conference_ended)
            for p in job.participants:
                self._participant(p, p.attempts_made + 1)

        def failed(cause: int | None, refused: bool) -> None:
            self.attempts.append((float(self.s.reactor.seconds()), cause))
            result = AttemptResult.REFUSED if refused else result_for_cause(cause)
            self.s._write(job, "recording an attempt", leases.close_attempt, ref,
                          result=result, cause=cause, now=self.s.now())
            if not refused and cause in RETRY_CAUSES and n <= job.retries:
                self.state = "waiting"
                log.info("booking %s: initiator %s %s (cause %s), attempt %d/%d in %g s",
                         job.reference, job.initiator_dial, result, cause, n + 1,
                         job.retries + 1, job.retry_interval_s)
                self._later(job.retry_interval_s, self._initiator, n + 1)
                return
            why = "refused before dialling" if refused else f"{result} (cause {cause})"
            self._finish(BookingState.FAILED, f"initiator not reached: {why} after {n} "
                                              "attempt(s)")

        self.s.dialer.dial_initiator(job, conf_ref, f"{conf_ref}/0", on_answered=answered,
                                     on_failed=failed)

    # -- the participants -------------------------------------------------------------------------
    def _participant(self, p: DueParticipant, n: int) -> None:
        conf = self.conference
        # each conference run gives a participant the booked redials: a conference redialled
        # after its box died continues the attempt numbers (never the same attempt twice)
        if conf is None or conf.ended or self._dropped or \
                n > p.attempts_made + self.job.retries + 1:
            return
        d = self.s._db("writing an attempt", leases.open_attempt, self.job.id, p.position, n,
                       p.dial, box=self.s.box, now=self.s.now())
        d.addCallback(lambda ref: self._invite(p, n, ref))

    def _invite(self, p: DueParticipant, n: int, ref: str | None) -> None:
        conf = self.conference
        if ref is None or conf is None:
            return
        if conf.ended:
            self.s._write(self.job, "recording an attempt", leases.close_attempt, ref,
                          result=AttemptResult.REFUSED, cause=None, now=self.s.now())
            return

        def answered() -> None:
            now = self.s.now()
            self.s._write(self.job, "recording an answer", leases.close_attempt, ref,
                          result=AttemptResult.ANSWERED, cause=None, now=now, answered_at=now)

        def failed(cause: int | None, refused: bool) -> None:
            result = AttemptResult.REFUSED if refused else result_for_cause(cause)
            self.s._write(self.job, "recording an attempt", leases.close_attempt, ref,
                          result=result, cause=cause, now=self.s.now())
            if not refused and cause in RETRY_CAUSES and \
                    n <= p.attempts_made + self.job.retries:
                log.info("booking %s: participant %s %s (cause %s), attempt %d/%d in %g s",
                         self.job.reference, p.dial, result, cause, n + 1,
                         self.job.retries + 1, self.job.retry_interval_s)
                self._later(self.job.retry_interval_s, self._participant, p, n + 1)

        conf.invite(p.dial, on_answered=answered, on_failed=failed)

    # -- the end ----------------------------------------------------------------------------------
    def _conference_ended(self) -> None:
        self._finish(BookingState.DONE, "conference ended")

    def _finish(self, state: BookingState, outcome: str) -> None:
        self.state = "done" if state is BookingState.DONE else "given_up"
        if state is not BookingState.DONE:
            log.warning("booking %s (%s to %s): %s", self.job.reference, self.job.kind,
                        self.job.initiator_dial, outcome)
        self.s._write(self.job, "closing a booking", leases.finish, self.job.id,
                      box=self.s.box, now=self.s.now(), state=state, outcome=outcome)
        self.drop()


def is_callback(call: BookedCall) -> bool:
    return call.job.kind is BookingKind.CALLBACK
