"""Two live boxes reap one dead box at the same moment: one wins, every row is settled once
(issue 13, fleet). And the dead box coming back while it is being reaped (its own restart
recovery and the reaper on the same rows at once): each leg rated once, each hold settled
once. On SQLite and on PostgreSQL, each reaper on its own connection pool in its own thread,
released together by a barrier.

The dead box's rows are what a crash leaves (test_restart_recovery's state: legs with their
last interim record and no end, holds, an unrated conference, another box's live leg).
"""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from confcall.conference.recovery import recover_box
from confcall.fleet import BOX_LOST, ReapRefused, dead_boxes, heartbeat, reap
from confcall.rating import ops
from confcall.rating.accounts import get_account
from confcall.rating.cdr import conference_bill
from confcall.rating.ledger import audit
from confcall.store import Store
from confcall.store.models import BoxSeen, CallLog, Leg, Reservation
from tests.pgcluster import db_url, pg_cluster  # noqa: F401

from box_harness import NOW
from test_restart_recovery import A, T0, _crashed_box_state

DEAD_AFTER = 300.0


def at_once(fns):
    """Run each fn in its own thread, all released together; their results in order."""
    barrier = threading.Barrier(len(fns))
    results: list = [None] * len(fns)
    errors: list = []

    def run(i, fn):
        barrier.wait()
        try:
            results[i] = fn()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return results


def crashed(url):
    conf = _crashed_box_state(url)
    store = Store(url)
    for box, seen in (("crashbox", T0 + timedelta(seconds=65)), ("box-b", NOW),
                      ("box-c", NOW), ("otherbox", NOW - timedelta(seconds=DEAD_AFTER - 1))):
        store.run(heartbeat, box=box, now=seen, started=True)
    return store, conf


def settled_once(store, conf):
    """The crashed box's rows, settled exactly once (the figures of test_restart_recovery)."""
    bill = store.run(conference_bill, conf)
    assert {leg.reference: (leg.duration_s, leg.amount_fen) for leg in bill.legs} == {
        f"{conf}/0": (60, 12), f"{conf}/1": (45, 20), f"{conf}/4": (90, 40)}
    assert bill.total_fen == 72
    with store.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Leg)) == 3
        holds = dict(s.execute(select(Reservation.reference, Reservation.state)).all())
        still_open = s.scalars(select(CallLog.reference).where(
            CallLog.ended_at.is_(None))).all()
    assert holds == {f"{conf}/0": "settled", f"{conf}/1": "settled", f"{conf}/2": "released",
                     f"{conf}/3": "released", f"{conf}/4": "settled",
                     "otherbox-conf/1": "held"}
    assert still_open == ["otherbox-conf/1"]  # seen 299 s ago: slow, not dead
    payer = "+86" + A
    balance = ops.balance(store, payer)
    assert balance.balance_fen == 10_000 - 72
    account_id = store.run(lambda s: get_account(s, payer).id)
    assert store.run(audit, account_id) == (balance.balance_fen, balance.balance_fen)


def test_two_reapers_at_once_one_winner(db_url):  # noqa: F811
    store, conf = crashed(db_url)
    b, c = Store(db_url), Store(db_url)
    try:
        assert store.run(dead_boxes, me="box-b", now=NOW, dead_after_s=DEAD_AFTER) == \
            ["crashbox"]  # never itself, never otherbox (seen within dead_after_s)
        got = at_once([
            lambda: reap(b, "crashbox", me="box-b", now=NOW, dead_after_s=DEAD_AFTER),
            lambda: reap(c, "crashbox", me="box-c", now=NOW, dead_after_s=DEAD_AFTER)])
        winners = [r for r in got if r is not None]
        assert len(winners) == 1, got
        w = winners[0]
        assert (w.legs_closed, w.legs_rated, w.holds_released, w.conferences_closed,
                w.failed) == (4, 3, 2, 1, 0)
        settled_once(store, conf)
        with store.transaction() as s:
            row = s.scalar(select(BoxSeen).where(BoxSeen.box == "crashbox"))
            reasons = set(s.scalars(select(CallLog.end_reason).where(
                CallLog.box == "crashbox", CallLog.cause == 41)))
        assert row.reaped_by in ("box-b", "box-c") and row.reaping_by is None
        assert reasons == {BOX_LOST}
        # reaped: no longer a candidate; another reap finds it already done
        assert store.run(dead_boxes, me="box-b", now=NOW, dead_after_s=DEAD_AFTER) == []
        assert reap(b, "crashbox", me="box-b", now=NOW, dead_after_s=DEAD_AFTER) is None
        # a box merely slow (seen 299 s ago) is not reaped, and a box never reaps itself
        assert reap(b, "otherbox", me="box-b", now=NOW, dead_after_s=DEAD_AFTER) is None
        with pytest.raises(ReapRefused):
            reap(b, "box-b", me="box-b", now=NOW, dead_after_s=DEAD_AFTER)
        settled_once(store, conf)
    finally:
        for s in (store, b, c):
            s.dispose()


def test_dead_box_back_while_reaped_settles_each_row_once(db_url):  # noqa: F811
    """The reaper and the dead box's own restart recovery run on the same rows at once."""
    store, conf = crashed(db_url)
    b, own = Store(db_url), Store(db_url)
    try:
        got = at_once([
            lambda: recover_box(b, "crashbox", NOW, reason=BOX_LOST),
            lambda: recover_box(own, "crashbox", NOW)])
        assert sum(r.fen for r in got) == 72  # each leg rated by one of them only
        assert sum(r.legs_rated for r in got) == 3
        assert sum(r.failed for r in got) == 0
        settled_once(store, conf)
    finally:
        for s in (store, b, own):
            s.dispose()
