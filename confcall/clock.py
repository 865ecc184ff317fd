"""Periodic work on an injected reactor (the real one, or a ``task.Clock`` in tests).

Why a guard: ``LoopingCall`` stops for good on the first exception of its function, and the
Deferred that would tell is easy to drop. Periodic work here is the 100 ms trunk poll (on
hardware the only route to DAHDI alarm events), the simulated span's frame clock, CDR file
rotation: one failed SPANSTAT must not end any of them. So ``every`` logs the failure with its
traceback (then at most once a minute while it keeps failing, and once when it recovers) and
calls the function again at the next period.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Protocol

from twisted.internet import task

__all__ = ["cancel_pending", "every", "GuardedCall"]

log = logging.getLogger("confcall.clock")

_REPEAT_LOG_S = 60.0  # while a periodic function keeps failing: one log line a minute


class GuardedCall:
    """``fn`` wrapped so that an exception is logged and counted instead of propagating."""

    def __init__(self, clock: Any, fn: Callable[[], None], name: str) -> None:
        self.clock = clock
        self.fn = fn
        self.name = name
        self.failures = 0  # ever
        self.failing = 0  # in a row, now
        self._logged_at: float | None = None

    def __call__(self) -> None:
        try:
            self.fn()
        except Exception as e:  # noqa: BLE001 - logged; the next period runs again
            self.failures += 1
            self.failing += 1
            now = float(self.clock.seconds())
            if self.failing == 1:
                log.exception("periodic %s failed (%s); it runs again next period",
                              self.name, e)
                self._logged_at = now
            elif self._logged_at is None or now - self._logged_at >= _REPEAT_LOG_S:
                log.error("periodic %s still failing: %d time(s) in a row, last: %s",
                          self.name, self.failing, e)
                self._logged_at = now
            return
        if self.failing:
            log.warning("periodic %s recovered after %d failure(s)", self.name, self.failing)
            self.failing = 0
            self._logged_at = None


def _name_of(fn: Callable[..., Any]) -> str:
    owner = getattr(fn, "__self__", None)
    base = getattr(fn, "__qualname__", None) or repr(fn)
    label = getattr(owner, "name", None) if owner is not None else None
    return f"{base} ({label})" if isinstance(label, str) and label else base


def every(clock: Any, period: float, fn: Callable[[], None], *,
          catch_up: bool = False, name: str = "") -> task.LoopingCall:
    """Start calling ``fn`` every ``period`` seconds on ``clock`` (first call after one period).

    An exception from ``fn`` is logged (see the module doc) and the loop goes on.
    ``catch_up``: when the reactor was late, call ``fn`` once per missed period too — what a
    hardware frame clock does; otherwise missed periods are skipped, as LoopingCall does.
    The returned loop's ``guard`` holds the failure counts.
    """
    guard = GuardedCall(clock, fn, name or _name_of(fn))
    if catch_up:
        loop = task.LoopingCall.withCount(lambda n: [guard() for _ in range(n)])
    else:
        loop = task.LoopingCall(guard)
    loop.clock = clock
    loop.guard = guard  # type: ignore[attr-defined]
    d = loop.start(period, now=False)
    # only a BaseException that is not an Exception (or a bug in the guard) gets here
    d.addErrback(lambda f: log.error("periodic %s stopped: %s", guard.name,
                                     f.getTraceback()))
    return loop


class DelayedCall(Protocol):
    """What ``cancel_pending`` needs of a ``reactor.callLater`` result (``IDelayedCall``)."""

    def active(self) -> bool: ...

    def cancel(self) -> None: ...


def cancel_pending(call: DelayedCall | None) -> None:
    """Cancel ``call`` if it is still due; do nothing if it is None, already ran or was
    cancelled.  Twisted's ``cancel()`` raises on a call that ran or was cancelled, so every
    timer that is re-armed or stopped needs this same check; one place keeps it."""
    if call is not None and call.active():
        call.cancel()
