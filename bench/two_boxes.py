"""Two boxes on one PostgreSQL, 500 bookings due in the same minute, one box killed mid-run.

    PYTHONPATH=. .venv/bin/python bench/two_boxes.py [--bookings 500] [--spans 1]

Issue 12's acceptance run at full size (the suite runs the same run with 40 bookings:
tests/booking/test_two_boxes_pg.py, which holds the rules checked here). Each box is a real
process running the real daemon on its own simulated card, with its own switch and
subscribers; the two share one virtual clock stepped by the conductor
(tests/booking/two_boxes.py). Box A is shot with SIGKILL once its subscribers have had a
quarter of the bookings' rings; box B takes over its leases and redials the conferences that
died with it. Prints the rings per box, the takeovers, the redials, the final states, virtual
and wall time, and the load average; exits 1 if any rule was broken (a phone rang twice for
one attempt, a ring without an attempt row, a booking not done).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "booking")]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bookings", type=int, default=500)
    ap.add_argument("--spans", type=int, default=1, help="E1 spans per box")
    args = ap.parse_args()
    if args.bookings < 8 or args.spans < 1:
        raise SystemExit("--bookings must be >= 8 and --spans >= 1")
    from test_two_boxes_pg import check
    from two_boxes import prepare_db, run_two_boxes, summary

    from tests.pgcluster import PgCluster
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}", flush=True)
    cluster = PgCluster(durable=True)
    cluster.start()
    try:
        url = cluster.url(cluster.new_database())
        prepare_db(url)
        run = run_two_boxes(url, Path(tempfile.mkdtemp(prefix="confcall-two-boxes-")),
                            args.bookings, kill_after=args.bookings // 4, spans=args.spans,
                            start_timeout_s=3600.0)
    finally:
        cluster.stop()
    print(summary(run))
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}", flush=True)
    try:
        check(run)
    except AssertionError as e:
        print(f"RULE BROKEN: {e}")
        return 1
    print("every booking dialled, none twice for one attempt: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
