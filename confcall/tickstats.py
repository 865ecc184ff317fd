"""How long the media engine's ticks take, kept without allocating in the media thread.

Why: a 20 ms tick that takes longer than 20 ms is an audible gap on every call of the box,
and a media thread that stops ticking is a box that must be restarted. The media thread
writes one float per tick into a preallocated ring; the reactor reads percentiles for the
metrics and the age of the last tick for the systemd watchdog.
"""
from __future__ import annotations

import time

import numpy as np

__all__ = ["TickStats", "TICK_BUDGET_S"]

TICK_BUDGET_S = 0.020  # one DAHDI block of 160 samples at 8 kHz


class TickStats:
    """A ring of the last ``size`` tick durations (seconds), the tick and overrun counts, and
    the monotonic time of the last tick. One writer (the media thread), readers anywhere."""

    def __init__(self, size: int = 3000) -> None:  # 3000 ticks = the last minute
        self._ring = np.zeros(size, dtype=np.float64)
        self.ticks = 0
        self.overruns = 0
        self.last_tick = 0.0  # time.monotonic() of the last finished tick (0: none yet)
        self._started = 0.0

    def begin(self) -> None:
        self._started = time.perf_counter()

    def end(self) -> None:
        took = time.perf_counter() - self._started
        self._ring[self.ticks % len(self._ring)] = took
        self.ticks += 1
        if took > TICK_BUDGET_S:
            self.overruns += 1
        self.last_tick = time.monotonic()

    def quantiles(self, *qs: float) -> list[float]:
        """Tick durations at these quantiles over the ring (zeros before the first tick)."""
        n = min(self.ticks, len(self._ring))
        if n == 0:
            return [0.0 for _ in qs]
        return [float(v) for v in np.quantile(self._ring[:n], qs)]

    def stalled(self, limit_s: float, now: float | None = None) -> bool:
        """True when ticks have started and none finished in the last ``limit_s`` seconds."""
        if self.ticks == 0:
            return False
        return (time.monotonic() if now is None else now) - self.last_tick > limit_s
