"""CDR files for a simulated busy hour (SQLite; the rest on both engines): 30 conferences
rated by the real rating, files rotated by time and by count on a virtual clock — every
answered leg in exactly one file, the files' totals equal to the database's, atomic writes
with checksums, any period re-created byte for byte, and a file allocated before a crash
written after it."""
import csv
import hashlib
import io
import random
from datetime import timedelta
from itertools import pairwise

from sqlalchemy import select
from twisted.internet import task

from confcall.billing import cdrfiles, handoff
from confcall.billing.cdrfiles import HEADER, CdrPolicy
from confcall.clock import every
from confcall.ids import box_id
from confcall.rating import ops
from confcall.rating.cdr import LegRecord
from confcall.store.models import BilledLeg, CdrFile, Leg
from tests.billing.charged_legs import account, answered_leg, at, call

DESTS = ["02087654321", "13900139000", "01062345678", "13700137000", "02161234567"]


def read(path):
    data = path.read_bytes()
    text = data.decode("utf-8")
    return data, text.split("\r\n", 1)[0], list(csv.DictReader(io.StringIO(text)))


def busy_hour(store, clock, rng):
    """30 conferences over an hour: a callback leg and 1-4 participants each, some of whom
    never answer; either half of each leg's end may commit first."""
    payers = [account(store, f"+86138001380{i:02d}") for i in range(5)]
    payers.append(account(store, "+8613800138099", fen=0, mode="carrier"))
    answered = 0
    for c in range(30):
        start = rng.uniform(0, 3400)
        payer, conf = rng.choice(payers), f"conf{c}"
        legs = [(f"{conf}/0", payer.replace("+86", ""), "callback", True)]
        for p in range(rng.randint(1, 4)):
            legs.append((f"{conf}/{p + 1}", rng.choice(DESTS), "participant",
                         rng.random() > 0.2))
        for ref, dialled, role, answers in legs:
            t = start + rng.uniform(0, 30)
            seconds = rng.uniform(20, 600)
            answered += answers
            clock.callLater(t, begin, store, payer, conf, ref, dialled, role, answers)
            clock.callLater(t + seconds, end, store, payer, conf, ref, dialled, t, seconds,
                            answers, rng.random() < 0.5)
    return answered


def begin(store, payer, conf, ref, dialled, role, answers):
    if answers:
        answered_leg(store, payer, conf, ref, dialled, at(0) + timedelta(seconds=0), role=role)
    else:
        ops.authorize_leg(store, payer, conf, ref, dialled, now=at(0))


def end(store, payer, conf, ref, dialled, t, seconds, answers, log_first):
    seized, ended = at(t) - timedelta(seconds=3), at(t + seconds)
    record = LegRecord(ref, dialled, seized, ended, at(t) if answers else None)
    steps = [lambda: store.run(handoff.leg_logged, ref, ended, 16),
             lambda: ops.settle_leg(store, payer, conf, record, now=ended)]
    for step in (steps if log_first else steps[::-1]):
        step()


def test_a_busy_hour_of_cdr_files(sqlite_store, tmp_path):
    store = sqlite_store
    rng = random.Random(17)
    clock = task.Clock()
    policy = CdrPolicy(tmp_path / "cdr", rotate_s=600, rotate_records=25)
    written = []
    loop = every(clock, 30.0, lambda: written.extend(
        cdrfiles.flush(store, box_id(), policy, at(clock.seconds()))))
    answered = busy_hour(store, clock, rng)
    for _ in range(5400 // 5):
        clock.advance(5)  # the hour, the calls still up after it, the last rotation
    loop.stop()

    legs = store.run(lambda s: s.scalars(select(Leg).where(Leg.answered_at.is_not(None))).all())
    billed = store.run(lambda s: {b.session_id: b for b in s.scalars(select(BilledLeg))})
    assert len(legs) == answered == len(billed) > 60
    files = sorted(policy.directory.glob("*.csv"))
    assert [f.path for f in written] == files
    assert [int(f.name.split("_")[2]) for f in files] == list(range(1, len(files) + 1))
    seen = []
    for f in files:
        data, header, rows = read(f)
        assert header == HEADER and not data.startswith(b"\xef\xbb\xbf")
        assert 0 < len(rows) <= 25
        side = f.with_name(f.name + ".sha256").read_text()
        assert side == f"{hashlib.sha256(data).hexdigest()}  {f.name}\n"
        seen += [r["record_id"] for r in rows]
        for r in rows:
            b = billed[r["record_id"]]
            assert (int(r["charge_fen"]), int(r["duration_s"]), r["account"]) == \
                (b.charge_fen, b.duration_s, b.account)
    assert sorted(seen) == sorted(billed)  # every answered leg in exactly one file
    by_ref = {b.leg_ref: b.session_id for b in billed.values()}
    assert sorted(by_ref[leg.reference] for leg in legs) == sorted(seen)
    total = sum(int(r["charge_fen"]) for f in files for r in read(f)[2])
    assert total == sum(leg.amount_fen for leg in legs) > 0
    db_files = store.run(lambda s: s.scalars(select(CdrFile).order_by(CdrFile.seq)).all())
    assert sum(f.total_fen for f in db_files) == total
    assert all(f.written_at is not None and f.sha256 for f in db_files)
    assert {b.billing_mode for b in billed.values()} == {"prepaid", "carrier"}
    # files close on count (25) or ten minutes after the previous one
    gaps = [(b.created_at - a.created_at).total_seconds() for a, b in pairwise(db_files)]
    assert all(f.records == 25 or gap >= 600 for f, gap in zip(db_files[1:], gaps, strict=True))
    assert any(f.records == 25 for f in db_files) and any(f.records < 25 for f in db_files)

    # any period re-created: the same files, byte for byte; or one file for the period
    again = tmp_path / "again"
    redo, loose = cdrfiles.export_files(store, at(1200), at(2400), again)
    assert loose == 0 and redo
    for w in redo:
        assert w.path.read_bytes() == (policy.directory / w.path.name).read_bytes()
    one = cdrfiles.export_period(store, at(1200), at(2400), again)
    rows = read(one.path)[2]
    expect = {b.session_id for b in billed.values() if at(1200) <= b.ended_at < at(2400)}
    assert {r["record_id"] for r in rows} == expect and one.records == len(expect)


def test_a_file_allocated_before_a_crash_is_written_after_it(store, tmp_path, monkeypatch):
    payer = account(store, "+8613800138000")
    for i in range(3):
        call(store, payer, f"c{i}", f"c{i}/1", "13900139000", at(10 * i), 30)
    policy = CdrPolicy(tmp_path, rotate_s=60, rotate_records=100)

    def crash(path, data):
        raise OSError("disk gone")
    monkeypatch.setattr(cdrfiles, "write_atomically", crash)
    try:
        cdrfiles.flush(store, box_id(), policy, at(200))
    except OSError:
        pass
    assert list(tmp_path.glob("*.csv*")) == []
    monkeypatch.undo()
    files = cdrfiles.flush(store, box_id(), policy, at(300))
    assert [f.seq for f in files] == [1] and files[0].records == 3
    assert files[0].path.name.endswith("_00000001_20261125T040320Z.csv")  # its allocation time
    assert cdrfiles.flush(store, box_id(), policy, at(400)) == []
