"""OrderedWrites on the real DB thread pool: one call's writes commit in the order they were
handed over, whatever the pool does; a write the database cannot take now is retried (virtual
back-off) with the ones behind it waiting; a refused write is reported and the queue goes on."""
import threading

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from confcall.sim.threads import CountingPool, ThreadedClock
from confcall.store.runner import DbRunner
from confcall.store.writes import OrderedWrites

SLOW = threading.Event()


def _note(session, order, name, wait=False):
    if wait:  # the first write takes its time (a slow disk, a lock): the pool is free meanwhile
        assert SLOW.wait(60.0), "never released"
    session.execute(text("SELECT 1"))
    order.append(name)
    return name


def _release(session):
    SLOW.set()


def make(store):
    pool = CountingPool(1, 4)
    clock = ThreadedClock(pool)
    pool.start()
    return pool, clock, OrderedWrites(DbRunner(store, clock, pool=pool), clock)


def test_one_calls_writes_commit_in_order_on_a_four_thread_pool(store):
    SLOW.clear()
    pool, clock, writes = make(store)
    try:
        order: list[str] = []
        results = []
        for name, wait in (("settle last leg", True), ("close conference", False)):
            writes.call("conf-1", _note, order, name, wait).addCallback(results.append)
        # another conference is not held up by this one; it lets the slow write go
        writes.call("conf-2", _note, order, "other conference").addCallback(
            lambda _: writes.call("conf-2", _release))
        clock.settle()
        assert order == ["other conference", "settle last leg", "close conference"]
        assert results == ["settle last leg", "close conference"] and writes.idle()

        # the same two handed to the pool directly: the close overtakes the settle
        SLOW.clear()
        order.clear()
        writes.runner.call(_note, order, "settle last leg", True)
        writes.runner.call(_note, order, "close conference").addCallback(
            lambda _: writes.runner.call(_release))  # the settle is still slow meanwhile
        clock.settle()
        assert order == ["close conference", "settle last leg"]
    finally:
        pool.stop()


def test_a_write_the_db_cannot_take_is_retried_and_the_rest_wait(store):
    pool, clock, writes = make(store)
    try:
        order: list[str] = []
        down = {"tries": 0}

        def flaky(session):
            down["tries"] += 1
            if down["tries"] <= 3:
                raise OperationalError("INSERT", {}, ConnectionRefusedError("server down"))
            order.append("rated")

        def refused(session):
            raise ValueError("cdr.invalid")

        failures = []
        writes.call("conf-1", flaky)
        writes.call("conf-1", refused).addErrback(lambda f: failures.append(f.type))
        writes.call("conf-1", _note, order, "closed")
        clock.settle()
        assert order == [] and writes.failing and writes.pending() == 3
        clock.advance(0.5)  # back-off: 0.5 s, 1 s, 2 s
        clock.advance(1.0)
        assert order == [] and down["tries"] == 3
        clock.advance(2.0)
        assert order == ["rated", "closed"] and failures == [ValueError]
        assert writes.idle() and not writes.failing and writes.retries == 3
    finally:
        pool.stop()
