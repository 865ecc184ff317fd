"""A box that the outage test (test_db_outage_kill9.py) shoots while its database is away.

Run as a program (a real process, so SIGKILL is a real crash), two phases:

``--phase first``: the box on the database; A calls the access number, is called back, keys
B; both talk. It prints ``talking`` and waits for a line on stdin (the test stops the
database meanwhile). Then the conference goes on for ``--outage-s`` virtual seconds, A hangs
up, both legs clear; the box's writes cannot reach the database and wait, journalled. Once
every one of them is in the journal it prints ``queued <journalled writes>`` and then one
line per leg, ``leg <reference> <answered UTC> <ended UTC>`` (what the box knew), then
``shoot`` and waits on stdin for ever: the test kills it.

``--phase second`` (the database back): the same box id starts again with the same journal,
later; prints ``ready <replayed> <recovered>`` once its start-up replay and recovery are done,
and stops cleanly.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent.parent)]

A, B = "13800138000", "13900139000"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--box", required=True)
    ap.add_argument("--journal", required=True)
    ap.add_argument("--epoch", required=True)
    ap.add_argument("--phase", choices=("first", "second"), required=True)
    ap.add_argument("--outage-s", type=float, default=30.0)
    args = ap.parse_args()

    from box_harness import ACCESS, Box

    from confcall.conference.callback import CallbackPolicy
    from confcall.rating import secrets_
    secrets_.configure("test")
    secrets_.set_pepper(b"test-pepper")
    tmp = Path(tempfile.mkdtemp(prefix="outage-box-"))
    bx = Box(tmp, db_url=args.db, epoch=datetime.fromisoformat(args.epoch),
             callback=CallbackPolicy(delay_s=0.5, retries=0, retry_interval_s=5.0,
                                     caller_id="95000"),
             config={"box_id": args.box, "write_journal": args.journal, "acct_interim_s": 5.0})

    def expect(ok: bool, what: str) -> None:
        if not ok:
            print(f"outage_box: {what}", file=sys.stderr, flush=True)
            sys.exit(1)

    expect(bx.run_until(lambda: getattr(bx.daemon, "recovered", None) is not None, 30),
           "the start-up recovery did not finish")
    if args.phase == "second":
        print(f"ready {bx.daemon.replayed.entries} {bx.daemon.recovered.legs_closed}",
              flush=True)
        bx.close()
        return 0

    a = bx.phone(A, answer_after=0.5, voice_hz=350.0)
    b = bx.phone(B, answer_after=1.0, voice_hz=450.0)
    access = bx.switch.place_call(A, ACCESS)
    expect(bx.run_until(lambda: access.ended, 10), "access call not cleared")
    expect(bx.run_until(lambda: len(a.calls) == 2 and a.last.connected, 10), "no callback")
    cb = a.last
    expect(bx.run_until(lambda: bool(bx.sessions), 2), "no conference")
    s = bx.sessions[0]
    bx.run(1.5)
    a.press(B + "#")
    expect(bx.run_until(lambda: len(b.calls) == 1 and b.last.connected, 10), "B not joined")
    expect(bx.run_until(lambda: not s.keypad.inviting, 10), "still inviting")
    a.talk(), b.talk()
    bx.run(2)
    expect(bx.run_until(bx.daemon.writes.idle, 10), "writes pending before the outage")
    print("talking", flush=True)
    sys.stdin.readline()  # the test stops the database

    writes = bx.daemon.writes
    bx.run(args.outage_s)
    bx.switch.hangup(cb, 16)
    expect(bx.run_until(lambda: s.ended and b.last.ended, 10), "legs not cleared")
    # every write of the conference waits, and is in the journal
    journal = bx.daemon.journal  # None: write_journal = "" (off)
    expect(bx.run_until(lambda: writes.failing and writes.pending() >= 5 and (
        journal is None or writes.journaled >= 5 and journal.appended >= writes.journaled), 60),
           f"writes not journalled ({writes.journaled} journalled, {writes.pending()} pending)")
    bx.run(1.0)
    print(f"queued {writes.journaled}", flush=True)
    for m in s.roster.everyone():
        leg = m.leg
        if leg is not None and leg.answered_at is not None:
            print(f"leg {m.ref} {bx.money.to_dt(leg.answered_at).isoformat()} "
                  f"{bx.money.to_dt(leg.ended_at).isoformat()}", flush=True)
    print("shoot", flush=True)
    sys.stdin.readline()  # never comes: the test kills this process
    return 1


if __name__ == "__main__":
    sys.exit(main())
