"""One life of a box that the kill -9 test (test_kill9.py) shoots: the daemon on a simulated
card with its switch and subscribers, in virtual time, with the real DB thread pool, running
its part of a run of phone-mode conferences.

Run as a program (a real process, so SIGKILL is a real crash)::

    python killable_box.py --db sqlite:///x.db --box kbox --epoch 2026-11-25T12:00:00+00:00 \\
        --offset 37.4 --slots 10 --slot-s 12

The run is a timeline of ``slots`` conferences, one starting every ``slot_s`` seconds of
*run time* (virtual seconds summed over the box's lives), the first at 1 s; the run ends
``slot_s`` after the last one starts. A life starts at run time ``--offset`` (where the
previous life was shot), waits for the start-up recovery, then runs every conference whose
slot has not begun yet; a conference shot mid-way is lost with its box (the next life's
recovery settles it). Each conference: A dials the access number, is called back, keys B and
C, all talk, A hangs up after ``talk_s``.

It prints ``p <run time>`` every 0.1 virtual s, from before its start-up recovery is done
(the test shoots it when the run time passes its next kill point, so a point may land in the
recovery, and checks bills against the last time printed), ``ready`` once the recovery is
done, and ``done`` at the end of the run, when it stops the box cleanly and exits 0. Any
failed expectation exits 1 with the reason on stderr.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent.parent)]

A, B, C = "13800138000", "13900139000", "13700137000"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--box", required=True)
    ap.add_argument("--epoch", required=True)
    ap.add_argument("--offset", type=float, default=0.0)
    ap.add_argument("--slots", type=int, default=10)
    ap.add_argument("--slot-s", type=float, default=12.0)
    ap.add_argument("--talk-s", type=float, default=4.0)
    ap.add_argument("--interim-s", type=float, default=2.0)
    ap.add_argument("--tmp", default="", help="scratch directory (default: a new one)")
    ap.add_argument("--zygote", action="store_true",
                    help="import and warm up once, then fork one life per line on stdin "
                         "('life <offset> <epoch>'), printing 'pid <pid>' for each and "
                         "'ended <pid> <wait status>' when it is gone")
    return ap.parse_args(argv)


def life(args: argparse.Namespace) -> int:
    import box_harness
    from box_harness import ACCESS, Box

    from confcall.conference.callback import CallbackPolicy
    from confcall.conference.session import SessionConfig
    from confcall.rating import secrets_

    secrets_.configure("test")
    secrets_.set_pepper(b"test-pepper")
    epoch = datetime.fromisoformat(args.epoch)  # this life's reactor second 0
    box_harness.NOW = epoch
    tmp = tempfile.mkdtemp(prefix="killable-box-", dir=args.tmp or None)
    bx = Box(Path(tmp), db_url=args.db, epoch=epoch,
             callback=CallbackPolicy(delay_s=0.5, retries=0, retry_interval_s=5.0,
                                     caller_id="95000"),
             session=SessionConfig(entry_timeout_s=5.0, finish_timeout_s=1.0),
             # the run's ten conferences share one payer, and a killed life's conferences
             # count as in progress until the next life's recovery closes them: the fraud
             # limit (issue 14, its own tests) is raised so it does not refuse the callbacks
             config={"box_id": args.box, "acct_interim_s": args.interim_s,
                     # one journal for every life (the next replays what the last left)
                     "write_journal": str(Path(args.tmp or tmp) / f"{args.box}.journal"),
                     "fraud_max_conferences": 1000,
                     "rate_limit": 1000})
    offset = args.offset
    state = {"next": 0.0}

    def progress() -> None:
        now = offset + bx.clock.now
        if now >= state["next"]:
            print(f"p {now:.2f}", flush=True)
            state["next"] = now + 0.1

    def expect(ok: bool, what: str) -> None:
        if not ok:
            print(f"killable_box: {what} (run time {offset + bx.clock.now:.2f})",
                  file=sys.stderr, flush=True)
            sys.exit(1)

    bx.clock.add_hook(progress)  # before the recovery is done: a kill point may land in it
    expect(bx.run_until(lambda: getattr(bx.daemon, "recovered", None) is not None, 30),
           "the start-up recovery did not finish")
    print(f"ready {offset + bx.clock.now:.2f} {bx.daemon.recovered}", flush=True)
    a = bx.phone(A, answer_after=0.5, voice_hz=350.0)
    b = bx.phone(B, answer_after=1.0, voice_hz=450.0)
    c = bx.phone(C, answer_after=1.0, voice_hz=550.0)
    for slot in range(args.slots):
        start = 1.0 + slot * args.slot_s
        if offset + bx.clock.now > start:
            continue  # begun in an earlier life: lost with that box, or done
        bx.run(start - (offset + bx.clock.now))
        n = len(a.calls)
        access = bx.switch.place_call(A, ACCESS)
        expect(bx.run_until(lambda access=access: access.ended, 5), "access call not cleared")
        expect(bx.run_until(lambda n=n: len(a.calls) == n + 2 and a.last.connected, 5),
               "no callback")
        cb = a.last
        bx.run(0.3)
        a.press(B + "#")
        nb, nc = len(b.calls), len(c.calls)
        expect(bx.run_until(lambda nb=nb: len(b.calls) == nb + 1 and b.last.connected, 5),
               "B not joined")
        a.press("*" + C + "#")
        expect(bx.run_until(lambda nc=nc: len(c.calls) == nc + 1 and c.last.connected, 5),
               "C not joined")
        a.talk(), b.talk(), c.talk()
        bx.run(args.talk_s)
        bx.switch.hangup(cb, 16)
        expect(bx.run_until(lambda: b.last.ended and c.last.ended, 5), "legs not cleared")
        expect(bx.run_until(bx.daemon.writes.idle, 30), "writes still pending")
    end = 1.0 + args.slots * args.slot_s
    if offset + bx.clock.now < end:  # the run's time runs out in this life, shot or not
        bx.run(end - (offset + bx.clock.now))
    print("done", flush=True)
    bx.close()
    return 0


def warm_up(args: argparse.Namespace) -> None:
    """Load the media kernels (numba) and the libraries once, on a scratch copy of the
    database, so that each forked life starts in about a second."""
    import shutil

    from box_harness import Box
    from tests.pgcluster import template
    tmp = Path(tempfile.mkdtemp(prefix="killable-warm-", dir=args.tmp or None))
    shutil.copyfile(template("sqlite", None), tmp / "warm.db")
    bx = Box(tmp, db_url=f"sqlite:///{tmp / 'warm.db'}", config={"box_id": "warm-up"})
    bx.run(0.5)
    bx.close()
    shutil.rmtree(tmp, ignore_errors=True)


def zygote(args: argparse.Namespace) -> int:
    """Fork a life per request: a real process each (SIGKILL is a real crash), without
    paying for Python's imports and the kernels' loading every time. Nothing here has
    threads when it forks (the warm-up's pool is stopped)."""
    import os
    warm_up(args)
    print("warm", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] != "life":
            return 0
        pid = os.fork()
        if pid == 0:
            args.offset, args.epoch = float(words[1]), words[2]
            code = 1
            try:
                code = life(args)
            finally:
                sys.stdout.flush()
                os._exit(code)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"ended {pid} {status}", flush=True)
    return 0


def main() -> int:
    args = parse()
    return zygote(args) if args.zygote else life(args)


if __name__ == "__main__":
    sys.exit(main())
