"""A three-member conversation on echo-free lines, with confcall's software echo canceller on
every channel: everyone must hear the others as loud as with the canceller off, and not
themselves (the canceller must neither suppress nor leak on a line with no echo to cancel).

A (voice 300 Hz) has the box call back and invites B (380 Hz) and C (620 Hz); all three talk
at once, continuously, for 8 s; each phone's recording of the last 5 s is measured per voice."""
from box_harness import ACCESS, Box, audio, voice_level

A, B, C = "13800138000", "13900139000", "13700137000"
HZ = {A: 300.0, B: 380.0, C: 620.0}


def _conversation(tmp_path, echo_canceller: bool) -> dict[tuple[str, str], float]:
    """{(listener, talker): level in dBFS} over the last 5 s of 8 s of everyone talking."""
    tmp_path.mkdir()
    bx = Box(tmp_path, echo_canceller=echo_canceller)
    try:
        bx.account(A)
        phones = {n: bx.phone(n, answer_after=1.0, voice_hz=hz) for n, hz in HZ.items()}
        a, c = phones[A], phones[C]
        access = bx.switch.place_call(A, ACCESS)
        assert bx.run_until(lambda: access.ended, 10)
        assert bx.run_until(lambda: len(a.calls) == 2 and a.last.connected, 15)
        a.press(B + "#*" + C + "#")
        assert bx.run_until(lambda: bool(c.calls) and c.last.connected, 20)
        s = bx.sessions[0]
        assert [m.number for m in s.members] == [B, C]
        assert bx.run_until(lambda: not s.keypad.inviting and not a.voice.keying, 10)
        bx.run(1.0)  # the last prompts end
        for p in phones.values():
            p.talk()
        t0 = bx.clock.now
        bx.run(8.0)
        return {(lis, tk): voice_level(audio(phones[lis].last, t0 + 3.0, t0 + 8.0), HZ[tk])
                for lis in HZ for tk in HZ}
    finally:
        bx.close()


def test_conversation_is_as_loud_with_the_canceller_on_and_nobody_hears_themselves(tmp_path):
    off = _conversation(tmp_path / "off", echo_canceller=False)
    on = _conversation(tmp_path / "on", echo_canceller=True)
    report = {k: (round(off[k], 1), round(on[k], 1)) for k in off}
    for (lis, tk), lvl in off.items():
        if lis == tk:
            assert lvl < -60.0, ("off", lis, report)
        else:
            assert lvl > -25.0, ("off", lis, tk, report)
    for (lis, tk), lvl in on.items():
        if lis == tk:
            assert lvl < -60.0, ("on: hears itself", lis, report)
        else:
            assert abs(lvl - off[(lis, tk)]) <= 3.0, ("on: level of", tk, "at", lis, report)
