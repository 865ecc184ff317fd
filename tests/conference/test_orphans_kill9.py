"""A box process shot with SIGKILL mid-conference and never started again: another box on the
same database closes its rows (issue 13, fleet).

Box A is a real process (``killable_box.py``: the daemon on a simulated card with its switch
and subscribers, virtual time, the real DB thread pool) carrying a three-party phone-mode
conference on SQLite; the test shoots it while the three legs talk. Box B (in this process,
``[box] id`` box-b, the whole daemon on its own simulated card) starts on the same database
where A's clock stopped and, once A has not been seen for ``[fleet] dead_after_s``, closes
A's legs: each answered leg ended once at its last interim record (within the interim period
of the shot), ``box lost``, cause 41, rated to the exact second; no hold left, the ledger equal
to the balance, every conference closed with its total, no call-log row left open.
"""
import math
import os
import shutil
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select as sql_select

from confcall.rating import ops
from confcall.rating.ledger import audit
from confcall.store import Store
from confcall.store.models import CallLog
from tests.pgcluster import template
from tests.proc_ready import Output

from books import read_books
from box_harness import NOW, Box

HERE = Path(__file__).resolve().parent
INTERIM_S = 2.0
SHOOT_AT = 14.0  # run time: the conference (from 1 s) talks from about 6 s to 21 s
FLEET = {"box_id": "box-b", "acct_interim_s": INTERIM_S, "fleet_heartbeat_s": 5.0,
         "fleet_dead_after_s": 30.0, "booking_lease_s": 6.0, "booking_poll_s": 1.0,
         "booking_claim_ahead_s": 3.0}


def test_a_box_killed_for_good_is_reaped_by_another(tmp_path):
    db = tmp_path / "fleet.db"
    shutil.copyfile(template("sqlite", None), db)
    url = f"sqlite:///{db}"
    store = Store(url)
    payer = "+8613800138000"
    ops.create_account(store, payer, "482913", now=NOW)
    ops.adjust(store, payer, 1_000_000, "fund", "test funding", now=NOW)
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "killable_box.py"), "--db", url, "--box", "kbox",
         "--epoch", NOW.isoformat(), "--slots", "1", "--slot-s", "30", "--talk-s", "15",
         "--interim-s", str(INTERIM_S), "--tmp", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=str(HERE.parent.parent))
    out = Output(proc)
    try:
        shot = float(out.wait_for(r"(?m)^p (1[4-9]|2\d)\.\d\d$", 600).group(0).split()[1])
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    with store.transaction() as s:
        talking = s.scalars(sql_select(CallLog.reference).where(
            CallLog.box == "kbox", CallLog.ended_at.is_(None),
            CallLog.answered_at.is_not(None))).all()
    assert len(talking) == 3, out.text()  # A's callback, B and C: shot while they talked

    (tmp_path / "b").mkdir()
    nb = Box(tmp_path / "b", db_url=url, epoch=NOW + timedelta(seconds=shot + 0.5),
             config_overrides=FLEET)
    try:
        nb.run(20)
        assert nb.daemon.fleet.reaped == []  # kbox could merely be slow
        assert nb.run_until(lambda: bool(nb.daemon.fleet.reaped), 20)
        assert nb.run_until(nb.daemon.writes.idle, 5)
        (who, got), = nb.daemon.fleet.reaped
        assert who == "kbox" and got.legs_rated == 3 and got.failed == 0
    finally:
        nb.close()

    b = read_books(store)
    logs, legs, held, accounts, conferences, totals = (
        b.logs, b.legs, b.held, b.accounts, b.conferences, b.totals)
    assert [r.reference for r in logs if r.ended_at is None] == []
    shot_at = NOW + timedelta(seconds=shot)
    for r in logs:
        if r.reference not in talking:
            continue
        assert (r.cause, r.end_reason, r.ended_at) == (41, "box lost", r.alive_at)
        # its last interim record: within the interim period before the shot (the process
        # may run a few ticks after the line the test read before SIGKILL lands)
        assert -timedelta(seconds=1) <= shot_at - r.ended_at <= \
            timedelta(seconds=INTERIM_S + 0.2)
        leg = legs[r.reference]
        assert leg.duration_s == math.ceil((r.ended_at - r.answered_at).total_seconds())
    assert sum(1 for r in logs if r.reference in legs) == len(legs)  # rated once each
    assert held == []
    for acc in accounts:
        assert acc.reserved_fen == 0
        assert store.run(audit, acc.id) == (acc.balance_fen, acc.balance_fen)
    for conf in conferences:
        assert conf.ended_at is not None and conf.total_fen == totals.get(conf.id, 0)
    assert ops.balance(store, payer).balance_fen == \
        1_000_000 - sum(leg.amount_fen for leg in legs.values())
    store.dispose()
