"""Money benchmarks: one command, printed figures.

    PYTHONPATH=. .venv/bin/python bench/rating.py [--legs 1000000] [--prefixes 10000] [--short]

1. Bulk rating: LEGS random legs against a PREFIXES-row prefix table (plus class rows), with
   the numpy rater on one core; goal >= 1,000,000 legs/s.
2. Scalar rating (``Plan.charge``) per leg, for comparison.
3. Card redemptions per second (full transaction: lookup, keyed PIN check, conditional claim,
   ledger row, balance) on SQLite (WAL, synchronous=FULL) and on a throwaway PostgreSQL.
4. Leg settlements per second (classify, rate, CDR row, debit) on both engines.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))

import numpy as np

from confcall.rating import ops, secrets_
from confcall.rating.cdr import LegRecord
from confcall.rating.numbers import CLASSES
from confcall.rating.tariff import Plan, RateRow
from confcall.rating.vector import VectorRater

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def make_plan(n_prefixes: int, rnd: random.Random) -> Plan:
    rows = [RateRow(c, rnd.randint(5, 300)) for c in CLASSES[:-1]]
    prefixes: set[str] = set()
    while len(prefixes) < n_prefixes:
        prefixes.add("+" + str(rnd.randint(10, 10 ** rnd.randint(2, 7))))
    for p in sorted(prefixes):
        ini, sub = rnd.choice([(60, 60), (30, 6), (6, 6)])
        rows.append(RateRow(p, rnd.randint(1, 500), ini, sub, rnd.choice([0, 10]),
                            rnd.choice([0, 50]), rnd.choice([0, 3])))
    return Plan("bench", rows, rounding="up")


def bench_bulk(n_legs: int, n_prefixes: int) -> None:
    rnd = random.Random(1)
    plan = make_plan(n_prefixes, rnd)
    rater = VectorRater(plan)
    rng = np.random.default_rng(2)
    prefixes = np.array([int(r.match[1:]) for r in plan.rows if r.match.startswith("+")],
                        dtype=np.int64)
    plen = np.array([len(r.match) - 1 for r in plan.rows if r.match.startswith("+")])
    pick = rng.integers(0, len(prefixes), n_legs)
    ndigits = np.full(n_legs, 13, dtype=np.int64)
    tail = rng.integers(0, 10 ** 9, n_legs, dtype=np.int64)
    shift = 10 ** (13 - plen[pick]).astype(np.int64)
    numbers = prefixes[pick] * shift + tail % shift
    classes = rng.integers(0, len(CLASSES) - 1, n_legs)
    durations = np.where(rng.random(n_legs) < 0.2, 0,
                         rng.exponential(120, n_legs).astype(np.int64) + 1)
    rater.rate(numbers[:1000], ndigits[:1000], classes[:1000], durations[:1000])  # warm up
    t0 = time.perf_counter()
    result = rater.rate(numbers, ndigits, classes, durations)
    dt = time.perf_counter() - t0
    print(f"bulk rating (numba kernel, 1 core): {n_legs:,} legs x {n_prefixes:,} prefixes in "
          f"{dt:.3f} s = {n_legs / dt:,.0f} legs/s; total {int(result.amount_fen.sum()):,} fen")
    e164 = ["+" + str(n) for n in numbers[:20000]]
    t0 = time.perf_counter()
    for i, number in enumerate(e164):
        plan.charge(number, CLASSES[classes[i]], NOW if durations[i] else None,
                    int(durations[i]))
    dt = time.perf_counter() - t0
    print(f"scalar rating (Plan.charge): {len(e164) / dt:,.0f} legs/s")


def bench_db(label: str, url: str, n_cards: int, n_legs: int) -> None:
    from confcall.rating import areas, rates
    from confcall.store import Store, upgrade
    from tests.pgcluster import DEFAULT_RATES  # the same default plan the tests use
    upgrade(url)
    store = Store(url)
    with store.transaction() as s:
        areas.seed_areas(s, {"10": ("10", "北京"), "21": ("21", "上海")})
        rates.import_rates(s, "default", DEFAULT_RATES)
    ops.create_account(store, "+861088880000", "482913", now=NOW)
    batch, printed = ops.generate_cards(store, "bench", n_cards, 100, NOW + timedelta(days=9),
                                        now=NOW)
    ops.activate_batch(store, batch)
    t0 = time.perf_counter()
    for serial, pin in printed:
        ops.recharge_by_card(store, "+861088880000", serial, pin, source="cli", now=NOW)
    dt = time.perf_counter() - t0
    print(f"{label}: {n_cards / dt:,.0f} card redemptions/s (one thread)")
    t0 = time.perf_counter()
    for i in range(n_legs):
        ops.settle_leg(store, "+861088880000", f"c{i // 5}",
                       LegRecord(f"l{i}", "02188887777", NOW, NOW + timedelta(seconds=70),
                                 NOW + timedelta(seconds=5)), now=NOW)
    dt = time.perf_counter() - t0
    print(f"{label}: {n_legs / dt:,.0f} leg settlements/s (classify, rate, CDR, debit)")
    store.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--legs", type=int, default=1_000_000)
    ap.add_argument("--prefixes", type=int, default=10_000)
    ap.add_argument("--cards", type=int, default=500)
    ap.add_argument("--db-legs", type=int, default=500)
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--short", action="store_true",
                    help="small counts, SQLite only (the test suite's run)")
    args = ap.parse_args()
    if args.short:
        args.legs, args.prefixes, args.cards, args.db_legs = 20_000, 1000, 10, 10
        args.no_postgres = True
    secrets_.set_pepper(b"bench-pepper")
    bench_bulk(args.legs, args.prefixes)
    with tempfile.TemporaryDirectory() as tmp:
        bench_db("SQLite", f"sqlite:///{tmp}/bench.db", args.cards, args.db_legs)
    if not args.no_postgres:
        from tests.pgcluster import PgCluster
        cluster = PgCluster(durable=True)  # fsync on: figures comparable to SQLite FULL
        cluster.start()
        try:
            bench_db("PostgreSQL", cluster.url(cluster.new_database()), args.cards,
                     args.db_legs)
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
