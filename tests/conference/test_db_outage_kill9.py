"""The database away, a conference ends, the box is killed before the database is back: no
record is lost (issue 13, item 3: "failures retried durably").

A real box process (``outage_box.py``) runs on a private PostgreSQL cluster. Mid-conference
the test stops the server; the conference goes on, A hangs up, both legs clear; their call
log ends, ratings, hold releases and the conference record cannot be written and wait in the
box's write journal (fsync'ed). The test kills the box with SIGKILL, starts the server again
and starts the box again (same ``[box] id``, same journal): its start-up replays the journal
before the recovery. Then every leg is ended as it really ended (cause 16 at the time the box
knew, not "box restart" at an interim record), rated once for exactly that time, no hold is
left, the ledger equals the balance, the conference is closed with its total; the journal is
empty.

Without the journal (``write_journal = ""``) the same run loses the legs' real ends: the
recovery closes them at their last interim record ("box restart"); the second test shows it,
so the first cannot pass by accident.
"""
import math
import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select as sql_select

from confcall.rating import ops
from confcall.rating.accounts import get_account
from confcall.rating.cdr import conference_bill
from confcall.rating.ledger import audit
from confcall.store import Store
from confcall.store.models import CallLog, Leg, Reservation
from tests.pgcluster import PgCluster, prepare

from box_harness import NOW
from child_lines import Lines

HERE = Path(__file__).resolve().parent
A, B = "+8613800138000", "+8613900139000"


@pytest.fixture(scope="module")
def private_cluster():
    """A PostgreSQL cluster of this file's own (the tests stop it), seeded once: each test
    gets a copy of the seeded database (seeding takes minutes on a loaded machine)."""
    cluster = PgCluster()
    cluster.start()
    try:
        seeded = cluster.new_database()
        prepare(cluster.url(seeded))
        yield cluster, seeded
    finally:
        cluster.stop()


@pytest.fixture
def private_pg(private_cluster):
    cluster, seeded = private_cluster
    yield cluster, cluster.url(cluster.new_database(template=seeded))


def _box(url: str, journal: str, phase: str, epoch: datetime) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(HERE / "outage_box.py"), "--db", url, "--box", "outbox",
         "--journal", journal, "--phase", phase, "--epoch", epoch.isoformat()],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=str(HERE.parent.parent))


def _run(cluster: PgCluster, url: str, journal: str) -> tuple[dict, int, str]:
    """Both lives; returns the legs as the first life knew them, its journalled count and
    the second life's ready line."""
    store = Store(url)
    ops.create_account(store, A, "482913", now=NOW)
    ops.adjust(store, A, 10_000, "fund", "test funding", now=NOW)
    store.dispose()
    first = _box(url, journal, "first", NOW)
    halted = False
    try:
        out = Lines(first)
        assert out.next() == "talking"
        cluster.halt()
        halted = True
        first.stdin.write(b"go\n")
        first.stdin.flush()
        word, queued = out.next().split()
        assert word == "queued"
        legs = {}
        while (line := out.next()) != "shoot":
            _, ref, answered, ended = line.split()
            legs[ref] = (datetime.fromisoformat(answered), datetime.fromisoformat(ended))
        os.kill(first.pid, signal.SIGKILL)
        assert first.wait(30) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        if halted:
            cluster.resume()
    second = _box(url, journal, "second", NOW + timedelta(hours=1))
    try:
        ready = Lines(second).next()
        assert second.wait(60) == 0
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()
    return legs, int(queued), ready


def test_writes_queued_while_the_database_is_away_survive_a_kill_9(private_pg, tmp_path):
    cluster, url = private_pg
    journal = tmp_path / "outbox.journal"
    legs, queued, ready = _run(cluster, url, str(journal))
    assert len(legs) == 2 and queued >= 5  # 2 ends, 2 ratings, the conference record
    word, replayed, closed = ready.split()
    assert (word, int(replayed), int(closed)) == ("ready", queued, 0)  # nothing left open

    store = Store(url)
    try:
        with store.transaction() as s:
            log = {r.reference: r for r in s.scalars(sql_select(CallLog))}
            rated = {r.reference: r for r in s.scalars(sql_select(Leg))}
            held = s.scalars(sql_select(Reservation.reference)
                             .where(Reservation.state == "held")).all()
        conf_ref = next(iter(legs)).rsplit("/", 1)[0]
        fen = {}
        for ref, (answered, ended) in legs.items():
            r = log[ref]
            assert (r.answered_at, r.ended_at, r.cause, r.end_reason) == (answered, ended, 16,
                                                                          None)
            seconds = math.ceil((ended - answered).total_seconds())
            assert seconds > 30  # the legs lasted through the outage
            assert rated[ref].duration_s == seconds
            per_minute = 12 if r.number.endswith(A[3:]) else 20  # mobile local / long distance
            assert rated[ref].amount_fen == per_minute * math.ceil(seconds / 60)
            fen[ref] = rated[ref].amount_fen
        assert sum(1 for ref in rated if ref.startswith(conf_ref)) == 2  # rated once each
        assert held == []
        bill = store.run(conference_bill, conf_ref)
        assert bill.total_fen == sum(fen.values())
        assert bill.ended_at == max(ended for _, ended in legs.values())
        balance = ops.balance(store, A)
        assert (balance.balance_fen, balance.reserved_fen) == (10_000 - bill.total_fen, 0)
        account_id = store.run(lambda sn: get_account(sn, A).id)
        assert store.run(audit, account_id) == (balance.balance_fen, balance.balance_fen)
    finally:
        store.dispose()
    assert journal.stat().st_size == 0  # replayed, then emptied


def test_without_the_journal_the_recovery_can_only_close_them_at_an_interim(private_pg,
                                                                            tmp_path):
    cluster, url = private_pg
    legs, queued, ready = _run(cluster, url, "")  # write_journal = "": off
    assert queued == 0
    word, replayed, closed = ready.split()
    assert (word, int(replayed), int(closed)) == ("ready", 0, 2)
    store = Store(url)
    try:
        with store.transaction() as s:
            log = {r.reference: r for r in s.scalars(sql_select(CallLog))}
        for ref, (_answered, ended) in legs.items():
            assert log[ref].end_reason == "box restart" and log[ref].ended_at < ended
    finally:
        store.dispose()
