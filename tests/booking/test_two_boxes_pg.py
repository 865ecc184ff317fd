"""Two boxes on one PostgreSQL: 500 bookings due in the same minute are each dialled once;
one box is killed (SIGKILL) mid-run, the other takes over its leases, and no phone rings
twice for one attempt.

Each box is its own process (tests/booking/scheduler_worker.py): the real scheduler, DB
thread pool and reactor, in real time; phones are the simulated network at the scheduler's
seam (simnet.py), which logs every ring to a file both processes append to."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from confcall.store import Store
from confcall.store.models import Booking, BookingAttempt
from tests.pgcluster import template

from due import seed_due
from simnet import read_rings

N = 500
WORKER = Path(__file__).with_name("scheduler_worker.py")


@pytest.fixture
def pg_url(pg_cluster):
    name = pg_cluster.new_database(template("postgresql", lambda: pg_cluster))
    yield pg_cluster.url(name)
    pg_cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _start(url: str, box: str, ringlog: Path) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, str(WORKER), url, box, str(ringlog)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "ready", p.stderr.read()
    return p


def _wait(pred, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)  # a real-time test: two processes on a real clock


def test_two_boxes_500_bookings_one_killed(pg_url, tmp_path):
    store = Store(pg_url)
    ringlog = tmp_path / "rings.log"
    ringlog.touch()
    now = datetime.now(UTC)
    ids = seed_due(store, N, start=now + timedelta(seconds=6), spread_s=10.0,
                   participants=1, retries=1, retry_interval_s=1, now=now)
    a = _start(pg_url, "box-a", ringlog)
    b = _start(pg_url, "box-b", ringlog)
    try:
        _wait(lambda: sum(1 for r in read_rings(str(ringlog)) if r[0] == "box-a") >= 150,
              60, "box A to ring 150 phones")
        os.kill(a.pid, signal.SIGKILL)
        a.wait()

        def finished() -> bool:
            with store.transaction() as s:
                return s.scalar(select(func.count()).select_from(Booking).where(
                    Booking.state.notin_(["done", "failed"]))) == 0
        _wait(finished, 90, "every booking to be served")
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.terminate()
                p.wait(10)
    rings = read_rings(str(ringlog))
    with store.transaction() as s:
        states = dict(s.execute(select(Booking.id, Booking.state)).all())
        taken = {i for i, n in s.execute(select(Booking.id, Booking.takeovers)) if n}
        attempts = s.execute(select(BookingAttempt.booking_id, BookingAttempt.number,
                                    BookingAttempt.box, BookingAttempt.result)).all()
    store.dispose()
    assert sorted(states) == ids
    rung = Counter((bid, number) for _, bid, number in rings)
    made = Counter((bid, number) for bid, number, _, _ in attempts)
    # no phone rang without its attempt row, nor twice for one attempt
    assert all(rung[k] <= made[k] for k in rung), [k for k in rung if rung[k] > made[k]]
    # every booking's initiator was called; those no box lost were called exactly once
    by_box = Counter(box for box, _, _ in rings)
    assert by_box["box-a"] >= 150 and by_box["box-b"] > 0
    assert taken, "box B took over box A's leases"
    lost = taken | {bid for bid, _, _, result in attempts if result == "lost"}
    for bid in ids:
        initiator = [n for (i, n) in rung if i == bid and n.startswith("130")]
        assert initiator, f"booking {bid} never dialled"
        if bid not in lost:
            assert all(rung[(bid, n)] == 1 for (i, n) in rung if i == bid), bid
            assert states[bid] == "done", (bid, states[bid])
    once = sum(1 for bid in ids if bid not in lost)
    print(f"rings: {dict(by_box)}; bookings taken over: {len(taken)}; untouched by the kill: "
          f"{once}; states: {dict(Counter(states.values()))}")
    assert once >= N - 100, f"only {once} bookings untouched by the kill"
    assert sum(1 for s in states.values() if s == "done") >= N - len(lost)
