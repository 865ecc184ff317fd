"""With confcall's software echo canceller on every trunk channel, keys typed over the prompts
and under the conversation are still read right (the canceller must not corrupt near-end tones
on a line with no echo; the conversation itself: test_echo_canceller_conversation.py)."""
from scenarios import called_back

A, B, C = "13800138000", "13900139000", "13700137000"


def test_keys_over_prompts_are_read_right_with_the_canceller_on(box):
    bx = box(echo_canceller=True)
    bx.account(A)
    a = bx.phone(A, answer_after=1.0, voice_hz=300.0)
    b = bx.phone(B, answer_after=1.0, voice_hz=380.0)
    c = bx.phone(C, answer_after=1.0, voice_hz=620.0)
    called_back(bx, a, hear_prompt=False)
    a.press(B + "#*" + C + "#")  # keyed at once, over the welcome prompt
    assert bx.run_until(lambda: bool(c.calls) and c.last.connected, 20)
    s = bx.sessions[0]
    assert [m.number for m in s.members] == [B, C]
    assert all(m.state == "joined" for m in s.members)
    assert bx.run_until(lambda: not s.keypad.inviting, 10)
    b.talk()
    c.talk()
    a.press("*13600136000#")  # in the conversation, under the others' voices
    bx.run(4)
    assert [m.number for m in s.members][-1] == "13600136000"
