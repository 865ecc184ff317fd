"""A T1 box: ISDN PRI on T1 (NI-2, 23 B-channels, D-channel on timeslot 24), μ-law from the
line through the media engine and back: the whole phone-mode conference."""
from confcall.dahdi.constants import Law
from confcall.dsp import g711

from box_harness import ACCESS, audio, heard_prompt
from phone_scenario import A, conference_of_three, payer_and_phones


def test_phone_mode_conference_on_a_t1_pri_span(box):
    bx = box(span_kinds=[("T1", "pri")])
    trunk = bx.trunks[0]
    assert len(trunk.bchans) == 23 and trunk.link.switchtype == "ni2"
    assert set(bx.media.batch.laws.tolist()) == {int(Law.MULAW)}  # the engine codes μ-law
    assert {c.law for c in bx.card.spans[0].channels} == {Law.MULAW}
    payer, a, b, c = payer_and_phones(bx)

    access = bx.switch.place_call(A, ACCESS)
    assert bx.run_until(lambda: access.ended, 10)
    assert not access.connected and access.saw("PROGRESS") and access.cause == 16
    assert heard_prompt(audio(access, law=g711.LAW_MULAW), "confirmed")

    conference_of_three(bx, payer, a, b, c, law=g711.LAW_MULAW)
