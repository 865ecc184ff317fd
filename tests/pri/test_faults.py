"""Line faults and hostile signalling: alarms clear calls with a cause and the link comes back;
garbage on the D-channel and unexpected Q.931 never take the trunk down."""
import os

from confcall.dahdi.legs import Cause, LegState
from confcall.sim import SimPhone


def _answered_call(h, number="13800138000"):
    h.switch.add_phone(SimPhone(number, answer_after=0.5))
    leg = h.trunk.dial(number)
    assert h.run_until(lambda: leg.answered, 5)
    return leg


def test_red_alarm_clears_calls_reports_and_link_recovers(pri):
    h = pri()
    legs = [_answered_call(h, f"1380013800{i}") for i in range(3)]
    h.card.spans[0].raise_alarm("RED", "LOS")
    h.run(0.2)
    assert all(leg.state is LegState.CLEARED for leg in legs)
    assert all(leg.kinds()[-2:] == ["hangup", "cleared"] for leg in legs)
    assert all(leg.cause == Cause.NETWORK_OUT_OF_ORDER for leg in legs)
    assert any("span alarm RED/LOS" in s for s in h.status)
    assert any("clearing 3 call(s) with cause 38" in s for s in h.status)
    assert h.trunk.free_channels() == 0  # nothing can be dialled on a dead span
    during = h.trunk.dial("13800138009")
    h.run(0.1)
    assert during.kinds() == ["failed", "cleared"]
    assert during.cause == Cause.NETWORK_OUT_OF_ORDER
    h.run(30)  # Q.921 gives up while the line is down
    assert not h.trunk.link.up
    h.card.spans[0].clear_alarm()
    assert h.run_until(lambda: h.trunk.up and h.switch.up, 60), h.status
    assert any("span alarm cleared" in s for s in h.status)
    assert h.trunk.free_channels() == 30
    after = _answered_call(h, "13800138010")
    assert after.answered


def test_short_yellow_alarm_does_not_leave_stuck_channels(pri):
    h = pri()
    leg = _answered_call(h)
    h.card.spans[0].raise_alarm("YELLOW")
    h.run(0.1)
    assert leg.state is LegState.CLEARED and leg.cause == Cause.NETWORK_OUT_OF_ORDER
    h.card.spans[0].clear_alarm()
    assert h.run_until(lambda: h.trunk.up, 30)
    # the switch still thinks the old call is up until it is restarted or cleared; the
    # channel we used is restarted or avoided, and new calls succeed
    again = [_answered_call(h, f"1390013900{i}") for i in range(2)]
    assert all(x.answered for x in again)


def test_garbage_frames_on_the_dchannel_are_survived(pri):
    h = pri()
    peer = h.card.spans[0].dchannel_peer
    rnd = __import__("random").Random(5)
    frames = [b"", b"\x00", b"\xff" * 3, bytes(300), os.urandom(0) + b"\x02\x01",
              b"\x00\x01\x00\x00\x08\x02\x00\x01\x99\x00\x00",  # I-frame, unknown msg type
              b"\x02\x01\x7f\x00\x00"]  # SABME from the wrong side
    frames += [bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 60))) for _ in range(200)]
    for f in frames:
        peer.send(f)
        h.run(0.02)
    h.run(5)
    assert h.run_until(lambda: h.trunk.up and h.switch.up, 60)
    leg = _answered_call(h)
    assert leg.answered and h.trunk.free_channels() == 29


def test_unexpected_q931_from_the_network(pri):
    h = pri()
    h.trunk.on_incoming = lambda leg: leg.proceeding()
    # a SETUP for the D-channel's own timeslot and for a channel that does not exist on E1
    bad1 = h.switch.place_call("13800138000", "95000", chanpos=16)
    h.run(1)
    # SETUP immediately followed by DISCONNECT before we said anything
    quick = h.switch.place_call("13800138001", "95000")
    h.switch.hangup(quick, 16)
    h.run(1)
    # SETUP for a channel we hold with an answered call
    busy_leg = _answered_call(h, "13800138002")
    clash = h.switch.place_call("13800138003", "95000", chanpos=busy_leg.chanpos)
    h.run(5)
    assert bad1.ended and not bad1.connected
    assert quick.ended
    assert clash.ended and clash.cause == Cause.REQUESTED_CHAN_UNAVAIL
    assert busy_leg.state is LegState.ANSWERED  # untouched
    assert h.trunk.up


def test_restart_from_the_network_clears_the_call_on_that_channel(pri):
    h = pri()
    leg = _answered_call(h)
    from confcall.dahdi._shim import lib
    h.switch.link.call(lib.pri_reset, leg.chanpos)
    h.run(1)
    assert leg.state is LegState.CLEARED and leg.cause == Cause.TEMPORARY_FAILURE
    assert any(f"network restarted B{leg.chanpos}" in s for s in h.status)

