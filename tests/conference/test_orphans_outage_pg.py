"""A box cut off from the database reaps nobody until it has reached it again for a whole
``dead_after_s`` (issue 13, fleet; docs/fleet.md "Never too early").

Box B's fleet watch (``confcall.fleet.FleetWatch``) runs on the real DB thread pool in virtual
time, against PostgreSQL through a TCP relay that the test cuts. Box X's last heartbeat is old
enough to call it dead at once, but B was away itself: its own heartbeats failed, so it cannot
know that X did not write one meanwhile. B waits ``dead_after_s`` from its first heartbeat
after the cut, then reaps X once; box B never reaps itself.
"""
from datetime import timedelta

import pytest

from confcall.fleet import FleetPolicy, FleetWatch, heartbeat
from confcall.sim.threads import CountingPool, ThreadedClock
from confcall.store import Store, upgrade
from confcall.store.runner import DbRunner
from tests.booking.tcp_cut import TcpCut
from tests.pgcluster import pg_cluster  # noqa: F401

from box_harness import NOW

POLICY = FleetPolicy(heartbeat_s=5.0, dead_after_s=30.0)


@pytest.fixture
def relayed(pg_cluster):  # noqa: F811
    name = pg_cluster.new_database()
    url = pg_cluster.url(name)
    upgrade(url)  # the schema is all the fleet needs
    relay = TcpCut(pg_cluster.port)
    yield url, relay, relay.url(name)
    relay.close()


def test_no_reaping_until_connected_again_for_dead_after_s(relayed):
    url, relay, via_relay = relayed
    direct = Store(url)
    direct.run(heartbeat, box="box-x", now=NOW - timedelta(hours=1), started=True)
    pool = CountingPool(1, 4)
    clock = ThreadedClock(pool)
    store = Store(via_relay)
    pool.start()
    watch = FleetWatch(clock, DbRunner(store, clock, pool=pool), box="box-b",
                       now=lambda: NOW + timedelta(seconds=clock.seconds()), policy=POLICY,
                       say=lambda text: None)
    try:
        watch.start()
        clock.settle()
        assert watch.connected_since == NOW
        relay.cut()
        for _ in range(40):  # 40 s away: longer than dead_after_s
            clock.advance(1.0)
        assert watch.connected_since is None and watch.reaped == []
        relay.restore()
        for _ in range(25):  # back, but not yet for dead_after_s
            clock.advance(1.0)
        back = watch.connected_since
        assert back is not None and back > NOW + timedelta(seconds=40)
        assert watch.reaped == []
        for _ in range(20):
            clock.advance(1.0)
        assert [box for box, _ in watch.reaped] == ["box-x"]
        for _ in range(20):
            clock.advance(1.0)
        assert len(watch.reaped) == 1  # once; never box-b itself
    finally:
        watch.stop()
        clock.settle()
        pool.stop()
        store.dispose()
        direct.dispose()
