"""The database away for a minute in mid-conference loses nothing (issue 13, item 3).

The box runs on PostgreSQL (a private cluster: this test stops it). While the server is down
the conference goes on (the subscribers still hear each other), the initiator hangs up, every
leg clears; the call log's ends, the rating of each leg, the release of the credit holds and
the conference record wait in the conference's write queue and are written, in order, once the
server is back: exact fen, no hold left, the ledger equal to the balance.
"""
import math

import pytest

from confcall.rating import ops
from confcall.rating.accounts import get_account
from confcall.rating.cdr import conference_bill
from confcall.rating.ledger import audit
from tests.pgcluster import prepare, private_database

from box_harness import ACCESS, Box, audio, voice_level

A, B = "13800138000", "13900139000"
A_HZ, B_HZ = 350.0, 450.0


@pytest.fixture
def private_pg():
    with private_database(prepare) as cluster_and_url:
        yield cluster_and_url


def test_database_down_for_a_minute_loses_no_record(private_pg, tmp_path):
    cluster, url = private_pg
    bx = Box(tmp_path, db_url=url)
    try:
        payer = bx.account(A, fen=10_000)
        a = bx.phone(A, answer_after=1.0, voice_hz=A_HZ)
        b = bx.phone(B, answer_after=2.0, voice_hz=B_HZ)
        access = bx.switch.place_call(A, ACCESS)
        assert bx.run_until(lambda: access.ended, 10)
        assert bx.run_until(lambda: len(a.calls) == 2 and a.last.connected, 10)
        cb = a.last
        assert bx.run_until(lambda: bool(bx.sessions), 2)
        s = bx.sessions[0]
        bx.run(1.5)
        a.press(B + "#")
        assert bx.run_until(lambda: len(b.calls) == 1 and b.last.connected, 10)
        assert bx.run_until(lambda: not s.keypad.inviting, 10)
        a.talk()
        b.talk()
        bx.run(2)

        # the database goes away; the conference goes on
        cluster.halt()
        bx.run(45)
        t = bx.clock.now - 1
        assert voice_level(audio(cb, t, t + 1), B_HZ) > -40
        assert voice_level(audio(b.last, t, t + 1), A_HZ) > -40
        bx.switch.hangup(cb, 16)
        assert bx.run_until(lambda: s.ended and b.last.ended, 5)
        bx.run(20)
        writes = bx.daemon.writes
        assert writes.pending() >= 4 and writes.failing  # ends, ratings, the record: waiting
        # the NOC sees them wait: span status (control socket, CLI line) and the metrics
        waiting = _noc_view(bx)
        assert waiting["writes"]["pending"] == writes.pending() and waiting["writes"]["failing"]
        assert waiting["line"].startswith(f"database writes  WAITING  {writes.pending()} "
                                          "pending, the database refuses them")
        assert waiting["metrics"] == (writes.pending(), 1)
        # journal's hunk: the waiting writes are safe on disk too (docs/durability.md)
        assert waiting["writes"]["journaled"] == writes.journaled >= 4
        assert waiting["line"].endswith(f"; {writes.journaled} kept in the write journal")
        assert bx.daemon.journal.path.stat().st_size > 0

        # back after a minute: everything is written, in order
        cluster.resume()
        assert bx.run_until(writes.idle, 60)
        assert not writes.failing and writes.retries > 0
        back = _noc_view(bx)
        assert back["writes"] == {"pending": 0, "failing": False, "retries": writes.retries,
                                  "journaled": 0, "journal_failures": 0}
        assert bx.daemon.journal.path.stat().st_size == 0  # written: the journal emptied
        assert back["line"] == "database writes  OK  0 pending"
        assert back["metrics"] == (0, 0)
        log = {r.number: r for r in bx.call_log() if r.role != "access"}
        assert set(log) == {A, B}
        assert all(r.ended_at is not None and r.cause == 16 for r in log.values())
        conf = bx.store.run(conference_bill, s.reference)
        legs = {leg.reference: leg for leg in conf.legs}
        fen = {}
        for number, per_minute in ((A, 12), (B, 20)):  # mobile local / long distance
            r = log[number]
            seconds = math.ceil((r.ended_at - r.answered_at).total_seconds())
            assert seconds > 45  # the legs lasted through the outage
            assert legs[r.reference].duration_s == seconds
            fen[number] = legs[r.reference].amount_fen
            assert fen[number] == per_minute * math.ceil(seconds / 60)
        assert conf.ended_at == bx.money.to_dt(s.ended_at)
        assert conf.total_fen == sum(fen.values())
        balance = ops.balance(bx.store, payer)
        assert balance.reserved_fen == 0
        assert balance.balance_fen == 10_000 - conf.total_fen
        account_id = bx.store.run(lambda sn: get_account(sn, payer).id)
        assert bx.store.run(audit, account_id) == (balance.balance_fen, balance.balance_fen)
    finally:
        bx.close()


def _noc_view(bx):
    """What the NOC reads of the box's writes: ``span_status`` over the control socket, the
    line ``confcall span status`` prints of it, and the Prometheus gauges."""
    from confcall.cli.span import writes_line
    from confcall.control_socket import handle
    answer = handle(bx.daemon, '{"cmd": "span_status"}')
    bx.daemon.watch.refresh()
    reg = bx.daemon.watch.metrics.registry
    return {"writes": answer["writes"], "line": writes_line(answer["writes"]),
            "metrics": (reg.get_sample_value("confcall_db_writes_pending"),
                        reg.get_sample_value("confcall_db_writes_failing"))}
