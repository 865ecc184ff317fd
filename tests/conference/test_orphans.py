"""A box that dies for good: another box on the same database closes its rows (issue 13).

Box A (``[box] id`` box-a) carries a two-party conference, then vanishes as a killed process
does (no shutdown: its clock, span, switch and DB pool simply stop). Box B (box-b) runs on the
same database, on SQLite and on PostgreSQL, with the real DB thread pool in virtual time. B
must not touch A's rows while A could merely be slow (within ``[fleet] dead_after_s``); once
A was not seen for that long, B closes every answered leg of A at its last interim record
("box lost", cause 41), rates it to the exact fen, releases every hold and closes the
conference; the ledger equals the balance. A coming back afterwards finds nothing to close,
charges nothing more, and is told it was declared dead.
"""
import math
from datetime import timedelta

from sqlalchemy import func, select

from confcall.conference.callback import CallbackPolicy
from confcall.rating import ops
from confcall.rating.accounts import get_account
from confcall.rating.ledger import audit
from confcall.store.models import BoxSeen, CallLog, Conference, Leg, Reservation

from box_harness import CALLER_ID, NOW, Box
from scenarios import A, B, two_party_conference
from tests.pgcluster import db_url, pg_cluster  # noqa: F401

FLEET = {"box_id": "box-a", "acct_interim_s": 5.0, "fleet_heartbeat_s": 5.0,
         "fleet_dead_after_s": 30.0, "booking_lease_s": 6.0, "booking_poll_s": 1.0,
         "booking_claim_ahead_s": 3.0}
# no callback redial: box B, taking over A's callback booking, must not ring A again
NO_REDIAL = CallbackPolicy(delay_s=2.0, retries=0, retry_interval_s=20.0, caller_id=CALLER_ID)
PER_MINUTE = {A: 12, B: 20}  # A: mobile local; B: long distance (the default plan)


def box(tmp_path, name: str, url: str, box_id: str, epoch) -> Box:
    (tmp_path / name).mkdir()
    return Box(tmp_path / name, db_url=url, epoch=epoch, callback=NO_REDIAL,
               config_overrides={**FLEET, "box_id": box_id})


def rows_of(store, box_id: str):
    with store.transaction() as s:
        legs = {r.reference: r for r in s.scalars(select(CallLog).where(CallLog.box == box_id))}
        held = s.scalar(select(func.count()).select_from(Reservation).where(
            Reservation.state == "held"))
        rated = {r.reference: r for r in s.scalars(select(Leg))}
        open_confs = s.scalar(select(func.count()).select_from(Conference).where(
            Conference.ended_at.is_(None)))
        return legs, held, rated, open_confs


def test_a_dead_box_is_reaped_once_by_a_live_box(db_url, tmp_path):  # noqa: F811
    bx = box(tmp_path, "a", db_url, "box-a", NOW)
    call = two_party_conference(bx, keys="##", talk_s=12)
    conf_ref = bx.sessions[0].reference
    died = bx.vanish()

    nb = box(tmp_path, "b", db_url, "box-b", NOW + timedelta(seconds=died + 1))
    try:
        nb.run(20)  # A not seen for ~21 s < dead_after_s: merely slow, maybe; left alone
        legs, held, _, _ = rows_of(nb.store, "box-a")
        answered = {r.reference: r for r in legs.values() if r.answered_at is not None
                    and r.role != "access"}
        assert {r.number for r in answered.values()} == {A, B}
        assert all(r.ended_at is None for r in answered.values())
        assert held == 2 and nb.daemon.fleet.reaped == []

        assert nb.run_until(lambda: bool(nb.daemon.fleet.reaped), 20)
        assert nb.run_until(nb.daemon.writes.idle, 5)
        (who, got), = nb.daemon.fleet.reaped
        assert who == "box-a"
        assert (got.legs_closed, got.legs_rated, got.conferences_closed, got.failed) == \
            (2, 2, 1, 0)

        legs, held, rated, open_confs = rows_of(nb.store, "box-a")
        assert held == 0 and open_confs == 0
        fen = {}
        for ref, r in answered.items():
            r = legs[ref]
            assert (r.cause, r.end_reason) == (41, "box lost")
            assert r.ended_at == r.alive_at  # its last interim record
            seconds = math.ceil((r.alive_at - r.answered_at).total_seconds())
            assert seconds >= 5  # interim records were written while it talked
            assert rated[ref].duration_s == seconds
            fen[r.number] = rated[ref].amount_fen
            assert fen[r.number] == PER_MINUTE[r.number] * math.ceil(seconds / 60)
        total = nb.store.run(lambda s: s.scalar(select(Conference.total_fen).where(
            Conference.reference == conf_ref)))
        assert total == sum(fen.values())
        balance = ops.balance(nb.store, call.payer)
        assert (balance.balance_fen, balance.reserved_fen) == (10_000 - total, 0)
        account_id = nb.store.run(lambda s: get_account(s, call.payer).id)
        assert nb.store.run(audit, account_id) == (balance.balance_fen, balance.balance_fen)
        seen = nb.store.run(lambda s: s.scalar(select(BoxSeen).where(BoxSeen.box == "box-a")))
        assert seen.reaped_by == "box-b" and seen.reaping_by is None
        nb.run(15)  # later scans find nothing more to do
        assert len(nb.daemon.fleet.reaped) == 1
        nb.daemon.watch.refresh()  # the NOC's metrics say so
        reg = nb.daemon.watch.metrics.registry
        assert (reg.get_sample_value("confcall_fleet_boxes_reaped"),
                reg.get_sample_value("confcall_fleet_heartbeat_ok")) == (1, 1)
        b_now = nb.clock.now
    finally:
        nb.close()

    # A comes back: nothing left to close, nothing charged twice; it is told what happened
    again = box(tmp_path, "a2", db_url, "box-a", nb.epoch + timedelta(seconds=b_now + 5))
    try:
        assert again.run_until(lambda: again.daemon.recovered is not None, 5)
        assert str(again.daemon.recovered).startswith("0 unfinished leg(s) closed")
        told = again.daemon.fleet.declared_dead
        assert told is not None and told.by == "box-b"
        _, held, rated2, _ = rows_of(again.store, "box-a")
        assert held == 0 and set(rated2) == set(rated)
        assert ops.balance(again.store, call.payer).balance_fen == 10_000 - total
    finally:
        again.close()
