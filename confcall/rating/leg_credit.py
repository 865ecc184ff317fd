"""Credit control of one leg, driven from the reactor (injected clock, DB work in the pool).

The call control creates a ``LegCredit`` per outbound leg::

    credit = LegCredit(reactor, runner, payer, conf_ref, leg_ref, dialled,
                       on_warning=play_warning, on_exhausted=clear_leg)
    grant = yield credit.authorize()     # before dialling: MoneyError if no credit/blocked
    credit.answered()                    # at CONNECT: timers start
    ...
    bill = yield credit.ended(answered_at, ended_at)   # at hang-up: rated, debited, released
    # or: yield credit.failed()          # never answered / dial failed: hold given back

While the leg runs, ``margin_s`` before the grant ends it asks for more credit; when the
balance allows no more (a *final* grant) it calls ``on_warning(leg_ref, seconds_left)`` at
each warning point and ``on_exhausted(leg_ref)`` at the end — the call control then clears
the leg.  Nothing here blocks: every database call goes through ``runner.call_plain``.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from twisted.internet.defer import Deferred

from confcall.clock import cancel_pending

from . import ops
from .cdr import LegBill, LegRecord
from .credit import DEFAULT_QUOTA_S, DEFAULT_WARNINGS_S, Grant

__all__ = ["LegCredit"]


class LegCredit:
    def __init__(self, clock: Any, runner: Any, payer: str, conference_ref: str,
                 leg_ref: str, dialled: str, on_warning: Callable[[str, int], None],
                 on_exhausted: Callable[[str], None], quota_s: int = DEFAULT_QUOTA_S,
                 warnings_s: tuple[int, ...] = DEFAULT_WARNINGS_S, margin_s: int = 30,
                 now: Callable[[], datetime] | None = None,
                 settle: Callable[..., Deferred[Any]] | None = None,
                 extend: Callable[..., Deferred[Any]] | None = None) -> None:
        """``settle(fn, *args)``: how the leg's final write (rating or release) is run, e.g.
        in the call's ordered, retried queue (``confcall.store.writes``); ``extend``: how an
        extension of its credit is, in the same order but not retried (a failure makes the
        grant final); default the pool for both."""
        self.clock, self.runner = clock, runner
        self.settle = settle or runner.call_plain
        self.extend = extend or runner.call_plain
        self.payer, self.conference_ref, self.leg_ref = payer, conference_ref, leg_ref
        self.dialled = dialled
        self.on_warning, self.on_exhausted = on_warning, on_exhausted
        self.quota_s, self.warnings_s, self.margin_s = quota_s, warnings_s, margin_s
        self.now = now
        self.grant: Grant | None = None
        self.answered_at: float | None = None
        self.exhausted = False
        self.done = False  # ended or failed: no more timers
        self._timers: list[Any] = []

    def authorize(self) -> Deferred[Grant]:
        d = self.runner.call_plain(ops.authorize_leg, self.payer, self.conference_ref,
                                   self.leg_ref, self.dialled,
                                   self.now() if self.now else None, self.quota_s,
                                   self.warnings_s)
        return d.addCallback(self._granted)

    def _granted(self, grant: Grant) -> Grant:
        self.grant = grant
        if self.answered_at is not None and not self.done:
            self._schedule()
        return grant

    def answered(self) -> None:
        self.answered_at = self.clock.seconds()
        self._schedule()

    def _elapsed(self) -> float:
        assert self.answered_at is not None
        return self.clock.seconds() - self.answered_at

    def _cancel(self) -> None:
        for call in self._timers:
            cancel_pending(call)
        self._timers = []

    def _schedule(self) -> None:
        assert self.grant is not None
        self._cancel()
        elapsed, grant = self._elapsed(), self.grant
        if grant.final:
            for at in grant.warnings_s:
                if at >= elapsed:
                    self._timers.append(self.clock.callLater(
                        at - elapsed, self.on_warning, self.leg_ref, grant.granted_s - at))
            self._timers.append(self.clock.callLater(max(0.0, grant.granted_s - elapsed),
                                                     self._exhaust))
        else:
            self._timers.append(self.clock.callLater(
                max(0.0, grant.granted_s - self.margin_s - elapsed), self._extend))

    def _extend(self) -> None:
        # until the answer comes (it may wait behind the call's queued writes while the DB is
        # away), the leg may run only on the credit it holds: clear it at granted_s
        assert self.grant is not None
        self._timers.append(self.clock.callLater(
            max(0.0, self.grant.granted_s - self._elapsed()), self._exhaust))
        d = self.extend(ops.extend_leg, self.leg_ref, self.quota_s, self.warnings_s,
                        self.now() if self.now else None)

        def failed(f: Any) -> None:  # DB trouble: keep the credit held, end on time
            assert self.grant is not None
            if self.done:
                return
            self.grant = Grant(**{**self.grant.__dict__, "final": True})
            self._schedule()
        d.addCallbacks(self._granted, failed)

    def _exhaust(self) -> None:
        self.exhausted = True
        self.on_exhausted(self.leg_ref)

    def ended(self, started_at: datetime, answered_at: datetime | None,
              ended_at: datetime) -> Deferred[LegBill]:
        self.done = True
        self._cancel()
        record = LegRecord(self.leg_ref, self.dialled, started_at, ended_at, answered_at)
        return self.settle(ops.settle_leg, self.payer, self.conference_ref, record,
                           self.now() if self.now else None)

    def failed(self) -> Deferred[None]:
        self.done = True
        self._cancel()
        return self.settle(ops.release_leg, self.leg_ref)
