"""Item 7 of issue 13 (records): when a RED alarm takes the line, every leg of a conference —
the initiator's callback and the participants' legs that the conference's end hangs up — is
recorded with cause 38 (network out of order), not 16."""
from confcall.dahdi.legs import LegState

from scenarios import called_back

A, B, C = "13800138000", "13900139000", "13700137000"


def test_alarm_records_every_leg_of_a_conference_with_cause_38(box):
    bx = box()
    bx.account(A)
    a = bx.phone(A, answer_after=1.0)
    bx.phone(B, answer_after=1.0)
    bx.phone(C, answer_after=1.0)
    called_back(bx, a)
    a.press(B + "#")
    bx.run(4)
    a.press("*" + C + "#")
    bx.run(4)
    s = bx.sessions[-1]
    assert [m.state for m in s.members] == ["joined", "joined"]
    bx.card.spans[0].raise_alarm("RED", "LOS")
    bx.run(2)
    legs = [leg for t in bx.trunks for leg in t.legs.values()]
    assert not any(leg.state is not LegState.CLEARED for leg in legs)
    rows = [r for r in bx.call_log() if r.answered_at is not None and r.role != "access"]
    assert {r.role for r in rows} >= {"callback", "participant"}, [r.role for r in rows]
    assert len(rows) == 3
    assert [r.cause for r in rows] == [38, 38, 38]
