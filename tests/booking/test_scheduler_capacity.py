"""A box claims no more bookings than its B-channels can serve at once (``max_live``
channels, each booking holding its initiator and participants): the rest stay in the pool
for other boxes, and it takes them itself as its calls end. Real store (both
engines), the scheduler on a ``task.Clock``, phones = the simulated network (simnet.py)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from twisted.internet.task import Clock

from confcall.booking.scheduler import BookingScheduler, SchedulerPolicy
from confcall.store.inline import InlineRunner
from confcall.store.models import Booking
from tests.booking.helpers import NOW

from due import seed_due
from simnet import RingLog, SimNetwork, read_rings


def test_a_box_claims_only_what_it_can_serve(store, tmp_path):
    """5 channels, 2 per booking (initiator + 1 participant): two bookings at a time."""
    clock = Clock()
    ids = seed_due(store, 5, start=NOW + timedelta(seconds=5), spread_s=0.0, now=NOW)
    rings = tmp_path / "rings.log"
    net = SimNetwork(clock, RingLog(str(rings), "box-1"), answer_after=1.0, talk_s=20.0)
    sched = BookingScheduler(clock, InlineRunner(store), net, box="box-1",
                             now=lambda: NOW + timedelta(seconds=clock.seconds()),
                             policy=SchedulerPolicy(poll_s=1.0, lease_s=30.0,
                                                    claim_ahead_s=5.0, max_live=5))
    sched.start()

    def held() -> int:
        with store.transaction() as s:
            return s.scalar(select(func.count()).select_from(Booking).where(
                Booking.lease_box == "box-1"))
    clock.advance(1.0)
    assert held() == 2 and len(sched.live) == 2
    for _ in range(10):
        clock.advance(1.0)
    assert held() == 2, "still busy: the other three stay in the pool"
    assert len({b for _, b, n in read_rings(str(rings)) if n.startswith("130")}) == 2
    for _ in range(60):
        clock.advance(1.0)
    with store.transaction() as s:
        states = s.scalars(select(Booking.state).where(Booking.id.in_(ids))).all()
    assert sorted(states) == ["done"] * 5
    assert len([r for r in read_rings(str(rings)) if r[2].startswith("130")]) == 5
    sched.stop()
