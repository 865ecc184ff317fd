"""Booking scheduler benchmark: claims per second (a due booking claimed with a lease and
loaded with its participants and attempts: what a box does before it can dial it).

    PYTHONPATH=. .venv/bin/python bench/scheduler.py [--bookings 20000] [--batch 100] [--short]

For SQLite (WAL, synchronous=FULL, BEGIN IMMEDIATE) and a throwaway PostgreSQL (durable
commits; FOR UPDATE SKIP LOCKED), with 1 and 4 boxes: each box is its own process running
``leases.claim_due`` in a loop until nothing is due. Every booking must be claimed exactly once
(checked). Goal: >= 2,000 claims/s on PostgreSQL with 4 boxes.

``--short``: 1,000 bookings, SQLite only (the test suite runs this).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "booking"))

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _box(url: str, box: str, batch: int, go: mp.Event, out: mp.Queue) -> None:
    from confcall.booking.leases import claim_due
    from confcall.store import Store
    store = Store(url)
    ids: list[int] = []
    go.wait()
    last = time.monotonic()  # system-wide clock: comparable across the processes
    while True:
        due = store.run(claim_due, box=box, now=NOW, ahead_s=10.0, lease_s=600.0,
                        grace_s=10**7, limit=batch)
        if not due:
            break
        ids += [d.id for d in due]
        last = time.monotonic()
    out.put((box, ids, last))
    store.dispose()


def _seed(url: str, n: int) -> None:
    from confcall.rating import secrets_
    from confcall.store import Store
    from due import seed_due
    secrets_.configure("test")
    secrets_.set_pepper(b"bench-pepper")
    store = Store(url)
    seed_due(store, n, start=NOW - timedelta(seconds=30), spread_s=30.0, participants=2,
             now=NOW - timedelta(minutes=5))
    # the planner's statistics, as autovacuum (PostgreSQL) would have them for a table that
    # grew by a day's bookings; without them a bulk-loaded table is planned as empty
    from sqlalchemy import text
    with store.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    store.dispose()


def run(engine: str, url_for, n: int, boxes: int, batch: int) -> float:
    url = url_for()
    _seed(url, n)
    ctx = mp.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_box, args=(url, f"bench-{k}", batch, go, out))
             for k in range(boxes)]
    for p in procs:
        p.start()
    time.sleep(1.0)  # every box connected and importing done before the clock starts
    t0 = time.monotonic()
    go.set()
    results = [out.get(timeout=600) for _ in procs]
    wall = max(last for _, _, last in results) - t0  # until the last booking was claimed
    for p in procs:
        p.join()
    claimed = [i for _, ids, _ in results for i in ids]
    if len(claimed) != n or len(set(claimed)) != n:
        raise SystemExit(f"{engine}: {len(claimed)} claims of {n} bookings, "
                         f"{len(set(claimed))} distinct: a booking claimed twice or missed")
    rate = n / wall
    split = " ".join(f"{len(ids)}" for _, ids, _ in sorted(results))
    print(f"{engine:10s} {boxes} box(es): {n} bookings claimed in {wall:.2f} s = "
          f"{rate:,.0f} claims/s (per box: {split}; batch {batch})", flush=True)
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bookings", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=500,
                    help="bookings per claim transaction (the scheduler's default: 500)")
    ap.add_argument("--short", action="store_true", help="1,000 bookings, SQLite only (CI)")
    ap.add_argument("--engine", choices=("both", "sqlite", "postgresql"), default="both")
    args = ap.parse_args()
    n = 1000 if args.short else args.bookings
    if n < 1 or args.batch < 1:
        raise SystemExit("--bookings and --batch must be >= 1")
    tmp = Path(tempfile.mkdtemp(prefix="confcall-bench-sched-"))
    counter = iter(range(100))

    from tests.pgcluster import prepare  # migrated, areas and the default plan seeded

    def sqlite_url() -> str:
        url = f"sqlite:///{tmp / f'sched{next(counter)}.db'}"
        prepare(url)
        return url

    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}", flush=True)
    if args.engine != "postgresql":
        for boxes in (1, 4):
            run("sqlite", sqlite_url, n, boxes, args.batch)
    if args.short or args.engine == "sqlite":
        return
    from tests.pgcluster import PgCluster
    cluster = PgCluster(durable=True)
    cluster.start()
    try:
        def pg_url() -> str:
            url = cluster.url(cluster.new_database())
            prepare(url)
            return url
        rates = {boxes: run("postgresql", pg_url, n, boxes, args.batch) for boxes in (1, 4)}
    finally:
        cluster.stop()
    verdict = "met" if rates[4] >= 2000 else "NOT met"
    print(f"goal >= 2,000 claims/s on PostgreSQL with 4 boxes: {verdict} ({rates[4]:,.0f})")
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}", flush=True)


if __name__ == "__main__":
    main()
