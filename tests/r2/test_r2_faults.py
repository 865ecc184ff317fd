"""Line faults on an MFC/R2 span: alarms, channels blocked by the far end, seizures never
acknowledged, register signalling that stalls either way, and double seizure."""
from confcall.dahdi.legs import Cause, LegState
from confcall.dahdi.r2_trunk import ChanState


def test_alarm_clears_calls_and_the_span_recovers(r2):
    h = r2()
    h.phone("13900139000", answer_after=1.0)
    leg = h.trunk.dial("13900139000", "95000")
    assert h.run_until(lambda: leg.answered, 10)
    h.sim.raise_alarm("RED", "LOS")
    assert h.run_until(lambda: leg.state is LegState.CLEARED, 2)
    assert leg.kinds()[-2:] == ["hangup", "cleared"] and leg.cause == Cause.NETWORK_OUT_OF_ORDER
    assert not h.trunk.up and h.trunk.free_channels() == 0
    assert any("span alarm" in s for s in h.status)
    failed = h.trunk.dial("13900139000", "95000")
    h.run(0.1)
    assert failed.kinds() == ["failed", "cleared"] and failed.cause == Cause.NETWORK_OUT_OF_ORDER

    far = h.switch.records[-1]
    assert far.ended and far.cause == 38  # the exchange dropped its side too

    h.sim.clear_alarm()
    assert h.run_until(lambda: h.trunk.up and h.trunk.free_channels() == 30, 2)
    assert any(s.endswith("span alarm cleared") for s in h.status)
    again = h.trunk.dial("13900139000", "95000")
    assert h.run_until(lambda: again.answered, 10)


def test_channels_blocked_by_the_far_end_are_not_used(r2):
    h = r2()
    h.phone("13900139000", answer_after=1.0)
    h.switch.block(31)
    h.switch.block(30)
    h.run(0.1)
    status = h.trunk.status()
    assert status["blocked_by_far_end"] == [30, 31] and status["free_channels"] == 28
    leg = h.trunk.dial("13900139000", "95000")
    assert leg.chanpos == 29
    assert h.run_until(lambda: leg.answered, 10)
    h.switch.unblock(31)
    h.switch.unblock(30)
    h.run(0.1)
    assert h.trunk.status()["blocked_by_far_end"] == [] and h.trunk.free_channels() == 29
    assert any("B31 unblocked" in s for s in h.status)


def test_blocking_our_side(r2):
    h = r2()
    h.trunk.block(31)
    h.run(0.1)
    assert h.sim.channel(31).txbits & 0xC == 0xC  # the blocking signal on the line
    assert h.trunk.free_channels() == 29 and h.trunk.status()["blocked_here"] == [31]
    h.trunk.unblock(31)
    h.run(0.1)
    assert h.sim.channel(31).txbits & 0xC == 0x8 and h.trunk.free_channels() == 30


def test_seizure_never_acknowledged_moves_the_call_and_rests_the_channel(r2):
    h = r2()
    b = h.phone("13900139000", answer_after=1.0)
    h.switch.deafen(31)
    leg = h.trunk.dial("13900139000", "95000")
    assert leg.chanpos == 31
    assert h.run_until(lambda: leg.answered, 20)
    assert leg.chanpos == 30 and "retry" in leg.kinds()
    assert b.last.chanpos == 30
    assert h.clock.now > 8  # OpenR2's seize-acknowledge timer
    assert h.trunk.status()["out_of_service"] == [31]
    assert any("never acknowledged" in s for s in h.status)


def test_register_that_never_answers_is_cleared_after_the_setup_timeout(r2):
    h = r2()
    h.phone("13900139000", answer_after=1.0)
    h.switch.stall(31)
    leg = h.trunk.dial("13900139000", "95000")
    assert h.run_until(lambda: leg.state is LegState.CLEARED, 15)
    assert leg.kinds() == ["failed", "cleared"]
    assert leg.cause == Cause.RECOVERY_ON_TIMER_EXPIRE
    assert 9.5 <= leg.ended_at - leg.seized_at <= 11  # setup_timeout_s = 10 in the harness
    assert any("did not complete" in s for s in h.status)


def test_incoming_seizure_without_digits_is_reset(r2):
    h = r2()
    h.switch.seize_only(1)
    assert h.run_until(lambda: any("no digits" in s for s in h.status), 15)
    assert not h.incoming  # nothing reached call control
    assert h.trunk.by_pos[1].state is ChanState.IDLE


def test_double_seizure_both_back_off_and_our_call_goes_elsewhere(r2):
    h = r2()
    a = h.phone("13800138000")
    b = h.phone("13900139000", answer_after=1.0)
    # both ends seize timeslot 31 in the same frame, before either sees the other's bits
    ours = h.trunk.dial(b.number, "95000")
    theirs = h.switch.place_call(a.number, "95000", chanpos=31)
    assert ours.chanpos == 31
    assert h.run_until(lambda: ours.answered, 15)
    assert ours.chanpos != 31 and "retry" in ours.kinds()
    assert theirs.saw("DOUBLE SEIZURE") and theirs.cause == 44 and not theirs.connected
    assert any("double seizure on B31" in s for s in h.status)
    assert h.run_until(lambda: h.trunk.by_pos[31].state is ChanState.IDLE, 5)
    # the carrier can place its call again (on a channel of its choosing)
    again = h.switch.place_call(a.number, "95000")
    assert h.run_until(lambda: len(h.incoming) == 1, 10)
    assert h.incoming[0].chanpos == again.chanpos
