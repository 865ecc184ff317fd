"""The billing record of a charged leg and its RADIUS outbox rows, written in the transactions of
the call log and the rating (both engines): each record once, whichever half commits first."""
import json

import pytest
from sqlalchemy import select

from confcall.billing import handoff
from confcall.ids import box_id
from confcall.rating import ops
from confcall.rating.cdr import LegRecord
from confcall.store.models import AcctRecord, BilledLeg, Leg
from tests.billing.charged_legs import T0, account, answered_leg, at, call


def outbox(store, session_id=None):
    def fn(s):
        q = select(AcctRecord).order_by(AcctRecord.id)
        if session_id:
            q = q.where(AcctRecord.session_id == session_id)
        return [(r.record_id, r.status, json.loads(r.attributes)) for r in s.scalars(q)]
    return store.run(fn)


def billed(store, ref):
    return store.run(lambda s: s.scalar(select(BilledLeg).where(BilledLeg.leg_ref == ref)))


@pytest.mark.parametrize("log_first", [True, False], ids=["log-then-rate", "rate-then-log"])
def test_start_interims_stop_once_whichever_half_ends_first(store, radius_outbox, log_first):
    payer = account(store, "+8613800138000")
    bill = call(store, payer, "conf-1", "conf-1/1", "02087654321", at(10), 150.4,
                interims=60, cause=16, log_first=log_first)
    leg = billed(store, "conf-1/1")
    assert leg.session_id.startswith(f"{box_id()}-acct-") and leg.stopped_at == at(160.4)
    rows = outbox(store)
    assert [r[1] for r in rows] == ["start", "interim", "interim", "stop"]
    assert [r[0] for r in rows] == [f"{leg.session_id}/start", f"{leg.session_id}/interim/1",
                                    f"{leg.session_id}/interim/2", f"{leg.session_id}/stop"]
    start, i1, i2, stop = (r[2] for r in rows)
    for a in (start, i1, i2, stop):
        assert a["Acct-Session-Id"] == leg.session_id
        assert a["Acct-Multi-Session-Id"] == a["Confcall-Conference-Id"] == "conf-1"
        assert a["User-Name"] == a["Confcall-Account"] == payer
        assert a["Called-Station-Id"] == "02087654321"
        assert a["Confcall-Answer-Time"] == int(at(10).timestamp())
    assert start["Acct-Status-Type"] == "Start" and start["Acct-Session-Time"] == 0
    assert start["Event-Timestamp"] == int(at(10).timestamp())
    assert (i1["Acct-Session-Time"], i1["Confcall-Interim-Seq"]) == (60, 1)
    assert (i2["Acct-Session-Time"], i2["Confcall-Interim-Seq"]) == (120, 2)
    assert stop["Acct-Status-Type"] == "Stop" and stop["Acct-Terminate-Cause"] == "User-Request"
    # Guangzhou from Beijing: long distance, 30 fen a started minute, 151 s -> 3 min
    assert stop["Acct-Session-Time"] == 151 == bill.duration_s
    assert stop["Confcall-Billed-Seconds"] == 180 and stop["Confcall-Charge-Fen"] == 90
    assert stop["Confcall-Number-Class"] == "Long-Distance"
    assert stop["Confcall-Q850-Cause"] == 16
    assert stop["Event-Timestamp"] == int(at(160.4).timestamp())
    assert bill.amount_fen == 90 == leg.charge_fen
    # replayed transactions (a retry after a lost commit) change nothing
    store.run(handoff.leg_logged, "conf-1/1", at(160.4), 16)
    store.run(handoff.leg_interim, "conf-1/1", at(170))
    ops.settle_leg(store, payer, "conf-1", LegRecord("conf-1/1", "02087654321", at(7),
                                                       at(160.4), at(10)), now=at(161))
    assert len(outbox(store)) == 4


def test_network_loss_is_reported_as_lost_service(store, radius_outbox):
    payer = account(store, "+8613800138000")
    call(store, payer, "c", "c/1", "13900139000", at(0), 30, cause=38)
    stop = outbox(store)[-1][2]
    assert stop["Acct-Terminate-Cause"] == "Lost-Service" and stop["Confcall-Q850-Cause"] == 38


def test_a_leg_rated_without_a_recorded_answer_is_still_handed_off(store, radius_outbox):
    payer = account(store, "+8613800138000")
    ops.authorize_leg(store, payer, "c", "c/1", "13900139000", now=at(0))
    ops.settle_leg(store, payer, "c", LegRecord("c/1", "13900139000", at(0), at(70), at(5)),
                   now=at(70))
    assert [r[1] for r in outbox(store)] == ["start"]  # the end time and cause are still due
    store.run(handoff.leg_logged, "c/1", at(70), 16)
    rows = outbox(store)
    assert [r[1] for r in rows] == ["start", "stop"]
    assert rows[1][2]["Acct-Session-Time"] == 65 and rows[1][2]["Confcall-Charge-Fen"] == 40


def test_uncharged_and_unanswered_legs_are_not_handed_off(store, radius_outbox):
    payer = account(store, "+8613800138000")
    assert store.run(handoff.leg_answered, "svc/1", conference_ref="svc", role="participant",
                     calling="", called="95001", trunk="span1", channo=1, seized_at=at(0),
                     answered_at=at(1)) is None  # no credit hold: a free call
    ops.authorize_leg(store, payer, "c", "c/1", "13900139000", now=at(0))
    ops.settle_leg(store, payer, "c", LegRecord("c/1", "13900139000", at(0), at(30)),
                   now=at(30))  # rang, never answered
    assert outbox(store) == [] and billed(store, "c/1") is None


def test_without_radius_servers_the_billing_record_is_kept_but_nothing_queued(store):
    payer = account(store, "+8613800138000")
    call(store, payer, "c", "c/1", "13900139000", at(0), 61)
    assert outbox(store) == []
    leg = billed(store, "c/1")
    legs = store.run(lambda s: s.scalars(select(Leg.amount_fen)).all())
    assert leg.stopped_at is not None and leg.charge_fen == 40 == legs[0]  # 2 min mobile
    assert leg.answered_at == T0 and leg.ended_at == at(61) and leg.cause == 16


def test_the_legs_of_a_conference_share_its_id_and_each_has_its_own_session(store,
                                                                            radius_outbox):
    payer = account(store, "+8613800138000")
    answered_leg(store, payer, "c", "c/0", "13800138000", at(0), role="callback")
    call(store, payer, "c", "c/1", "13900139000", at(5), 20)
    call(store, payer, "c", "c/2", "13700137000", at(6), 20)
    rows = outbox(store)
    sessions = {r[2]["Acct-Session-Id"] for r in rows}
    assert len(sessions) == 3 and {r[2]["Acct-Multi-Session-Id"] for r in rows} == {"c"}
    roles = {r[2]["Acct-Session-Id"]: r[2]["Confcall-Leg-Role"] for r in rows}
    assert sorted(roles.values()) == ["Initiator", "Participant", "Participant"]
