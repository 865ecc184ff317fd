"""How many channels booked conferences need at once: a sweep over their time windows.

Pure (no I/O): the service reads the bookings that overlap a new one's window and asks
``peak_channels`` for the busiest instant inside it; the new booking fits when that peak plus
its own channels (initiator + participants) stays within the capacity.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

__all__ = ["peak_channels"]


def peak_channels(start: datetime, end: datetime,
                  others: Iterable[tuple[datetime, datetime, int]]) -> int:
    """The most channels that ``others`` (start, end, channels; half-open windows) hold at any
    instant of ``[start, end)``."""
    load = 0
    changes: list[tuple[datetime, int]] = []
    for s, e, ch in others:
        if s >= end or e <= start:
            continue
        if s <= start:
            load += ch
        else:
            changes.append((s, ch))
        if e < end:
            changes.append((e, -ch))
    peak = load
    # at the same instant an end frees its channels before a start takes them
    for _, delta in sorted(changes, key=lambda c: (c[0], c[1])):
        load += delta
        peak = max(peak, load)
    return peak
