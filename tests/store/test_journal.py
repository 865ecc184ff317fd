"""The write journal file (confcall.store.journal) on both engines: what is appended survives,
a line cut short by a crash is skipped, a late append of a committed write is not kept, the
replay applies each write once (a second replay of the same lines changes nothing) and keeps a
write the database refuses aside for the operator. The end-to-end case (a box killed while the
database is away) is tests/conference/test_db_outage_kill9.py."""
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from confcall.conference import records
from confcall.rating import ops
from confcall.store.journal import Entry, WriteJournal, name_of, replay
from confcall.store.models import CallLog

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


def test_replay_applies_each_write_once_and_keeps_a_refused_one_aside(tmp_path, store):
    path = tmp_path / "writes.journal"
    j = WriteJournal(path)
    entries = _entries("conf-j/1")
    refused = Entry(3, "conf-j", name_of(ops.release_leg), ["conf-j/unknown"])  # no hold
    j.append([*entries, refused])
    lines = path.read_bytes()

    got = replay(store, j)
    assert (got.entries, got.applied, got.rejected) == (3, 2, 1)
    assert "1 REJECTED" in str(got)
    assert path.stat().st_size == 0
    assert (tmp_path / "writes.journal.rejected").read_bytes() == refused.line()

    path.write_bytes(lines)  # the same writes again (their "done" never reached the disk)
    again = replay(store, WriteJournal(path))
    assert (again.applied, again.rejected) == (2, 1)
    with store.transaction() as s:
        rows = s.scalars(select(CallLog).where(CallLog.reference == "conf-j/1")).all()
        assert [(r.cause, r.ended_at.replace(tzinfo=UTC) if r.ended_at.tzinfo is None
                 else r.ended_at) for r in rows] == [(16, T0 + timedelta(seconds=65))]


def test_only_named_operations_are_journalled():
    assert name_of(ops.settle_leg) == "money.settle_leg"
    assert name_of(ops.close_conference) == "money.close_conference"
    assert name_of(records._interim) == "call_log.interim"
    assert name_of(ops.balance) is None  # a read: never journalled
