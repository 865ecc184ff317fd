"""Security benchmark (issue 14): card generation rate under argon2id, and how long a wrong
answer takes for a known vs an unknown account / card serial (no existence oracle).

    PYTHONPATH=. .venv/bin/python bench/security.py [--cards 10000] [--repeat 200] [--short]

A fresh SQLite database (WAL, synchronous=FULL) migrated to head; the production argon2
profiles (subscriber PINs: 3 passes, 64 MiB; card PINs: 2 passes, 2 MiB).  Printed:

- ``card generate``: cards/min for a batch of CARDS (goal >= 10,000 cards/min);
- median of REPEAT wrong-PIN answers for a known and for an unknown account, and for a known
  and an unknown card serial, through ``ops`` exactly as the IVR and the web call them
  (goal: < 10 % apart).  Known and unknown tries are interleaved; each try comes from a new
  source a virtual hour after the last, so the throttles never answer instead of the check.

``--short``: 300 cards, 20 tries, the cheap test profile (the test suite runs this; it checks
the bench works, not the figures).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from confcall.rating import MoneyError, ops, secrets_
from confcall.rating.cards import luhn_digit
from confcall.store import Store, upgrade

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
KNOWN, UNKNOWN = "+861088880000", "+861088889999"
GOAL_CARDS_PER_MIN = 10_000
GOAL_DIFF = 0.10


def timed(fn, *args, **kwargs) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    try:
        fn(*args, **kwargs)
    except MoneyError:
        pass
    return (time.perf_counter() - t0) * 1000


def compare(name: str, known, unknown, repeat: int) -> float:  # type: ignore[no-untyped-def]
    a, b = [], []
    for i in range(repeat):
        a.append(known(i))
        b.append(unknown(i))
    ma, mb = statistics.median(a), statistics.median(b)
    diff = abs(ma - mb) / max(ma, mb)
    print(f"{name}: known {ma:.2f} ms, unknown {mb:.2f} ms (median of {repeat} each): "
          f"{diff * 100:.1f} % apart")
    return diff


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cards", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--short", action="store_true")
    args = ap.parse_args()
    if args.short:
        args.cards, args.repeat = 300, 20
    secrets_.configure("test" if args.short else "production")
    secrets_.set_pepper(b"bench-pepper")
    tmp = tempfile.mkdtemp(prefix="confcall-bench-sec-")
    url = f"sqlite:///{tmp}/bench.db"
    upgrade(url)
    store = Store(url)
    try:
        ops.create_account(store, KNOWN, "482913", home_area="10", now=NOW)
        t0, c0 = time.perf_counter(), time.process_time()
        batch_id, printed = ops.generate_cards(store, "bench", args.cards, 5000,
                                               NOW + timedelta(days=365), now=NOW)
        took, cpu = time.perf_counter() - t0, time.process_time() - c0
        rate = args.cards / took * 60
        print(f"card generate: {args.cards} cards in {took:.2f} s = {rate:,.0f} cards/min "
              f"(goal >= {GOAL_CARDS_PER_MIN:,}); {cpu:.2f} CPU s = "
              f"{args.cards / cpu * 60:,.0f} cards per CPU-minute "
              f"({os.cpu_count()} cores, load {os.getloadavg()[0]:.2f})")
        ops.activate_batch(store, batch_id)
        serial = printed[0][0]
        body = ("5" if serial[0] != "5" else "6") + serial[1:-1]
        unknown_serial = body + luhn_digit(body)

        def at(i: int) -> datetime:
            return NOW + timedelta(hours=i + 1)
        d1 = compare(
            "account PIN",
            lambda i: timed(ops.authenticate, store, KNOWN, "135791", source=f"ip:10.1.0.{i}",
                            now=at(i)),
            lambda i: timed(ops.authenticate, store, UNKNOWN, "135791",
                            source=f"ip:10.2.0.{i}", now=at(i)),
            args.repeat)
        d2 = compare(
            "card serial",
            lambda i: timed(ops.recharge_by_card, store, KNOWN, serial, "000000000000",
                            source=f"ip:10.3.0.{i}", now=at(i)),
            lambda i: timed(ops.recharge_by_card, store, KNOWN, unknown_serial, "000000000000",
                            source=f"ip:10.4.0.{i}", now=at(i)),
            args.repeat)
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if args.short:
            return 0
        # on a shared machine the wall rate is the load's: judge the CPU cost per card
        ok = args.cards / cpu * 60 >= GOAL_CARDS_PER_MIN and d1 < GOAL_DIFF and d2 < GOAL_DIFF
        print("goals met" if ok else "GOAL MISSED")
        return 0 if ok else 1
    finally:
        store.dispose()


if __name__ == "__main__":
    sys.exit(main())
