"""Live things plus those that ended lately: what the box lists (control socket, shutdown, the
tests and benches) without keeping every conference it ever held.

Why by time and not by count: a box under steady load ends conferences at a steady rate, so a
count-bounded list (the former ``deque(maxlen=2000)``) keeps growing for hours before it
fills (about 80 minutes on 8 fully loaded E1s, each ended conference holding its legs,
members and keypad), which is what the soak bench saw as creeping RSS; and it could push out a
conference still running (a three-hour booked one under a storm of short callbacks), which
then vanished from ``conferences`` and was not ended at shutdown. Here an item is never dropped
while it is live; once ended it is kept ``keep_s`` seconds of reactor time (for the operator
and the tests to read its outcome), and at most ``max_ended`` ended ones in any case.

Pruning happens on ``append`` (the only way the list grows), so it costs nothing per tick.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

__all__ = ["RecentlyEnded"]

T = TypeVar("T")


class RecentlyEnded(Generic[T]):
    """A list of items in the order appended; ``ended(item)`` tells when one is over."""

    def __init__(self, reactor: Any, ended: Callable[[T], bool], *, keep_s: float = 600.0,
                 max_ended: int = 2000) -> None:
        if keep_s < 0 or max_ended < 0:
            raise ValueError("keep_s and max_ended must be >= 0")
        self.reactor = reactor
        self.ended = ended
        self.keep_s = keep_s
        self.max_ended = max_ended
        self._items: list[T] = []
        self._ended_at: dict[int, float] = {}  # id(item) -> when first seen ended

    def append(self, item: T) -> None:
        self.prune()
        self._items.append(item)

    def prune(self) -> None:
        """Drop the items ended more than ``keep_s`` ago, and the oldest ended beyond
        ``max_ended``."""
        now = float(self.reactor.seconds())
        seen = self._ended_at
        keep: list[T] = []
        ended_kept: list[int] = []
        for item in self._items:
            if self.ended(item):
                t = seen.setdefault(id(item), now)
                if now - t > self.keep_s:
                    del seen[id(item)]
                    continue
                ended_kept.append(len(keep))
            keep.append(item)
        excess = len(ended_kept) - self.max_ended
        if excess > 0:
            drop = set(ended_kept[:excess])
            for i in drop:
                seen.pop(id(keep[i]), None)
            keep = [x for i, x in enumerate(keep) if i not in drop]
        self._items = keep

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items))  # a copy: callers may end items while iterating

    def __reversed__(self) -> Iterator[T]:
        return reversed(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: int) -> T:
        return self._items[i]
