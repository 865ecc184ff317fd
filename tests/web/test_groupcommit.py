"""Group commit through the real thread pool: bookings arriving together share one
transaction, a refused one rolls back alone, and every answer comes after the commit."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from twisted.internet import defer

from confcall.booking import BookingLimits
from confcall.store.inline import InlineRunner
from confcall.store.models import Booking
from confcall.web import booking_port
from confcall.web.groupcommit import GroupCommit

from .conftest import NOW, A


class HeldRunner(InlineRunner):
    """The inline runner, but a unit's answer waits until the test releases it: what a real
    pool does while the disk flushes (the batch behind it keeps growing)."""

    def __init__(self, store) -> None:
        super().__init__(store)
        self.held: list[defer.Deferred] = []

    def call(self, fn, *args, **kwargs):
        done = super().call(fn, *args, **kwargs)
        later: defer.Deferred = defer.Deferred()
        self.held.append(later)
        later.addCallback(lambda _: done)
        return later


def test_units_arriving_during_a_commit_share_the_next_one(world):
    runner = HeldRunner(world.store)
    group = GroupCommit(runner)
    limits = BookingLimits()
    results = []

    def book(minutes, participants=("13900139000",)):
        start = NOW + timedelta(hours=2, minutes=minutes)
        d = group.submit(booking_port.book, A, A, list(participants), start, 1, 60, False,
                         NOW, limits)
        d.addBoth(results.append)

    book(0)  # goes at once
    book(1)
    book(2, ("13900139000", "13900139000"))  # refused: a duplicate
    book(3)
    assert group.batches == 1 and len(runner.held) == 1
    runner.held[0].callback(None)
    assert group.batches == 2, "the three waiting units went together"
    assert len(results) == 1 and results[0]["state"] == "booked"
    runner.held[1].callback(None)
    assert [r["state"] if isinstance(r, dict) else r.value.key for r in results] == [
        "booked", "booked", "number.duplicate", "booked"]
    with world.store.transaction() as s:
        starts = [b.start_at.minute for b in s.scalars(select(Booking).order_by(Booking.id))]
    assert starts == [0, 1, 3]
