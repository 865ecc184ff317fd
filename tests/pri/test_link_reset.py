"""Item 6 of issue 13: answered calls survive a Q.921 re-establishment, as exchanges keep them
(Q.931 T309): a stray SABME, an N(R) error or a few seconds without D-channel frames leave the
calls up; only a link that stays down for T309 clears them (cause 27, both ends); a RED alarm
still clears at once (test_faults.py)."""
from confcall.dahdi.legs import Cause, LegState
from confcall.dahdi.pri_trunk import REESTABLISH_S, T309_DEFAULT_MS, T309_S
from confcall.sim import SimPhone


def _answered_calls(h, n):
    legs = []
    for i in range(n):
        number = f"138001380{i:02d}"
        h.switch.add_phone(SimPhone(number, answer_after=0.5))
        legs.append(h.trunk.dial(number))
    assert h.run_until(lambda: all(leg.answered for leg in legs), 5)
    return legs


def test_sabme_from_the_network_keeps_every_answered_call(pri):
    h = pri()
    legs = _answered_calls(h, 10)
    # SABME (SAPI 0, C/R = command from the network, TEI 0, P = 1) + 2 FCS octets
    h.card.spans[0].dchannel_peer.send(b"\x02\x01\x7f\x00\x00")
    h.run(3 * T309_S)
    assert any(s.endswith("D-channel down") for s in h.status)  # the reset really happened
    assert any("10 answered call(s) carried through" in s for s in h.status)
    assert all(leg.state is LegState.ANSWERED for leg in legs)
    assert not any(r.ended for r in h.switch.records)
    # the calls are still known to both libpris: a normal clearing works end to end
    h.switch.hangup(h.switch.records[0], 16)
    assert h.run_until(lambda: legs[0].state is LegState.CLEARED, 5)
    assert legs[0].cause == Cause.NORMAL_CLEARING
    legs[1].hangup(Cause.NORMAL_CLEARING)
    assert h.run_until(lambda: h.switch.records[1].ended, 5)
    assert h.switch.records[1].cause == Cause.NORMAL_CLEARING
    assert h.trunk.free_channels() == 30 - 8


def test_short_dchannel_outage_keeps_calls_and_a_long_one_clears_them_after_t309(pri):
    h = pri()
    legs = _answered_calls(h, 3)
    span = h.card.spans[0]
    span.cut_dchannel()
    assert h.run_until(lambda: not h.trunk.link.up, 20)  # T203 + N200 x T200
    h.run(T309_S / 3)
    span.cut_dchannel(False)
    assert h.run_until(lambda: h.trunk.up, T309_S)
    h.run(2 * T309_S)
    assert all(leg.state is LegState.ANSWERED for leg in legs)

    span.cut_dchannel()
    assert h.run_until(lambda: not h.trunk.link.up, 20)  # T203 + N200 x T200
    down_at = h.reactor.seconds()
    h.run(T309_S - 1)
    assert all(leg.state is LegState.ANSWERED for leg in legs)  # not before T309
    h.run(2)
    assert all(leg.state is LegState.CLEARED for leg in legs)
    assert all(leg.cause == Cause.DESTINATION_OUT_OF_ORDER for leg in legs)
    assert all(abs(leg.ended_at - down_at - T309_S) < 1 for leg in legs)
    assert all(r.ended and r.cause == 27 for r in h.switch.records)  # the switch's T309 too
    span.cut_dchannel(False)
    assert h.run_until(lambda: h.trunk.up, 30)
    again = _answered_calls(h, 2)
    assert all(leg.answered for leg in again)


def test_call_being_set_up_when_the_link_drops_is_cleared_at_once(pri):
    h = pri()
    kept = _answered_calls(h, 1)[0]
    h.switch.add_phone(SimPhone("13900139000", behaviour="no_answer"))
    ringing = h.trunk.dial("13900139000")
    assert h.run_until(lambda: ringing.state is LegState.RINGING, 5)
    h.card.spans[0].cut_dchannel()
    assert h.run_until(lambda: not h.trunk.link.up, 20)  # T203 + N200 x T200
    h.run(0.1)
    assert ringing.state is LegState.CLEARED and ringing.cause == Cause.NETWORK_OUT_OF_ORDER
    assert kept.state is LegState.ANSWERED


def test_t309_from_the_config_a_longer_outage_clears_a_shorter_one_keeps(pri):
    """[pri] t309_ms reaches libpri (pri_set_timer). With T309 = 3 s the calls are cleared
    REESTABLISH_S + 3 s after the link went down: a link back within that keeps them; one that
    stays down longer clears them with cause 27, and the exchange (whose own T309 is libpri's
    6 s) gets their RELEASE with that cause when the link is back."""
    h = pri(t309_ms=3000)
    assert h.trunk.link.timer("T309") == 3000
    assert h.switch.link.timer("T309") == T309_DEFAULT_MS
    assert h.trunk.reestablish_s == REESTABLISH_S  # libpri's T200 x (N200 + 1)
    legs = _answered_calls(h, 3)
    span = h.card.spans[0]
    span.cut_dchannel()
    assert h.run_until(lambda: not h.trunk.link.up, 20)  # T203 + N200 x T200
    h.run(REESTABLISH_S + 2)  # T309 running for 2 s of its 3
    span.cut_dchannel(False)
    assert h.run_until(lambda: h.trunk.up, 10)
    h.run(5)
    assert all(leg.state is LegState.ANSWERED for leg in legs)
    assert not any(r.ended for r in h.switch.records)
    assert any("cleared with cause 27 if it is not back within 7 s: T309 3 s" in s
               for s in h.status)

    span.cut_dchannel()
    assert h.run_until(lambda: not h.trunk.link.up, 20)
    down_at = h.reactor.seconds()
    h.run(REESTABLISH_S + 2.5)
    assert all(leg.state is LegState.ANSWERED for leg in legs)  # not before T309
    h.run(1)
    assert all(leg.state is LegState.CLEARED for leg in legs)
    assert all(leg.cause == Cause.DESTINATION_OUT_OF_ORDER for leg in legs)  # 27
    assert all(abs(leg.ended_at - down_at - REESTABLISH_S - 3.0) < 0.5 for leg in legs)
    h.run(1)  # the exchange's own T309 (6 s) has not run out
    assert not any(r.ended for r in h.switch.records)
    span.cut_dchannel(False)
    assert h.run_until(lambda: h.trunk.up, 10)
    assert h.run_until(lambda: all(r.ended for r in h.switch.records), 5)
    # our libpri releases them when the link is back: cause 27 at the exchange too
    assert all(r.cause == 27 and r.cleared_by == "confcall" for r in h.switch.records)
    again = _answered_calls(h, 3)  # the channels are free at both ends again
    assert {leg.chanpos for leg in again} == {leg.chanpos for leg in legs}
