"""The write journal file (confcall.store.journal) on both engines: what is appended survives,
a line cut short by a crash is skipped, a late append of a committed write is not kept, the
replay applies each write once (a second replay of the same lines changes nothing: not one fen)
and keeps a write the database refuses aside for the operator; the next run numbers its writes
after the previous run's and never glues a line onto one a crash cut short. The end-to-end
case (a box killed while the database is away) is tests/conference/test_db_outage_kill9.py."""
import os
import sys
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from confcall.cli.span import writes_line
from confcall.conference import records
from confcall.control_socket import writes_status
from confcall.rating import ops
from confcall.rating.accounts import get_account
from confcall.rating.cdr import LegRecord, conference_bill
from confcall.rating.ledger import audit
from confcall.sim.threads import CountingPool, ThreadedClock
from confcall.store import Store
from confcall.store.journal import Entry, WriteJournal, name_of, replay
from confcall.store.models import CallLog, Leg
from confcall.store.runner import DbRunner
from confcall.store.writes import OrderedWrites

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _start(ref: str) -> dict:
    return {"reference": ref, "conference_ref": "conf-j", "role": "participant",
            "direction": "out", "number": "13900139000", "caller_id": "95000",
            "trunk": "span1", "channo": 3, "seized_at": T0, "box": "jbox"}


def _entries(ref: str) -> list[Entry]:
    end = {"channo": 3, "answered_at": T0 + timedelta(seconds=5),
           "ended_at": T0 + timedelta(seconds=65), "cause": 16}
    return [Entry(1, "conf-j", name_of(records._insert), [_start(ref)]),
            Entry(2, "conf-j", name_of(records._complete), [ref, end, _start(ref)])]


def test_appended_writes_are_read_back_and_a_torn_line_is_skipped(tmp_path):
    path = tmp_path / "var" / "writes.journal"  # its directory is created
    j = WriteJournal(path)
    j.append(_entries("conf-j/1"))
    with open(path, "ab") as f:
        f.write(b'{"n":3,"k":"conf-j","op":"money.rel')  # the crash came mid-line
    got = WriteJournal(path).read()
    assert [(e.seq, e.op) for e in got] == [(1, "call_log.insert"), (2, "call_log.complete")]
    assert got[1].args[1]["ended_at"] == T0 + timedelta(seconds=65)  # a datetime again
    assert j.appended == 2


def test_truncation_keeps_later_writes_and_drops_a_late_append_of_a_committed_one(tmp_path):
    path = tmp_path / "writes.journal"
    j = WriteJournal(path)
    first, second = _entries("conf-j/1")
    j.append([second])
    j.truncate_upto(1)  # write 1 committed; write 2 still waits
    assert [e.seq for e in j.read()] == [2]
    j.append([first])  # its append ran late, on another pool thread: already committed
    assert [e.seq for e in j.read()] == [2]
    j.truncate_upto(2)
    assert path.stat().st_size == 0


def test_a_new_run_numbers_after_the_previous_and_never_glues_onto_a_torn_line(tmp_path):
    path = tmp_path / "writes.journal"
    WriteJournal(path).append(_entries("conf-j/1"))
    with open(path, "ab") as f:
        f.write(b'{"n":3,"k":"conf-j","op":"money.rel')  # the first run died mid-line
    j = WriteJournal(path)  # the next run
    assert j.previous == 2
    n = j.number()
    assert n == 3  # after the previous run's writes
    j.append([Entry(n, "conf-k", name_of(records._insert), [_start("conf-k/1")])])
    assert [(e.seq, e.key) for e in j.read()] == [(1, "conf-j"), (2, "conf-j"), (3, "conf-k")]
    j.truncate_upto(3)  # this run's write committed: the previous run's wait for the replay
    assert [e.seq for e in j.read()] == [1, 2]
    j.forget_previous()
    assert path.stat().st_size == 0


def _money_entries(payer: str, ref: str) -> list[Entry]:
    answered, ended = T0 + timedelta(seconds=5), T0 + timedelta(seconds=65)
    leg = LegRecord(ref, "13900139000", T0, ended, answered)
    return [Entry(3, "conf-j", name_of(ops.settle_leg), [payer, "conf-j", leg, ended]),
            Entry(4, "conf-j", name_of(ops.close_conference), [payer, "conf-j", T0, ended])]


def test_replay_applies_each_write_once_and_keeps_a_refused_one_aside(tmp_path, store):
    payer = "+8613800138000"
    ops.create_account(store, payer, "482913", now=T0)
    ops.adjust(store, payer, 10_000, "fund", "test funding", now=T0)
    path = tmp_path / "writes.journal"
    entries = [*_entries("conf-j/1"), *_money_entries(payer, "conf-j/1")]
    refused = Entry(5, "conf-j", name_of(ops.release_leg), ["conf-j/unknown"])  # no hold
    WriteJournal(path).append([*entries, refused])  # the run that died
    lines = path.read_bytes()

    j = WriteJournal(path)  # the next run
    got = replay(store, j)
    assert (got.entries, got.applied, got.rejected) == (5, 4, 1)
    assert "1 REJECTED" in str(got)
    assert path.stat().st_size == 0
    assert (tmp_path / "writes.journal.rejected").read_bytes() == refused.line()
    assert j.number() == 6  # numbered after what it replayed

    def observed():
        with store.transaction() as s:
            rows = s.scalars(select(CallLog).where(CallLog.reference == "conf-j/1")).all()
            logged = [(r.cause, r.ended_at.replace(tzinfo=UTC) if r.ended_at.tzinfo is None
                       else r.ended_at) for r in rows]
            rated = s.scalars(select(Leg.amount_fen).where(Leg.reference == "conf-j/1")).all()
        bill = store.run(conference_bill, "conf-j")
        balance = ops.balance(store, payer)
        account_id = store.run(lambda sn: get_account(sn, payer).id)
        return (logged, rated, bill.total_fen, balance.balance_fen, balance.reserved_fen,
                store.run(audit, account_id))

    # 60 s to a long-distance mobile from Beijing: one minute at 20 fen
    first = observed()
    assert first == ([(16, T0 + timedelta(seconds=65))], [20], 20, 9_980, 0, (9_980, 9_980))

    path.write_bytes(lines)  # the same writes again (their "done" never reached the disk)
    again = replay(store, WriteJournal(path))
    assert (again.applied, again.rejected) == (4, 1)
    assert observed() == first  # nothing changed: not one fen
    assert (tmp_path / "writes.journal.rejected").read_bytes() == refused.line()  # kept once


def test_only_named_operations_are_journalled():
    assert name_of(ops.settle_leg) == "money.settle_leg"
    assert name_of(ops.close_conference) == "money.close_conference"
    assert name_of(records._interim) == "call_log.interim"
    assert name_of(ops.balance) is None  # a read: never journalled


# -- the journal behind the write queues (OrderedWrites) on the real DB thread pool ---------------
_OPENED: list[tuple[str, bool]] = []  # (path, on the reactor thread) while a test watches
_WATCHED: list[str] = []


def _audit(event: str, args: tuple) -> None:
    """Every file opened under a watched path, and whether the reactor (main) thread did it."""
    if event != "open" or not _WATCHED or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    path = os.fsdecode(args[0])
    if any(path.startswith(w) for w in _WATCHED):
        _OPENED.append((path, threading.current_thread() is threading.main_thread()))


sys.addaudithook(_audit)


def _queue_a_leg(writes: OrderedWrites, payer: str, ref: str) -> None:
    """What a conference queues when one participant's leg ends and it closes."""
    answered, ended = T0 + timedelta(seconds=5), T0 + timedelta(seconds=65)
    end = {"channo": 3, "answered_at": answered, "ended_at": ended, "cause": 16}
    conf = ref.rsplit("/", 1)[0]
    start = {**_start(ref), "conference_ref": conf}
    writes.call(conf, records._insert, start)
    writes.call(conf, records._complete, ref, end, start)
    writes.call_plain(conf, ops.settle_leg, payer, conf,
                      LegRecord(ref, "13900139000", T0, ended, answered), ended)
    writes.call_plain(conf, ops.close_conference, payer, conf, T0, ended)


def test_writes_wait_journalled_in_the_pool_and_the_next_run_replays_them(tmp_path, store):
    """The database away: every queued write is fsync'ed by a pool thread (never the reactor's)
    before it is tried again; the box dies; the next run's replay writes them to the exact fen.
    The database there: nothing touches the journal at all."""
    payer = "+8613800138000"
    ops.create_account(store, payer, "482913", now=T0)
    ops.adjust(store, payer, 10_000, "fund", "test funding", now=T0)
    path = tmp_path / "writes.journal"
    _WATCHED[:] = [str(path)]
    _OPENED.clear()
    down = Store("postgresql://postgres@127.0.0.1:1/confcall")  # nothing listens: refused
    pool = CountingPool(1, 4)
    clock = ThreadedClock(pool)
    pool.start()
    try:
        journal = WriteJournal(path)  # at start-up (reads the file once)
        writes = OrderedWrites(DbRunner(down, clock, pool=pool), clock, journal=journal)
        _OPENED.clear()
        _queue_a_leg(writes, payer, "conf-a/1")
        clock.settle()  # the first attempt is refused; the queue is made durable first
        opened = list(_OPENED)
        assert writes.failing and writes.pending() == 4 and writes.journaled == 4
        assert writes_line(writes_status(writes)).endswith(  # what the NOC sees
            "4 pending, the database refuses them (retried; 1 retries so far); 4 kept in the "
            "write journal")
        assert opened and not any(on_reactor for _, on_reactor in opened)  # the pool's
        assert [e.op for e in WriteJournal(path).read()] == [
            "call_log.insert", "call_log.complete", "money.settle_leg",
            "money.close_conference"]
    finally:
        pool.stop()  # the box dies with its writes waiting (the back-off timer never fires)
        down.dispose()

    _OPENED.clear()
    pool = CountingPool(1, 4)
    clock = ThreadedClock(pool)
    pool.start()
    try:  # the next run: the database is back
        runner = DbRunner(store, clock, pool=pool)
        journal = WriteJournal(path)
        replayed = []
        runner.call_plain(replay, journal).addCallback(replayed.append)
        clock.settle()
        assert [(r.entries, r.applied, r.rejected) for r in replayed] == [(4, 4, 0)]
        assert path.stat().st_size == 0
        bill = store.run(conference_bill, "conf-a")
        assert [leg.amount_fen for leg in bill.legs] == [20] and bill.total_fen == 20
        assert ops.balance(store, payer).balance_fen == 9_980

        _OPENED.clear()  # the happy path: the journal is not touched
        writes = OrderedWrites(runner, clock, journal=journal)
        _queue_a_leg(writes, payer, "conf-b/1")
        clock.settle()
        assert writes.idle() and not writes.failing and writes.journaled == 0
        assert _OPENED == [] and journal.appended == 0 and path.stat().st_size == 0
        assert store.run(conference_bill, "conf-b").total_fen == 20
        assert ops.balance(store, payer).balance_fen == 9_960
    finally:
        pool.stop()
        _WATCHED.clear()
