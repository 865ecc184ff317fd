"""Phone mode on an MFC/R2 (China No. 1) E1 span, in both ways a trunk can refuse the access
call without charge (docs/r2.md): (a) a Group-B "busy" signal — no answer signal ever crosses
the line and nothing is announced; (b) "accepted, subscriber free, no charge" — the caller hears
the confirmation, then answer and clear-back, never charged. After that the whole conference
scenario runs over R2: callback and invitations are forward R2 calls carrying our calling
number (China's ANI request answered, see native/r2_glue.c) and the dialled number."""
import pytest

from confcall.config import TrunkConf
from confcall.control_socket import handle

from box_harness import ACCESS, audio, heard_prompt
from phone_scenario import A, B, C, conference_of_three, payer_and_phones


def r2_box(box, reject: str):
    return box(span_kinds=[("E1", "cas")],
               trunks=[TrunkConf(1, signalling="r2", r2_reject=reject, r2_answer_timeout_s=30)])


@pytest.mark.parametrize("reject", ["busy", "no_charge"])
def test_phone_mode_conference_on_r2(box, reject):
    bx = r2_box(box, reject)
    payer, a, b, c = payer_and_phones(bx)

    # the NOC sees an R2 trunk: its variant, refusal mode and free channels
    trunk = handle(bx.daemon, '{"cmd": "span_status"}')["trunks"][1]
    assert (trunk["signalling"], trunk["variant"], trunk["reject"]) == ("r2", "CN", reject)
    assert trunk["up"] and trunk["free_channels"] == 30 and trunk["blocked_by_far_end"] == []

    # 1. A dials the access number over R2: refused for free, as the trunk is configured
    access = bx.switch.place_call(A, ACCESS)
    assert bx.run_until(lambda: access.ended, 15)
    assert access.ani == A and access.saw("SEIZE ACK")
    assert not access.connected  # never charged
    if reject == "busy":
        # (a) a Group-B signal: no answer signal on the line, nothing announced
        assert access.group_b == "busy" and access.cause == 17
        assert not access.answer_seen and not access.saw("ANSWER")
        assert not heard_prompt(audio(access), "confirmed")
    else:
        # (b) "subscriber free, no charge": the confirmation, then answer and clear-back
        assert access.group_b == "accept_no_charge"
        assert heard_prompt(audio(access), "confirmed")
        assert access.answer_seen and access.saw("CLEAR BACK") and access.cleared_by == "confcall"
        t_prompt = next(t for t, m in access.messages if m.startswith("GROUP-B"))
        t_answer = next(t for t, m in access.messages if m == "ANSWER")
        assert heard_prompt(audio(access, t_prompt, t_answer), "confirmed")  # before answer

    out = conference_of_three(bx, payer, a, b, c, callback_timeout=15)
    # every leg of the conference was an R2 call with our number and theirs on the register
    for rec in (out.callback, out.b, out.c):
        assert rec.group_b == "accept_charge" and rec.ani == "95000" and rec.answer_seen
    assert [r.called for r in (out.callback, out.b, out.c)] == [A, B, C]


def test_service_number_over_r2_is_answered_before_the_greeting(box):
    """The IVR answers (Group-B "free, charge", then the answer signal) and greets once the
    answer is on the line: the caller hears the whole welcome, nothing of it is lost."""
    from box_harness import PROMPT_HZ, SERVICE
    from confcall.sim.voice import level_db

    bx = r2_box(box, "busy")
    bx.account(A, fen=10_000)
    bx.phone(A)
    rec = bx.switch.place_call(A, SERVICE)
    assert bx.run_until(lambda: rec.answer_seen, 15)
    assert rec.group_b == "accept_charge" and rec.connected
    bx.run(1.0)
    x = audio(rec, rec.answered_at, rec.answered_at + 1.0)
    windows = [x[i:i + 400] for i in range(0, x.size - 400, 400)]  # 50 ms each
    welcome = sum(1 for w in windows if level_db(w, PROMPT_HZ["ivr_welcome"]) > -30)
    assert welcome >= 5  # the 300 ms welcome tone, whole
    bx.switch.hangup(rec)
    assert bx.run_until(lambda: rec.ended, 5)
