"""A box cut off from the database longer than the lease, while its booked conference runs,
takes the booking back when it reconnects (issue 13, fleet; docs/fleet.md).

Box A (box-a, the whole daemon on the simulated span) serves a booked conference on PostgreSQL
through a TCP relay; box B (box-b) is on the same server directly. The relay is cut (a network
partition of box A only) for longer than the lease: the conference goes on on A, while B takes
the booking over as a box lost mid-call and means to redial the initiator, who is in A's
conference. When A reconnects, its queued lease renewal tells it that it lost the lease; as B
has not reached the initiator, A takes the booking back: ``in_progress`` with A's conference,
A's attempts open again, B rings nobody. When the initiator hangs up the booking is ``done``.

One simulated card per process: box B is its scheduler with the simulated phone network at
the dialer seam (simnet.py, a ring log), on its own clock stepped in turn with A's.
"""
from datetime import timedelta

import pytest
from twisted.internet.task import Clock

from confcall.booking import BookingState, get_any
from confcall.booking.scheduler import BookingScheduler, SchedulerPolicy
from confcall.store import Store
from confcall.store.inline import InlineRunner
from tests.conference.box_harness import NOW, Box

from helpers import booked_call_talking
from simnet import RingLog, SimNetwork, read_rings
from tcp_cut import TcpCut
from two_boxes import prepare_db

A, B = "13800138000", "15000150000"
FAST = {"booking_lease_s": 6.0, "booking_poll_s": 1.0, "booking_claim_ahead_s": 3.0}


@pytest.fixture
def pg_url(pg_cluster):
    name = pg_cluster.new_database()
    url = pg_cluster.url(name)
    prepare_db(url)
    relay = TcpCut(pg_cluster.port)
    yield url, relay, relay.url(name)
    relay.close()


class SchedulerBox:
    """Box B: the booking scheduler on the simulated phone network, on its own clock."""

    def __init__(self, url: str, epoch, rings) -> None:
        self.clock = Clock()
        self.store = Store(url)
        self.rings = str(rings)
        net = SimNetwork(self.clock, RingLog(self.rings, "box-b"), answer_after=1.0,
                         talk_s=600.0)
        self.scheduler = BookingScheduler(
            self.clock, InlineRunner(self.store), net, box="box-b",
            now=lambda: epoch + timedelta(seconds=self.clock.seconds()),
            policy=SchedulerPolicy(poll_s=1.0, lease_s=6.0, claim_ahead_s=3.0))
        self.scheduler.start()

    def run(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def close(self) -> None:
        self.scheduler.stop()
        self.store.dispose()


def both(a: Box, b: SchedulerBox, seconds: float, step: float = 0.5) -> None:
    """Run both boxes for ``seconds`` of the same timeline, in turns of ``step``."""
    for _ in range(round(seconds / step)):
        a.run(step)
        b.run(step)


def test_box_cut_off_past_its_lease_takes_its_running_booking_back(pg_url, tmp_path):
    url, relay, relayed = pg_url
    ba = Box(tmp_path, db_url=relayed, config_overrides={"box_id": "box-a", **FAST})
    bb = None
    try:
        a, b, v = booked_call_talking(ba, A, B, NOW)
        bb = SchedulerBox(url, NOW + timedelta(seconds=ba.clock.now), tmp_path / "rings.log")

        relay.cut()  # box A alone loses the database, for longer than the lease
        both(ba, bb, 12)
        taken = bb.store.run(get_any, v.id)
        assert taken.lease_box == "box-b" and taken.state is BookingState.DIALING
        assert "box-a was lost mid-call" in taken.outcome
        assert a.last.connected and b.last.connected  # the conference goes on on A

        relay.restore()
        both(ba, bb, 40)  # past B's redial time (the retry interval after attempt 1)
        got = bb.store.run(get_any, v.id)
        assert got.state is BookingState.IN_PROGRESS and got.lease_box == "box-a"
        assert "taken back from box-b" in got.outcome
        assert read_rings(bb.rings) == [], "box B never rang anyone"
        assert bb.scheduler.live == {}
        assert sorted((x.position, x.attempt_no, x.box, str(x.result), x.ended_at is None)
                      for x in got.attempts) == [(0, 1, "box-a", "answered", True),
                                                 (1, 1, "box-a", "answered", True)]
        assert a.last.connected and b.last.connected

        ba.switch.hangup(a.last, 16)
        assert ba.run_until(lambda: b.last.ended, 10)
        assert ba.run_until(ba.daemon.writes.idle, 10)
        done = ba.store.run(get_any, v.id)
        assert done.state is BookingState.DONE and done.lease_box is None
        assert all(x.ended_at is not None for x in done.attempts)
        assert len(a.calls) == 1 and len(b.calls) == 1
    finally:
        if bb is not None:
            bb.close()
        ba.close()
