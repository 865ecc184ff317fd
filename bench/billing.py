"""Billing hand-off benchmark: accounting records per second the RADIUS outbox delivers.

    PYTHONPATH=. .venv/bin/python bench/billing.py [--records 20000] [--postgres] [--short]

A throwaway FreeRADIUS (tests/radiusd.py: Debian's freeradius, the detail module writing every
request it accepts) on a loopback port; the outbox filled with RECORDS Start / Interim-Update /
Stop records of realistic legs (as ``confcall.billing.handoff`` writes them) in a SQLite
database (WAL, synchronous=FULL; ``--postgres``: a throwaway PostgreSQL with fsync on too);
then the box's sender (``RadiusSender``, its own thread) started and timed until every record
was acknowledged and recorded as sent. Printed: records/s (goal >= 2,000/s: a carrier's peak
hour of 100 boxes), and what FreeRADIUS logged (each record exactly once).
``--short``: 500 records, SQLite only (the test suite runs this).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))

from confcall.billing import attributes
from confcall.billing.sender import RadiusSender
from confcall.config import RadiusServerConf
from confcall.store import Store, upgrade
from confcall.store.models import AcctRecord
from tests.radiusd import RadiusServer

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
BOX = "bench-01"


def fill(store: Store, n: int) -> None:
    """``n`` records: per leg a Start, three Interim-Updates and a Stop."""
    rows = []
    leg = 0
    while len(rows) < n:
        answered = NOW + timedelta(seconds=leg)
        b = SimpleNamespace(
            session_id=f"{BOX}-acct-{leg:026d}", box=BOX, conference_ref=f"{BOX}-conf-{leg // 4}",
            account="+8613800138000", billing_mode="carrier" if leg % 3 else "prepaid",
            role="participant" if leg % 4 else "callback", calling="95000",
            called="02087654321", channo=1 + leg % 30, answered_at=answered, cause=16,
            destination="+862087654321", number_class="long_distance", area="20",
            duration_s=247, billed_s=300, charge_fen=150)
        steps = [("start", answered, 0)] + [("interim", answered + timedelta(seconds=60 * k), k)
                                            for k in (1, 2, 3)] + \
                [("stop", answered + timedelta(seconds=247), 0)]
        for status, at, seq in steps:
            rows.append(AcctRecord(
                record_id=attributes.record_id(b.session_id, status, seq), box=BOX,
                session_id=b.session_id, status=status, event_at=at,
                attributes=json.dumps(attributes.build(b, status, at, seq), sort_keys=True),
                created_at=datetime.now(UTC), server=""))
        leg += 1
    with store.transaction() as s:
        s.add_all(rows[:n])


def _cpu_of(radiusd: RadiusServer) -> float:
    """FreeRADIUS's CPU seconds so far (user + system, all its threads)."""
    assert radiusd.proc is not None
    fields = Path(f"/proc/{radiusd.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(url: str, label: str, n: int, radiusd: RadiusServer) -> float:
    upgrade(url)
    store = Store(url)
    try:
        fill(store, n)
        before = len(radiusd.records())
        fr_cpu0 = _cpu_of(radiusd)
        sender = RadiusSender(store, [RadiusServerConf("127.0.0.1", radiusd.port,
                                                       radiusd.secret)], box=BOX)
        t0 = time.perf_counter()
        sender.start()
        done = sender.wait_idle(max(60.0, n / 200))
        elapsed = time.perf_counter() - t0
        fr_cpu = _cpu_of(radiusd) - fr_cpu0
        sender.stop()
        if not done:
            raise SystemExit(f"{label}: not all records were acknowledged "
                             f"({sender.stats.delivered} of {n})")
        got = Counter(r["Confcall-Record-Id"] for r in radiusd.records()[before:])
        dup = sum(c - 1 for c in got.values() if c > 1)
        rate = n / elapsed
        cpu = sender.stats.cpu_s
        print(f"RADIUS outbox -> FreeRADIUS ({label}): {n} records in {elapsed:.2f} s = "
              f"{rate:,.0f} records/s (goal >= 2,000/s); sender thread CPU {cpu:.2f} s = "
              f"{n / cpu if cpu else 0:,.0f} records per CPU-second; FreeRADIUS CPU "
              f"{fr_cpu:.2f} s; FreeRADIUS logged "
              f"{len(got)} distinct, {dup} duplicate(s); {sender.stats.servers_down} "
              f"server-down event(s); load average {os.getloadavg()[0]:.1f}")
        if len(got) != n or dup:
            raise SystemExit(f"{label}: FreeRADIUS did not get every record exactly once")
        return rate
    finally:
        store.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL")
    ap.add_argument("--short", action="store_true", help="500 records, SQLite (CI)")
    args = ap.parse_args()
    n = 500 if args.short else args.records
    radiusd = RadiusServer()
    radiusd.start()
    try:
        with tempfile.TemporaryDirectory(prefix="confcall-bench-billing-") as tmp:
            run(f"sqlite:///{tmp}/bench.db", "SQLite", n, radiusd)
        if args.postgres and not args.short:
            from tests.pgcluster import PgCluster
            cluster = PgCluster(durable=True)
            cluster.start()
            try:
                run(cluster.url(cluster.new_database()), "PostgreSQL", n, radiusd)
            finally:
                cluster.stop()
    finally:
        radiusd.close()


if __name__ == "__main__":
    main()
