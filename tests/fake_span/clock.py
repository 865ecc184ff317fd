"""The media clock: the span's 20 ms tick, in virtual time (tests) or real time (demo).

Why one clock drives everything: on a real card the span's frame clock paces the audio, and
call-control timers run on the reactor. Here each tick (1) lets the card release one block per
channel, (2) runs whatever hooks were registered (the media engine's step, simulated phones),
then (3) advances a Twisted ``task.Clock`` by 20 ms, so timers fire in the same virtual time.
Tests run minutes of calls in seconds, deterministically; no test ever sleeps.
"""
from __future__ import annotations

from typing import Callable

from twisted.internet import task

__all__ = ["VirtualMediaClock", "TICK_S", "TICK_MS"]

TICK_MS = 20
TICK_S = TICK_MS / 1000.0


class VirtualMediaClock:
    """Drive ``card.tick`` and a ``task.Clock`` together, as fast as the CPU allows."""

    def __init__(self, card: object | None = None, reactor: task.Clock | None = None) -> None:
        self.card = card
        self.reactor = reactor if reactor is not None else task.Clock()
        self.ticks = 0
        self._hooks: list[Callable[[], None]] = []

    @property
    def now(self) -> float:
        """Seconds of virtual time since start."""
        return self.ticks * TICK_S

    def add_hook(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` once per tick, after the card released its blocks."""
        self._hooks.append(hook)

    def remove_hook(self, hook: Callable[[], None]) -> None:
        self._hooks.remove(hook)

    def tick(self) -> None:
        if self.card is not None:
            self.card.tick()  # type: ignore[attr-defined]
        for hook in list(self._hooks):
            hook()
        self.ticks += 1
        self.reactor.advance(TICK_S)

    def run(self, seconds: float) -> None:
        for _ in range(max(1, round(seconds / TICK_S))):
            self.tick()

    def run_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Tick until ``predicate()`` holds; False if ``timeout`` virtual seconds pass first."""
        limit = self.ticks + round(timeout / TICK_S)
        while self.ticks < limit:
            if predicate():
                return True
            self.tick()
        return predicate()
