"""Calls over MFC/R2 (China No. 1) as call control sees them: the same leg events and Q.850
causes as on PRI (busy 17, unallocated 1, congestion 34, no answer 19), the calling and dialled
numbers on the register, and incoming calls refused with the Group-B signal the cause names."""
import pytest

from confcall.dahdi.legs import Cause, LegState


def kinds(leg):
    return [k for k in leg.kinds() if k != "retry"]


def test_outgoing_answered_call_carries_both_numbers(r2):
    h = r2()
    b = h.phone("13900139000", answer_after=1.5, hangup_after=2.0)
    leg = h.trunk.dial("13900139000", "95000")
    assert leg.chanpos == 31  # ours from the top; the carrier seizes from the bottom
    assert h.run_until(lambda: leg.state is LegState.CLEARED, 15)
    rec = b.last
    assert (rec.ani, rec.called, rec.category) == ("95000", "13900139000", "1")
    assert rec.group_b == "accept_charge" and rec.connected and rec.cleared_by == "switch"
    assert kinds(leg) == ["proceeding", "ringing", "media", "answered", "hangup", "cleared"]
    assert leg.cause == Cause.NORMAL_CLEARING and leg.answered
    assert h.run_until(lambda: h.trunk.free_channels() == 30, 1)


@pytest.mark.parametrize("behaviour, cause, group_b", [
    ("busy", Cause.USER_BUSY, "busy"),
    ("unknown", Cause.UNALLOCATED, "unallocated"),
    ("reject34", Cause.CONGESTION, "congestion"),
    ("unreachable", Cause.DESTINATION_OUT_OF_ORDER, "out_of_order"),
])
def test_outgoing_refusals_map_to_pri_causes(r2, behaviour, cause, group_b):
    h = r2()
    number = "13900139000"
    if behaviour == "reject34":
        h.phone(number, behaviour="reject", reject_cause=34)
    elif behaviour != "unknown":
        h.phone(number, behaviour=behaviour)
    leg = h.trunk.dial(number, "95000")
    assert h.run_until(lambda: leg.state is LegState.CLEARED, 15)
    assert kinds(leg) == ["failed", "cleared"] and leg.cause == cause and not leg.answered
    rec = h.switch.records[-1]
    assert rec.group_b == group_b and not rec.answer_seen
    assert h.run_until(lambda: h.trunk.free_channels() == 30, 2)


def test_outgoing_no_answer_is_cause_19_after_the_answer_timer(r2):
    h = r2()
    b = h.phone("13900139000", behaviour="no_answer")
    leg = h.trunk.dial("13900139000", "95000")
    assert h.run_until(lambda: "ringing" in leg.kinds(), 10)
    t_ring = h.clock.now
    assert h.run_until(lambda: leg.state is LegState.CLEARED, 40)
    assert leg.cause == Cause.NO_ANSWER and kinds(leg)[-2:] == ["failed", "cleared"]
    assert 29 <= h.clock.now - t_ring <= 31  # the trunk's answer timeout (30 s here)
    assert not b.last.answer_seen and b.last.cleared_by == "confcall"


def test_dialling_refuses_what_r2_cannot_carry(r2):
    h = r2()
    with pytest.raises(ValueError, match="digits 0-9"):
        h.trunk.dial("1390*139000", "95000")
    with pytest.raises(ValueError, match="caller id"):
        h.trunk.dial("13900139000", "95#00")


@pytest.mark.parametrize("cause, group_b, q850", [
    (Cause.NORMAL_CLEARING, "busy", 17),      # the trunk's own refusal (r2_reject = busy)
    (Cause.UNALLOCATED, "unallocated", 1),
    (Cause.CONGESTION, "congestion", 34),
])
def test_incoming_refused_with_a_group_b_signal(r2, cause, group_b, q850):
    h = r2()
    h.phone("13800138000")
    rec = h.switch.place_call("13800138000", "95000")
    assert h.run_until(lambda: bool(h.incoming), 10)
    leg = h.incoming[0]
    assert leg.ani == "13800138000" and leg.dnis == "95000" and leg.chanpos == rec.chanpos
    leg.proceeding()
    leg.progress(inband=True)  # mode (a): no in-band path opens
    assert not leg.has_media and leg.state is LegState.PROCEEDING
    leg.reject(cause)
    assert h.run_until(lambda: rec.ended and leg.state is LegState.CLEARED, 5)
    assert rec.group_b == group_b and rec.cause == q850
    assert not rec.answer_seen and not rec.connected


def test_incoming_unknown_number_stops_collecting_digits_at_once(r2):
    h = r2()
    h.phone("13800138000")
    rec = h.switch.place_call("13800138000", "96123")  # no number of ours starts with 96
    assert h.run_until(lambda: bool(h.incoming), 10)
    assert h.incoming[0].dnis == "96"  # the register stopped at the first impossible digit
    h.incoming[0].reject(Cause.UNALLOCATED)
    assert h.run_until(lambda: rec.ended, 5) and rec.group_b == "unallocated"


def test_incoming_withheld_number(r2):
    h = r2()
    rec = h.switch.place_call("13800138000", "95000", presentation="restricted")
    assert h.run_until(lambda: bool(h.incoming), 10)
    leg = h.incoming[0]
    assert leg.ani == "" and leg.presentation.value == "restricted"
    leg.reject(Cause.NORMAL_CLEARING)
    assert h.run_until(lambda: rec.ended, 5)


def test_a_number_that_a_longer_one_extends_waits_for_the_register_timer(r2):
    """China sends no end-of-digits signal: "9500" might still become "95000", so collection
    ends by OpenR2's cycle timer (5 s); "95000" itself ends it at once."""
    from confcall.dahdi.r2_trunk import R2Options
    h = r2(options=R2Options(numbers=("9500", "95000")))
    short = h.switch.place_call("13800138000", "9500")
    assert h.run_until(lambda: bool(h.incoming), 10)
    assert h.incoming[0].dnis == "9500" and h.clock.now - short.started_at > 5
    h.incoming[0].reject(Cause.NORMAL_CLEARING)
    assert h.run_until(lambda: short.ended, 5)
    h.run(0.5)
    full = h.switch.place_call("13800138000", "95000")
    assert h.run_until(lambda: len(h.incoming) == 2, 10)
    assert h.incoming[1].dnis == "95000" and h.clock.now - full.started_at < 3
