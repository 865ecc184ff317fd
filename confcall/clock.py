"""Periodic work on an injected reactor (the real one, or a ``task.Clock`` in tests)."""
from __future__ import annotations

from typing import Any, Callable, Protocol

from twisted.internet import task

__all__ = ["cancel_pending", "every"]


def every(clock: Any, period: float, fn: Callable[[], None], *,
          catch_up: bool = False) -> task.LoopingCall:
    """Start calling ``fn`` every ``period`` seconds on ``clock`` (first call after one period).

    ``catch_up``: when the reactor was late, call ``fn`` once per missed period too — what a
    hardware frame clock does; otherwise missed periods are skipped, as LoopingCall does.
    """
    if catch_up:
        loop = task.LoopingCall.withCount(lambda n: [fn() for _ in range(n)])
    else:
        loop = task.LoopingCall(fn)
    loop.clock = clock
    loop.start(period, now=False)
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
