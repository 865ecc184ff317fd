"""kill -9 of the box at random points of a 10-conference run, restarted each time (issue 13).

A real process (``killable_box.py``: the daemon on a simulated card with its switch and
subscribers, the real DB thread pool; SQLite in WAL, and PostgreSQL) runs a timeline of 10
phone-mode conferences (three answered legs each). The test shoots it with SIGKILL whenever its
run time passes the next of ``CONFCALL_KILL_POINTS`` (default 20) random points, and starts it
again (same ``[box] id``) from where it died; the last life runs the rest and stops cleanly. Then:

- no call-log row is left open;
- every answered charged leg is rated exactly once, for its call-log duration; a leg lost with
  a box ends at its last interim record, at most one interim period (plus the 0.1 s the test
  reads progress at) before the moment the box was shot, never after it;
- no credit hold is left, every account's ledger sums to its balance;
- every conference record is closed, its total the sum of its legs.

Lives are forked from a warmed-up parent (imports and media kernels loaded once), each a real
process with its own DB connections and threads. ``CONFCALL_KILL_SEED`` replays a run.
"""
import math
import os
import random
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path


from confcall.rating import ops
from confcall.rating.ledger import audit
from confcall.store import Store
from tests.pgcluster import db_url, pg_cluster  # noqa: F401

from books import read_books
from box_harness import NOW
from child_lines import Lines

HERE = Path(__file__).resolve().parent
SLOTS, SLOT_S, INTERIM_S = 10, 12.0, 2.0
RUN_S = 1.0 + SLOTS * SLOT_S
LIFE = timedelta(hours=1)  # each life's reactor second 0 is an hour after the previous one's


def test_kill9_at_random_points_of_a_ten_conference_run(tmp_path, db_url):  # noqa: F811
    points_n = int(os.environ.get("CONFCALL_KILL_POINTS", "20"))
    seed = int(os.environ.get("CONFCALL_KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    points = sorted(rng.uniform(0.5, RUN_S - 0.5) for _ in range(points_n))
    url = db_url  # a fresh copy of the migrated database, SQLite and PostgreSQL
    store = Store(url)
    payer = "+8613800138000"
    ops.create_account(store, payer, "482913", now=NOW)
    ops.adjust(store, payer, 1_000_000, "fund", "test funding", now=NOW)

    zygote = subprocess.Popen(
        [sys.executable, str(HERE / "killable_box.py"), "--zygote", "--db", url, "--box",
         "kill9box", "--epoch", "-", "--slots", str(SLOTS), "--slot-s", str(SLOT_S),
         "--interim-s", str(INTERIM_S), "--tmp", str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=str(HERE.parent.parent))
    lives = []  # (epoch, offset, run time when shot or None, last run time it printed)
    try:
        out = Lines(zygote, glued=("ended ", "pid "))  # a life shot mid-line
        assert out.next(300) == "warm"
        offset, killed = 0.0, 0
        while True:
            epoch = NOW + LIFE * len(lives)
            zygote.stdin.write(f"life {offset} {epoch.isoformat()}\n".encode())
            zygote.stdin.flush()
            word, pid = out.next().split()
            assert word == "pid"
            last, shot, done, status = offset, None, False, None
            while status is None:
                line = out.next().split()
                if not line:
                    continue
                if line[0] == "p":
                    try:
                        last = max(last, float(line[1]))
                    except (IndexError, ValueError):  # cut short by the kill
                        continue
                    if shot is None and killed < len(points) and last >= points[killed]:
                        os.kill(int(pid), signal.SIGKILL)
                        shot, killed = last, killed + 1
                elif line[0] == "done":
                    done = True
                elif line[0] == "ended":
                    status = int(line[2])
            lives.append((epoch, offset, shot, last))
            if shot is None:
                assert done and os.waitstatus_to_exitcode(status) == 0, \
                    f"a life failed (seed {seed}; see its stderr)"
                break
            assert os.waitstatus_to_exitcode(status) == -signal.SIGKILL
            offset = last
        assert killed == points_n, f"only {killed} of {points_n} kill points were reached"
        zygote.stdin.write(b"quit\n")
        zygote.stdin.flush()
        assert zygote.wait(60) == 0
    finally:
        if zygote.poll() is None:
            zygote.kill()
            zygote.wait()

    def killed_at(seized_at):
        """When (DB time) the life that seized a leg was shot, and the latest it can have
        died (SIGKILL lands a little after the test sends it); None: it was not shot."""
        k = max(i for i, life in enumerate(lives) if life[0] <= seized_at)
        epoch, offset, shot, last = lives[k]
        if shot is None:
            return None
        return (epoch + timedelta(seconds=shot - offset),
                epoch + timedelta(seconds=last - offset + 0.1))

    b = read_books(store)
    logs, legs, held, accounts, conferences, totals = (
        b.logs, b.legs, b.held, b.accounts, b.conferences, b.totals)
    context = f"(seed {seed}, CONFCALL_KILL_SEED replays it)"
    assert [r.reference for r in logs if r.ended_at is None] == [], context
    charged = [r for r in logs if r.role in ("callback", "participant")]
    answered = [r for r in charged if r.answered_at is not None]
    assert len({r.conference_ref for r in charged if r.role == "callback"}) >= 1
    lost = 0
    for r in answered:
        leg = legs.get(r.reference)
        assert leg is not None, f"answered leg {r.reference} never rated {context}"
        assert leg.ended_at == r.ended_at and leg.answered_at == r.answered_at, context
        assert leg.duration_s == math.ceil((r.ended_at - r.answered_at).total_seconds())
        if r.end_reason == "box restart":
            lost += 1
            shot = killed_at(r.seized_at)
            assert shot is not None, f"{r.reference} closed by a restart, but its box " \
                f"was not shot {context}"
            shot_at, dead_by = shot
            assert r.ended_at <= dead_by, context
            assert shot_at - r.ended_at <= timedelta(seconds=INTERIM_S + 0.2), \
                f"{r.reference} rated up to {r.ended_at}, shot at {shot_at} {context}"
            assert r.cause == 41
    assert sum(1 for r in logs if r.reference in legs) == len(legs)  # rated = logged, once
    assert lost > 0, f"no kill point hit a live leg {context}"
    assert held == [], context
    for acc in accounts:
        assert acc.reserved_fen == 0, context
        assert store.run(audit, acc.id) == (acc.balance_fen, acc.balance_fen), context
    for conf in conferences:
        assert conf.ended_at is not None, f"conference {conf.reference} open {context}"
        assert conf.total_fen == totals.get(conf.id, 0), context
    balance = ops.balance(store, payer)
    assert balance.balance_fen == 1_000_000 - sum(leg.amount_fen for leg in legs.values())
    store.dispose()
