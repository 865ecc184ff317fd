"""The scheduler's own state writes survive a database outage (issue 13, fleet).

A booked conference runs on a box on PostgreSQL (a private cluster: this test stops it). The
server goes away mid-conference; meanwhile the initiator hangs up and the conference ends,
and the box's lease renewals fall due. The booking's state writes (the end of the booking,
its attempts' ends, the renewals) wait in the box's ordered, retried write queue with the
money and record writes, and land once the server is back: the booking is ``done`` with its
outcome, its lease released, every attempt closed. (Before, ``finish`` was one plain DB call:
it failed during the outage and the booking stayed ``in_progress`` for ever, its lease lapsed,
for another box to take over and ring the initiator again.)
"""

import pytest

from confcall.booking import BookingState, get_any
from tests.conference.box_harness import NOW, Box
from tests.pgcluster import private_database

from helpers import booked_call_talking
from two_boxes import prepare_db

A, B = "13800138000", "15000150000"  # mobile blocks prepare_db seeds (138…, 150…)
FAST = {"box_id": "box-a", "booking_lease_s": 6.0, "booking_poll_s": 1.0,
        "booking_claim_ahead_s": 3.0}


@pytest.fixture
def private_pg():
    with private_database(prepare_db) as cluster_and_url:
        yield cluster_and_url


def test_booking_state_writes_wait_out_a_database_outage(private_pg, tmp_path):
    cluster, url = private_pg
    bx = Box(tmp_path, db_url=url, config_overrides=FAST)
    try:
        a, b, v = booked_call_talking(bx, A, B, NOW)
        assert bx.store.run(get_any, v.id).state is BookingState.IN_PROGRESS

        cluster.halt()  # the database goes away; the conference goes on, then ends
        bx.run(3)
        bx.switch.hangup(a.last, 16)
        assert bx.run_until(lambda: b.last.ended, 10)
        bx.run(25)  # several renewal periods (lease_s / 3 = 2 s) and the lease itself
        writes = bx.daemon.writes
        assert writes.failing and writes.pending() >= 3  # the booking's end among them
        assert bx.daemon.scheduler.live == {}  # the booking is over here

        cluster.resume()
        assert bx.run_until(writes.idle, 60)
        got = bx.store.run(get_any, v.id)
        assert got.state is BookingState.DONE and got.outcome == "conference ended"
        assert got.lease_box is None and got.lease_until is None
        assert sorted((x.position, x.attempt_no, str(x.result), x.ended_at is not None)
                      for x in got.attempts) == [(0, 1, "answered", True),
                                                 (1, 1, "answered", True)]
        assert len(a.calls) == 1 and len(b.calls) == 1  # nobody rung again
        bx.run(10)  # polls after the outage: the box does not take its own booking back
        assert len(a.calls) == 1 and bx.store.run(get_any, v.id).state is BookingState.DONE
    finally:
        bx.close()
