"""One box's booking scheduler as its own process (for the multi-box tests): the real
scheduler, the real DB thread pool and a real reactor, in real time, against a shared
database; the phone network is ``simnet.SimNetwork``.

    python tests/booking/scheduler_worker.py URL BOX RINGLOG [--lease 3] [--poll 0.25]
"""
from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("box")
    ap.add_argument("ringlog")
    ap.add_argument("--lease", type=float, default=3.0)
    ap.add_argument("--poll", type=float, default=0.25)
    ap.add_argument("--batch", type=int, default=50)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format=f"{args.box} %(levelname)s %(message)s")

    from twisted.internet import reactor

    from confcall.booking.scheduler import BookingScheduler, SchedulerPolicy
    from confcall.ids import set_box_id
    from confcall.store import Store
    from confcall.store.runner import DbRunner
    from simnet import RingLog, SimNetwork

    set_box_id(args.box)
    store = Store(args.url)
    runner = DbRunner(store, reactor, maxthreads=2)
    runner.start()
    net = SimNetwork(reactor, RingLog(args.ringlog, args.box))
    scheduler = BookingScheduler(
        reactor, runner, net, box=args.box, now=lambda: datetime.now(UTC),
        policy=SchedulerPolicy(poll_s=args.poll, lease_s=args.lease,
                               claim_ahead_s=min(0.5, args.lease / 2), grace_s=300.0,
                               batch=args.batch))
    reactor.callWhenRunning(scheduler.start)
    reactor.callWhenRunning(lambda: print("ready", flush=True))
    reactor.run()


if __name__ == "__main__":
    main()
