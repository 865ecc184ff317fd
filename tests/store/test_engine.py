"""Engine settings, UTC timestamps, row claiming and the Twisted runner, on both engines."""
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from twisted.python.threadpool import ThreadPool

from confcall.rating import MoneyError
from confcall.store import DbRunner, claim
from confcall.store.models import Account, Reservation

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_sqlite_pragmas_for_money(store):
    if store.dialect != "sqlite":
        assert store.dialect == "postgresql"
        with store.transaction() as s:
            assert s.execute(text("SHOW transaction_isolation")).scalar() == "read committed"
        return
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_times_are_stored_utc_and_naive_refused(store):
    beijing = timezone(timedelta(hours=8))
    with store.transaction() as s:
        s.add(Account(number="+861088880000", home_area="10", status="active", pin_hash="x",
                      balance_fen=0, reserved_fen=0, pin_failures=0, card_failures=0,
                      created_at=datetime(2026, 11, 25, 20, 0, tzinfo=beijing)))
    with store.transaction() as s:
        created = s.query(Account.created_at).scalar()
    assert created == NOW and created.tzinfo is not None and created.utcoffset() == timedelta(0)
    with pytest.raises(Exception) as err, store.transaction() as s:
        s.add(Account(number="+861088880001", home_area="10", status="active",
                      pin_hash="x", balance_fen=0, reserved_fen=0, pin_failures=0,
                      card_failures=0, created_at=datetime(2026, 1, 1)))
    assert "no time zone" in str(err.value)


def test_foreign_keys_enforced(store):
    with pytest.raises(Exception, match="(?i)foreign key"), store.transaction() as s:
        s.add(Reservation(reference="r", account_id=999, conference_ref="c",
                          destination="+8610", amount_fen=0, granted_s=0, state="held",
                          created_at=NOW))


def test_claiming_rows_never_hands_one_row_to_two_workers(store):
    with store.transaction() as s:
        s.add(Account(number="+861088880000", home_area="10", status="active", pin_hash="x",
                      balance_fen=0, reserved_fen=0, pin_failures=0, card_failures=0,
                      created_at=NOW))
        s.flush()
        s.execute(Reservation.__table__.insert(), [
            {"reference": f"r{i}", "account_id": 1, "conference_ref": "c",
             "destination": "+8610", "amount_fen": 0, "granted_s": 0, "state": "held",
             "created_at": NOW} for i in range(300)])
    table = Reservation.__table__
    claimed: list[list[int]] = []
    barrier = threading.Barrier(4)

    def worker():
        barrier.wait()
        mine: list[int] = []
        while True:
            got = store.run(lambda s: claim(s, table, table.c.state == "held",
                                            {"state": "released"}, 7))
            if not got:
                break
            mine += got
        claimed.append(mine)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for mine in claimed for i in mine]
    assert len(every) == 300 and len(set(every)) == 300


class FakeReactor:
    """Just enough reactor for deferToThreadPool: results are queued, then delivered."""

    def __init__(self):
        self.calls = []
        self.lock = threading.Lock()

    def callFromThread(self, f, *args, **kwargs):
        with self.lock:
            self.calls.append((f, args, kwargs))

    def addSystemEventTrigger(self, *args):
        pass

    def drain(self):
        while self.calls:
            f, args, kwargs = self.calls.pop(0)
            f(*args, **kwargs)


def test_runner_keeps_sql_off_the_calling_thread(store):
    reactor = FakeReactor()
    pool = ThreadPool(1, 2)
    pool.start()
    runner = DbRunner(store, reactor, pool=pool)
    seen = {}
    results, failures = [], []

    def work(session):
        seen["thread"] = threading.get_ident()
        return session.execute(text("SELECT 41 + 1")).scalar()

    def refuse(session):
        raise MoneyError("account.unknown", number="+861088880000")

    runner.call(work).addCallback(results.append)
    runner.call(refuse).addErrback(failures.append)
    pool.stop()  # waits for the queued work
    reactor.drain()
    assert results == [42] and seen["thread"] != threading.get_ident()
    assert failures[0].check(MoneyError) and "no account" in failures[0].getErrorMessage()


def test_store_refuses_to_run_on_a_running_reactor_thread(store, monkeypatch):
    import sys
    from types import SimpleNamespace

    from twisted.python import threadable
    monkeypatch.setitem(sys.modules, "twisted.internet.reactor", SimpleNamespace(running=True))
    monkeypatch.setattr(threadable, "isInIOThread", lambda: True)
    with pytest.raises(RuntimeError, match="reactor thread"):
        store.run(lambda s: s.execute(text("SELECT 1")).scalar())
    monkeypatch.setattr(threadable, "isInIOThread", lambda: False)  # a pool thread: fine
    assert store.run(lambda s: s.execute(text("SELECT 1")).scalar()) == 1
