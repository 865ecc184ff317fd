"""Outbound calls through the real libpri CPE to the real libpri NET switch: every outcome
with its cause on both sides; a full E1; a T1 with T1 switch types; glare."""
import pytest

from confcall.dahdi.legs import Cause, LegState
from confcall.sim import SimPhone


def test_answered_then_we_hang_up(pri):
    h = pri()
    h.switch.add_phone(SimPhone("13800138000", answer_after=3.0))
    leg = h.trunk.dial("13800138000", caller_id="95000")
    assert h.run_until(lambda: leg.answered, 10)
    assert leg.kinds() == ["proceeding", "ringing", "media", "answered"]
    assert leg.chanpos == 31 and leg.channo == 31  # from the top of the span
    assert 2.9 < leg.answered_at - leg.seized_at < 3.3
    rec = h.switch.records[0]
    assert (rec.calling, rec.called, rec.chanpos) == ("95000", "13800138000", 31)
    h.run(5)
    leg.hangup()
    assert h.run_until(lambda: leg.state is LegState.CLEARED and rec.ended, 5)
    assert rec.cleared_by == "confcall" and rec.cause == Cause.NORMAL_CLEARING
    assert rec.connected
    assert h.trunk.free_channels() == 30


def test_far_end_hangs_up_mid_call(pri):
    h = pri()
    h.switch.add_phone(SimPhone("13800138001", answer_after=1.0, hangup_after=4.0))
    leg = h.trunk.dial("13800138001")
    assert h.run_until(lambda: leg.state is LegState.CLEARED, 10)
    assert leg.kinds()[-2:] == ["hangup", "cleared"]
    assert leg.cause == Cause.NORMAL_CLEARING and leg.answered
    assert 3.9 < leg.ended_at - leg.answered_at < 4.3
    assert h.switch.records[0].cleared_by == "switch"


@pytest.mark.parametrize("behaviour, number, cause", [
    ("busy", "13800138002", Cause.USER_BUSY),
    ("unreachable", "13800138003", Cause.SUBSCRIBER_ABSENT),
    (None, "13999999999", Cause.UNALLOCATED),
])
def test_failures_carry_the_network_cause(pri, behaviour, number, cause):
    h = pri()
    if behaviour:
        h.switch.add_phone(SimPhone(number, behaviour=behaviour))
    leg = h.trunk.dial(number)
    assert h.run_until(lambda: leg.state is LegState.CLEARED and h.switch.records[0].ended, 5)
    assert "failed" in leg.kinds() and not leg.answered
    assert leg.cause == cause
    assert h.switch.records[0].cause == cause and not h.switch.records[0].connected
    assert h.trunk.free_channels() == 30


def test_no_answer_is_cleared_by_the_ring_timer(pri):
    h = pri(ring_timeout=45.0)
    h.switch.add_phone(SimPhone("13800138004", behaviour="no_answer"))
    leg = h.trunk.dial("13800138004")
    assert h.run_until(lambda: leg.state is LegState.CLEARED, 60)
    assert leg.kinds() == ["proceeding", "ringing", "media", "failed", "cleared"]
    assert leg.cause == Cause.NO_ANSWER
    assert 44.9 < leg.ended_at - leg.seized_at < 45.3


def test_bad_numbers_are_refused_before_signalling(pri):
    h = pri()
    for bad in ("", "12a4", "1" * 32, "+8613800138000"):
        with pytest.raises(ValueError, match="cannot dial"):
            h.trunk.dial(bad)
    assert h.switch.records == []


def test_thirty_calls_fill_an_e1_and_the_31st_gets_congestion(pri):
    h = pri()
    legs = []
    for i in range(30):
        number = f"1380013{i:04d}"
        h.switch.add_phone(SimPhone(number, answer_after=1.0))
        legs.append(h.trunk.dial(number))
    assert h.run_until(lambda: all(leg.answered for leg in legs), 10)
    assert sorted(leg.chanpos for leg in legs) == [c for c in range(1, 32) if c != 16]
    assert h.trunk.free_channels() == 0
    extra = h.trunk.dial("13800139999")
    h.run(0.1)
    assert extra.kinds() == ["failed", "cleared"] and extra.cause == Cause.CONGESTION
    assert all(leg.state is LegState.ANSWERED for leg in legs)
    for leg in legs:
        leg.hangup()
    assert h.run_until(lambda: h.trunk.free_channels() == 30
                       and all(r.ended for r in h.switch.records), 5)
    assert all(r.cause == 16 and r.cleared_by == "confcall" for r in h.switch.records)


@pytest.mark.parametrize("switchtype", ["ni2", "5ess", "dms100"])
def test_t1_span_with_t1_switch_types(pri, switchtype):
    h = pri("T1", switchtype)
    assert len(h.trunk.bchans) == 23 and h.trunk.free_channels() == 23
    h.switch.add_phone(SimPhone("2125551234", answer_after=2.0))
    h.switch.add_phone(SimPhone("2125550000", behaviour="busy"))
    ok = h.trunk.dial("2125551234", "8005550100")
    busy = h.trunk.dial("2125550000")
    assert h.run_until(lambda: ok.answered and busy.state is LegState.CLEARED, 10)
    assert ok.chanpos == 23 and busy.cause == Cause.USER_BUSY
    ok.hangup()
    assert h.run_until(lambda: ok.state is LegState.CLEARED and h.switch.records[0].ended, 5)
    assert h.switch.records[0].cause == 16


def test_glare_network_wins_our_call_moves_to_another_channel(pri):
    h = pri()
    h.switch.add_phone(SimPhone("13800138005", answer_after=1.0))
    h.trunk.on_incoming = lambda leg: (leg.proceeding(), leg.answer())
    ours = h.trunk.dial("13800138005")  # takes B31 (SETUP queued in this tick)
    theirs = h.switch.place_call("13900000001", "95000", chanpos=31)  # the network takes B31 too
    assert h.run_until(lambda: ours.answered and theirs.connected, 10)
    assert ours.chanpos != 31 and "retry" in ours.kinds()
    assert h.trunk.owner[31].direction == "in"
    assert any("glare on B31" in s for s in h.status)
