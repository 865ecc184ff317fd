"""Periodic work on an injected reactor (the real one, or a ``task.Clock`` in tests)."""
from __future__ import annotations

from typing import Any, Callable

from twisted.internet import task

__all__ = ["every"]


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
