"""Item 7 of issue 13: RESTART both ways (the whole interface too), idle channels restarted
when the link first comes up (calls a crash left up at the exchange end), the cause-44 retry
on another channel, and D-channel frames too short for libpri dropped before it reads them."""
from confcall.dahdi import Span
from confcall.dahdi._shim import lib
from confcall.dahdi.legs import Cause, LegState
from confcall.dahdi.pri_trunk import PriTrunk
from confcall.sim import SimPhone


def _answered_calls(h, n, first=0):
    legs = []
    for i in range(first, first + n):
        number = f"138001380{i:02d}"
        h.switch.add_phone(SimPhone(number, answer_after=0.5))
        legs.append(h.trunk.dial(number))
    assert h.run_until(lambda: all(leg.answered for leg in legs), 5), h.status
    return legs


def test_restart_of_the_whole_interface_clears_every_call(pri):
    h = pri()
    legs = _answered_calls(h, 3)
    h.switch.restart_interface()
    h.run(1)
    assert all(leg.state is LegState.CLEARED for leg in legs)
    assert all(leg.cause == Cause.TEMPORARY_FAILURE for leg in legs)
    assert any("network restarted the whole interface: 3 call(s)" in s for s in h.status)
    assert h.trunk.free_channels() == 30
    assert _answered_calls(h, 2, first=10)[0].chanpos == 31


def test_idle_channels_restarted_at_first_link_up_end_calls_a_crash_left_up(pri):
    h = pri()
    legs = _answered_calls(h, 2)
    stuck = list(h.switch.records)
    # the box dies: no RELEASE ever leaves it; the exchange still has both calls up
    h.clock.remove_hook(h.trunk.service)
    h.trunk.link.stop()
    h.span.close()
    h.run(2)
    assert not any(r.ended for r in stuck)
    # the box starts again on the same span
    sim = h.card.spans[0]
    h.span = Span.open(1, range(sim.basechan, sim.basechan + sim.totalchans))
    h.status.clear()
    h.trunk = PriTrunk(h.span, h.reactor, switchtype="euroisdn_e1",
                       on_incoming=h.incoming.append, on_status=h.status.append)
    h.clock.add_hook(h.trunk.service)
    assert h.run_until(lambda: h.trunk.up, 10)
    h.run(1)
    assert any("30 idle B-channel(s) restarted" in s for s in h.status)
    assert {c for _, c in h.switch.restarts} == set(range(1, 16)) | set(range(17, 32))
    assert all(r.ended and r.saw("RESTART") for r in stuck)
    assert {r.chanpos for r in stuck} == {leg.chanpos for leg in legs} == {31, 30}
    again = _answered_calls(h, 1, first=10)[0]  # channel 31 is free at both ends again
    assert again.chanpos == 31 and again.answered


def test_cause_44_retry_takes_another_channel(pri):
    h = pri()
    h.switch.block(31)  # the exchange holds 31 busy; confcall cannot know
    leg = _answered_calls(h, 1)[0]
    setups = [r for r in h.switch.records if r.direction == "from_confcall"]
    assert [(r.chanpos, r.cause) for r in setups] == [(31, 44), (30, None)]
    assert leg.chanpos == 30 and "retry" in leg.kinds()
    assert any("glare on B31" in s for s in h.status)


def test_frames_shorter_than_five_octets_never_reach_libpri(pri):
    h = pri()
    before = lib.dshim_pri_short_frames()
    peer = h.card.spans[0].dchannel_peer
    for frame in (b"\x00", b"\x02\x01", b"\x02\x01\x7f", b"\x00\x01\x01\x03") * 25:
        peer.send(frame)
        h.run(0.02)
    assert lib.dshim_pri_short_frames() - before == 100
    h.run(5)
    assert h.trunk.up and _answered_calls(h, 1)[0].answered
