"""One box, two kinds of trunk: a PRI span and an MFC/R2 span in one trunk group. A caller
reaches the access number over R2; the callback and the invitations leave on whichever span
has room, so one conference has members on both, hearing each other across them."""
from confcall.config import TrunkConf
from confcall.dahdi.pri_trunk import PriTrunk
from confcall.dahdi.r2_trunk import R2Trunk

from box_harness import ACCESS
from phone_scenario import A, conference_of_three, payer_and_phones


def test_conference_with_members_on_a_pri_and_an_r2_span(box):
    bx = box(span_kinds=[("E1", "pri"), ("E1", "cas")],
             trunks=[TrunkConf(1, signalling="pri"),
                     TrunkConf(2, signalling="r2", r2_answer_timeout_s=30)])
    pri, r2 = bx.trunks
    assert isinstance(pri, PriTrunk) and isinstance(r2, R2Trunk)
    assert bx.group.trunks == [pri, r2] and bx.group.free_channels() == 60
    payer, a, b, c = payer_and_phones(bx)

    r2_switch = bx.switches[1]
    access = r2_switch.place_call(A, ACCESS)  # over R2, refused with Group-B busy
    assert bx.run_until(lambda: access.ended, 15)
    assert access.group_b == "busy" and not access.answer_seen

    out = conference_of_three(bx, payer, a, b, c, callback_timeout=15)
    spans = {rec: next(sw.span.spanno for sw in bx.switches if rec in sw.records)
             for rec in (out.callback, out.b, out.c)}
    assert set(spans.values()) == {1, 2}  # members on both spans
    assert spans[out.b] == 2 and out.b.group_b == "accept_charge"  # B joined over R2
    trunks = {r.trunk for r in bx.call_log()}
    assert trunks == {"span1", "span2"}
