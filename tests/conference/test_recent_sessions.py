"""The box's lists of conferences and callbacks (``CallbackService.sessions``/``jobs``) keep
every live one and the ended ones for ten minutes: bounded under steady load by time, where the
former ``deque(maxlen=2000)`` grew for 80 minutes of a loaded box (the soak's creeping RSS)
and could push out a conference still running (then missing from ``conferences`` and not ended
at shutdown). Issue 13 (soak)."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from twisted.internet import task

from confcall.recent import RecentlyEnded


@dataclass(eq=False)
class Item:
    name: str
    ended: bool = False


def names(r: RecentlyEnded) -> list[str]:
    return [x.name for x in r]


def test_ended_items_leave_after_keep_s_live_ones_never():
    clock = task.Clock()
    r: RecentlyEnded[Item] = RecentlyEnded(clock, lambda x: x.ended, keep_s=600.0)
    long_call, short = Item("long"), Item("short")
    r.append(long_call)
    r.append(short)
    clock.advance(60)
    short.ended = True
    r.append(Item("c"))  # first seen ended now (t=60)
    clock.advance(600)
    r.append(Item("d"))
    assert names(r) == ["long", "short", "c", "d"]  # 600 s since seen ended: still kept
    clock.advance(1)
    r.append(Item("e"))
    assert names(r) == ["long", "c", "d", "e"]
    clock.advance(5 * 3600)  # a conference live for hours stays listed
    r.append(Item("f"))
    assert names(r)[0] == "long" and r[0] is long_call and r[-1].name == "f"


def test_steady_churn_stays_bounded():
    """A conference every 2 s for 3 hours, each over after 5 minutes: the list holds what
    ended in the last 10 minutes plus the live ones, not the 5400 ever appended."""
    clock = task.Clock()
    r: RecentlyEnded[Item] = RecentlyEnded(clock, lambda x: x.ended, keep_s=600.0)
    live: list[tuple[float, Item]] = []
    sizes = []
    for i in range(5400):
        clock.advance(2)
        for t, it in live:
            if clock.seconds() - t >= 300:
                it.ended = True
        live = [(t, it) for t, it in live if not it.ended]
        item = Item(str(i))
        live.append((clock.seconds(), item))
        r.append(item)
        sizes.append(len(r))
    assert max(sizes[-1000:]) <= (300 + 600) // 2 + 2
    assert max(sizes[-1000:]) - min(sizes[-1000:]) <= 2


def test_count_bound_drops_oldest_ended_only():
    clock = task.Clock()
    r: RecentlyEnded[Item] = RecentlyEnded(clock, lambda x: x.ended, max_ended=2)
    items = [Item(str(i), ended=i != 1) for i in range(5)]
    for it in items:
        r.append(it)
    r.prune()
    assert names(r) == ["1", "3", "4"]
    assert list(reversed(r))[0].name == "4" and len(r) == 3


def test_bad_bounds_refused():
    with pytest.raises(ValueError, match="keep_s"):
        RecentlyEnded(task.Clock(), bool, keep_s=-1)
