"""One box of the two-box run (tests/booking/two_boxes.py), as its own process: the real
daemon (``confcall.daemon.Daemon``: booking scheduler, callback service, PRI trunks, media
engine, rating, the real DB thread pool) on its own simulated card, whose far side (the
simulated switch and its subscribers) writes every ring and answer to a ring log that every
box appends to (``O_APPEND``: one short line per ``write``, atomic across processes).

Run::

    python booking_box.py --db URL --box box-a --rings FILE --bookings 500 --participants 1

Time: every box runs on the simulated span's virtual clock (``VirtualMediaClock``), and the
boxes keep one shared virtual time: a box moves its clock only when the conductor (the test,
on stdin) says how far (``run T``: to T virtual seconds after the shared epoch), and answers
``at T`` once there, with no DB work in flight. So the boxes see the same "now" in the shared
database (leases, due times) however loaded the machine is, and a kill -9 is a real crash of a
real process. Lines: ``ready T`` once the spans are up; ``at T`` after each ``run``; ``bye``
after ``stop`` (a clean shutdown). The subscribers: booking i's initiator is 130 + i (8
digits), its participant p is 150 + (10 i + p); all answer after ``--answer-s``; the
initiator hangs up ``--talk-s`` after answering, which ends the conference.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "conference"), str(HERE.parent.parent)]


class RingLog:
    """The phones' side of the story, shared by every box: ``box event number time`` (event
    ``ring`` when the SETUP reaches the subscriber, ``answer`` when they pick up; time: ISO UTC
    of the shared virtual clock)."""

    def __init__(self, path: str, box: str, epoch: datetime, clock) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.box, self.epoch, self.clock = box, epoch, clock

    def write(self, event: str, number: str) -> None:
        at = self.epoch + timedelta(seconds=self.clock.now)
        os.write(self.fd, f"{self.box} {event} {number} {at.isoformat()}\n".encode())


def listen(switch, log: RingLog) -> None:
    """Have the simulated switch report each call it offers a subscriber, and each answer."""
    offer, answer = switch._from_confcall, switch._answer

    def from_confcall(ev):
        if ev.called in switch.phones:
            log.write("ring", ev.called)
        offer(ev)

    def answered(rec):
        if not rec.ended and rec.cleared_by is None:
            log.write("answer", rec.called)
        answer(rec)
    switch._from_confcall, switch._answer = from_confcall, answered


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--box", required=True)
    ap.add_argument("--rings", required=True)
    ap.add_argument("--epoch", required=True, help="ISO UTC of virtual second 0, every box")
    ap.add_argument("--bookings", type=int, required=True)
    ap.add_argument("--participants", type=int, default=1)
    ap.add_argument("--spans", type=int, default=1)
    ap.add_argument("--answer-s", type=float, default=0.5)
    ap.add_argument("--talk-s", type=float, default=4.0)
    ap.add_argument("--lease-s", type=float, default=6.0)
    ap.add_argument("--poll-s", type=float, default=1.0)
    args = ap.parse_args()

    import box_harness
    from box_harness import Box

    from confcall.rating import secrets_

    secrets_.configure("test")
    secrets_.set_pepper(b"test-pepper")
    epoch = datetime.fromisoformat(args.epoch)
    box_harness.NOW = epoch
    tmp = Path(tempfile.mkdtemp(prefix=f"{args.box}-"))
    # database=: the SQLite file the harness would seed is never used (db_url is the store)
    bx = Box(tmp, db_url=args.db, database=tmp / "unused.db", spans=args.spans,
             epoch=epoch,
             config={"box_id": args.box, "booking_lease_s": args.lease_s,
                     "booking_poll_s": args.poll_s,
                     "booking_claim_ahead_s": min(3.0, args.lease_s / 2),
                     # one payer books every conference of the run: the toll-fraud limits
                     # (issue 14, their own tests) would refuse most of them
                     "fraud_max_conferences": 1000, "fraud_spend_per_hour_fen": 100_000_000,
                     "rate_limit": 100_000})
    log = RingLog(args.rings, args.box, epoch, bx.clock)
    for sw in bx.switches:
        sw.keep_audio = False  # hundreds of calls: what they heard is not asserted here
        listen(sw, log)
    for i in range(args.bookings):
        bx.phone(f"130{i:08d}", answer_after=args.answer_s, hangup_after=args.talk_s)
        for p in range(1, args.participants + 1):
            bx.phone(f"150{i * 10 + p:08d}", answer_after=args.answer_s)
    print(f"ready {bx.clock.now:.3f}", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words and words[0] == "run":
            target = float(words[1])
            while bx.clock.now < target - 1e-9:
                bx.clock.tick()
            bx.reactor.settle()
            print(f"at {bx.clock.now:.3f} {len(bx.daemon.scheduler.live)}", flush=True)
        elif words and words[0] == "stop":
            break
    bx.close()
    print("bye", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
