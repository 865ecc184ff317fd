"""A box that died mid-conference settles its own legs when it starts again (issue 13, item 5).

The database holds what a crash leaves: the legs of a conference in the call log with their
last interim "alive at" time and no end, their credit held, the conference unrated; a leg that
ended in the call log but whose rating was still queued; a hold whose leg never reached the
call log; an access call; and another box's live leg. The box (same ``[box] id``) starts: its
legs end at their last interim time with cause 41 and "box restart", the answered ones are
rated for exactly that long, the ended one as logged, every hold of its own is given back, the
conference is closed with its total, and the other box's leg and hold are left alone.
"""
import shutil
from datetime import timedelta

from sqlalchemy import select

from confcall import ids
from confcall.rating import ops
from confcall.rating.cdr import conference_bill
from confcall.store import Store
from confcall.store.models import CallLog, Reservation
from tests.pgcluster import template

from box_harness import NOW

A, B, C, D = "13800138000", "13900139000", "13700137000", "13600136000"
T0 = NOW - timedelta(hours=1)  # when the dead box's conference started


def _leg(ref, conf, role, number, box, seized_s, answered_s=None, alive_s=None, direction="out",
         end_s=None, t0=T0):
    def at(seconds):
        return None if seconds is None else t0 + timedelta(seconds=seconds)
    return CallLog(reference=ref, conference_ref=conf, role=role, direction=direction,
                   number=number, caller_id="95000", trunk="span1", channo=1,
                   seized_at=at(seized_s), answered_at=at(answered_s), alive_at=at(alive_s),
                   ended_at=at(end_s), cause=None if end_s is None else 16, box=box)


def _crashed_box_state(url: str) -> str:
    store = Store(url)
    payer = "+86" + A
    ops.create_account(store, payer, "482913", now=T0)
    ops.adjust(store, payer, 10_000, "fund", "test funding", now=T0)
    conf = "crashbox-conf-1"
    previous = ids.box_id()
    try:
        ids.set_box_id("otherbox")
        ops.authorize_leg(store, payer, "otherbox-conf", "otherbox-conf/1", D, T0)
        ids.set_box_id("crashbox")
        for ref, number in ((f"{conf}/0", A), (f"{conf}/1", B), (f"{conf}/2", C),
                            (f"{conf}/3", "13500135000"), (f"{conf}/4", D)):
            ops.authorize_leg(store, payer, conf, ref, number, T0)
    finally:
        ids.set_box_id(previous)
    with store.transaction() as s:
        s.add_all([
            _leg("in1-1", "in1-1", "access", A, "crashbox", 0, direction="in"),
            _leg(f"{conf}/0", conf, "callback", A, "crashbox", 2, 5, 65),  # 60 s up
            _leg(f"{conf}/1", conf, "participant", B, "crashbox", 10, 20, 65),  # 45 s up
            _leg(f"{conf}/2", conf, "participant", C, "crashbox", 60),  # ringing
            # conf/3: held, its leg never reached the call log
            # conf/4: ended in the call log (90 s), its rating still queued when the box died
            _leg(f"{conf}/4", conf, "participant", D, "crashbox", 5, 8, 60, end_s=98),
            _leg("otherbox-conf/1", "otherbox-conf", "participant", D, "otherbox", 0, 3, 60),
        ])
    store.dispose()
    return conf


def test_restart_closes_rates_and_releases_the_dead_boxs_legs(box, tmp_path):
    db = tmp_path / "crashed.db"
    shutil.copyfile(template("sqlite", None), db)
    url = f"sqlite:///{db}"
    conf = _crashed_box_state(url)
    bx = box(db_url=url, config={"box_id": "crashbox"})
    assert bx.run_until(lambda: getattr(bx.daemon, "recovered", None) is not None, 5)
    got = bx.daemon.recovered
    assert (got.legs_closed, got.legs_rated, got.holds_released, got.conferences_closed,
            got.failed) == (4, 3, 2, 1, 0)  # C ringing, conf/3 unrecorded

    with bx.store.transaction() as s:
        rows = {r.reference: r for r in s.scalars(select(CallLog))}
        holds = {r.reference: r.state for r in s.scalars(select(Reservation))}
    for ref in ("in1-1", f"{conf}/0", f"{conf}/1", f"{conf}/2"):
        r = rows[ref]
        assert (r.cause, r.end_reason) == (41, "box restart")
        assert r.ended_at == (r.alive_at or r.seized_at)
    assert rows["otherbox-conf/1"].ended_at is None  # not this box's

    bill = bx.store.run(conference_bill, conf)
    fen = {leg.reference: (leg.duration_s, leg.amount_fen) for leg in bill.legs}
    # A: 60 s, a Beijing mobile (mobile_local, 12 fen/min); B: 45 s in Shanghai (20 fen/min);
    # D: 90 s as logged, a mobile elsewhere (20 fen/min, 2 minutes)
    assert fen == {f"{conf}/0": (60, 12), f"{conf}/1": (45, 20), f"{conf}/4": (90, 40)}
    assert bill.total_fen == 72 and bill.ended_at == T0 + timedelta(seconds=98)
    assert holds == {f"{conf}/0": "settled", f"{conf}/1": "settled", f"{conf}/2": "released",
                     f"{conf}/3": "released", f"{conf}/4": "settled",
                     "otherbox-conf/1": "held"}
    assert rows[f"{conf}/4"].cause == 16 and rows[f"{conf}/4"].end_reason is None
    balance = ops.balance(bx.store, "+86" + A)
    assert balance.balance_fen == 10_000 - 72
    other_hold = bx.store.run(lambda s: s.scalar(select(Reservation.amount_fen).where(
        Reservation.reference == "otherbox-conf/1")))
    assert balance.reserved_fen == other_hold > 0  # only the other box's live leg

    # a second start finds nothing left to do
    bx.daemon._recover()
    assert bx.run_until(lambda: bx.daemon.writes.idle(), 5)
    assert str(bx.daemon.recovered).startswith("0 unfinished leg(s)")


def test_restart_with_a_clock_earlier_than_the_dead_run_still_closes_its_legs(box, tmp_path):
    """The box's clock comes back earlier than it was when the box died (a power cut with the
    clock not yet set by NTP, a clock stepped back): the dead run's legs "started" after this
    run did. They are still this box's previous run's (the box takes no call before its
    recovery is done) and are closed, rated and released all the same."""
    db = tmp_path / "crashed.db"
    shutil.copyfile(template("sqlite", None), db)
    url = f"sqlite:///{db}"
    later = NOW + timedelta(hours=2)  # the dead run's clock; the new one starts at NOW
    store = Store(url)
    payer = "+86" + A
    ops.create_account(store, payer, "482913", now=NOW)
    ops.adjust(store, payer, 10_000, "fund", "test funding", now=NOW)
    conf = "crashbox-conf-2"
    previous = ids.box_id()
    try:
        ids.set_box_id("crashbox")
        for ref, number in ((f"{conf}/0", A), (f"{conf}/1", B)):
            ops.authorize_leg(store, payer, conf, ref, number, later)
    finally:
        ids.set_box_id(previous)
    with store.transaction() as s:
        s.add_all([_leg(f"{conf}/0", conf, "callback", A, "crashbox", 2, 5, 65, t0=later),
                   _leg(f"{conf}/1", conf, "participant", B, "crashbox", 10, 20, 65, t0=later)])
    store.dispose()

    bx = box(db_url=url, config={"box_id": "crashbox"})  # its second 0 is NOW
    assert bx.run_until(lambda: getattr(bx.daemon, "recovered", None) is not None, 5)
    got = bx.daemon.recovered
    assert (got.legs_closed, got.legs_rated, got.holds_released, got.conferences_closed,
            got.failed) == (2, 2, 0, 1, 0)
    bill = bx.store.run(conference_bill, conf)
    assert {leg.reference: (leg.duration_s, leg.amount_fen) for leg in bill.legs} == {
        f"{conf}/0": (60, 12), f"{conf}/1": (45, 20)}
    assert bill.total_fen == 32
    balance = ops.balance(bx.store, payer)
    assert (balance.balance_fen, balance.reserved_fen) == (10_000 - 32, 0)
    with bx.store.transaction() as s:
        assert s.scalars(select(CallLog.reference).where(CallLog.ended_at.is_(None))).all() == []
