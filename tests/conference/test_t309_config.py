"""[pri] t309_ms reaches every PRI span of a running box (issue 13): with T309 = 2 s, a
conference whose D-channel stays down is cleared 2 s after libpri's re-establishment attempts
(not libpri's default 6 s), and every answered leg is recorded with cause 27."""
from confcall.dahdi.legs import LegState
from confcall.dahdi.pri_trunk import REESTABLISH_S

from scenarios import called_back

A, B = "13800138000", "13900139000"


def test_configured_t309_clears_a_conference_whose_link_stays_down(box):
    bx = box(config={"pri_t309_ms": 2000})
    bx.account(A)
    a = bx.phone(A, answer_after=1.0)
    bx.phone(B, answer_after=1.0)
    called_back(bx, a)
    a.press(B + "#")
    bx.run(4)
    assert [m.state for m in bx.sessions[-1].members] == ["joined"]
    bx.card.spans[0].cut_dchannel()
    trunk = bx.trunks[0]
    assert bx.run_until(lambda: not trunk.link.up, 20)
    down_at = bx.reactor.seconds()
    legs = [leg for leg in trunk.legs.values() if leg.state is LegState.ANSWERED]
    assert len(legs) == 2
    bx.run(REESTABLISH_S + 1.5)
    assert all(leg.state is LegState.ANSWERED for leg in legs)  # T309 not out yet
    bx.run(1)
    assert all(leg.state is LegState.CLEARED for leg in legs)
    assert all(abs(leg.ended_at - down_at - REESTABLISH_S - 2.0) < 0.5 for leg in legs)
    rows = [r for r in bx.call_log() if r.answered_at is not None and r.role != "access"]
    assert sorted(r.role for r in rows) == ["callback", "participant"]
    assert [r.cause for r in rows] == [27, 27]
