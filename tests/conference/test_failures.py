"""What goes wrong, and what the subscriber hears when it does."""
from confcall.conference.callback import CallbackPolicy
from confcall.conference.session import SessionConfig
from confcall.rating import ops

from box_harness import ACCESS, audio, heard_prompt

A, B, C = "13800138000", "13900139000", "13700137000"


def _called_back(bx, a):
    access = bx.switch.place_call(a.number, ACCESS)
    assert bx.run_until(lambda: access.ended, 10)
    assert bx.run_until(lambda: len(a.calls) == 2 and a.last.connected, 15)
    assert bx.run_until(lambda: bool(bx.sessions), 2)
    bx.run(1.5)
    return bx.sessions[-1], a.last


def test_busy_and_no_answer_are_told_to_the_initiator(box):
    bx = box()
    bx.account(A)
    a = bx.phone(A, answer_after=1.0)
    bx.phone(B, behaviour="busy")
    bx.phone(C, behaviour="no_answer")
    s, cb = _called_back(bx, a)
    a.press(B + "#")
    bx.run(2)
    assert heard_prompt(audio(cb), "busy")
    a.press("*" + C + "#")
    bx.run(35)  # the switch's ring timer (30 s) clears C with cause 19
    assert heard_prompt(audio(cb), "no_answer")
    assert [m.state for m in s.members] == ["failed", "failed"]
    assert [m.cause for m in s.members] == [17, 19]
    assert ops.balance(bx.store, "+86" + A).reserved_fen > 0  # only A's own leg is held


def test_callback_unreachable_is_retried_then_given_up_and_recorded(box):
    bx = box(callback=CallbackPolicy(delay_s=2.0, retries=2, retry_interval_s=20.0,
                                     caller_id="95000"))
    bx.account(A)
    a = bx.phone(A, behaviour="unreachable")
    access = bx.switch.place_call(A, ACCESS)
    assert bx.run_until(lambda: access.ended, 10)
    job = bx.callbacks.jobs[0]
    assert bx.run_until(lambda: job.state == "given_up", 70)
    assert [cause for _, cause in job.attempts] == [20, 20, 20]
    times = [t for t, _ in job.attempts]
    assert 19 < times[1] - times[0] < 21 and 19 < times[2] - times[1] < 21
    assert len(a.calls) == 4  # the access call and three callback attempts
    cb_logs = [r for r in bx.call_log() if r.role == "callback"]
    assert len(cb_logs) == 3 and all(r.cause == 20 and r.answered_at is None for r in cb_logs)
    assert ops.balance(bx.store, "+86" + A).reserved_fen == 0
    assert len(bx.sessions) == 0


def test_busy_callback_is_retried_and_succeeds(box):
    bx = box()
    bx.account(A)
    a = bx.phone(A, behaviour="busy")
    access = bx.switch.place_call(A, ACCESS)
    assert bx.run_until(lambda: access.ended, 10)
    assert bx.run_until(lambda: len(a.calls) == 2 and a.last.ended, 10)
    a.behaviour = "answer"
    a.answer_after = 1.0
    assert bx.run_until(lambda: bool(bx.sessions), 30)
    assert [c for _, c in bx.callbacks.jobs[0].attempts] == [17]


def test_unknown_locked_and_poor_callers_are_told_why_and_not_called_back(box):
    bx = box(min_balance_fen=500)
    bx.account(B, fen=100)  # below the minimum
    bx.account(C)
    ops.lock_account(bx.store, "+86" + C)
    for number, prompt in ((A, "unknown_account"), (B, "low_balance"), (C, "account_locked")):
        phone = bx.phone(number)
        rec = bx.switch.place_call(number, ACCESS)
        assert bx.run_until(lambda rec=rec: rec.ended, 10)
        assert heard_prompt(audio(rec), prompt), prompt
        assert not rec.connected
        bx.run(5)
        assert len(phone.calls) == 1  # no callback
    assert len(bx.callbacks.jobs) == 0


def test_invalid_own_duplicate_and_blocked_numbers_are_refused(box):
    bx = box()
    bx.account(A)
    a = bx.phone(A, answer_after=1.0)
    bx.phone(B, answer_after=1.0)
    s, cb = _called_back(bx, a)
    cases = [("12#", "invalid_number"), (A + "#", "own_number"), ("110#", "blocked_number"),
             ("120#", "blocked_number")]
    for i, (keys, prompt) in enumerate(cases):
        if i:
            a.press("*")
        t = bx.clock.now
        a.press(keys)
        bx.run(2.5)
        assert heard_prompt(audio(cb, t), prompt), keys
    a.press("*" + B + "#")
    bx.run(4)
    t = bx.clock.now
    a.press("*" + B + "#")
    bx.run(2.5)
    assert heard_prompt(audio(cb, t), "duplicate_number")
    assert sum(1 for m in s.members if m.state == "joined") == 1
    assert all(len(sw.records) for sw in bx.switches)


def test_channels_exhausted_mid_invite(box):
    bx = box(session=SessionConfig(max_participants=40))
    bx.account(A, fen=1_000_000)
    a = bx.phone(A, answer_after=1.0)
    s, cb = _called_back(bx, a)
    numbers = [f"1360000{i:04d}" for i in range(30)]
    for n in numbers:
        bx.phone(n, answer_after=1.0)
    for i, n in enumerate(numbers):
        a.press(("*" if i else "") + n + "#")
        bx.run(2.2)
    assert bx.trunks[0].free_channels() == 0
    assert heard_prompt(audio(cb, bx.clock.now - 5), "no_channel")
    joined = [m for m in s.members if m.state == "joined"]
    assert len(joined) == 29  # 30 channels: A's callback and 29 participants


def test_participants_leaving_are_announced(box):
    bx = box()
    bx.account(A)
    a = bx.phone(A, answer_after=1.0)
    b = bx.phone(B, answer_after=1.0)
    c = bx.phone(C, answer_after=1.0)
    s, cb = _called_back(bx, a)
    a.press(B + "#*" + C + "##")
    assert bx.run_until(lambda: len([m for m in s.members if m.state == "joined"]) == 2, 10)
    bx.run(2)
    t = bx.clock.now
    bx.switch.hangup(b.last, 16)
    bx.run(3)
    assert heard_prompt(audio(cb, t), "participant_left")
    assert not heard_prompt(audio(cb, t), "last_participant_left")
    t = bx.clock.now
    bx.switch.hangup(c.last, 16)
    bx.run(3)
    assert heard_prompt(audio(cb, t), "last_participant_left")
    assert not s.ended and not cb.ended  # the initiator stays and may invite again


def test_list_and_background_music_keys(box):
    bx = box()
    bx.account(A)
    a = bx.phone(A, answer_after=1.0)
    b = bx.phone(B, answer_after=1.0)
    s, cb = _called_back(bx, a)
    a.press(B + "##")
    assert bx.run_until(lambda: any(m.state == "joined" for m in s.members), 10)
    bx.run(3)
    t = bx.clock.now
    a.press("0")
    bx.run(3)
    assert heard_prompt(audio(cb, t), "participants_count")
    a.press("9")
    bx.run(3)
    from box_harness import BACKGROUND_HZ, voice_level
    assert voice_level(audio(b.last, bx.clock.now - 1.5), BACKGROUND_HZ) > -50
    a.press("9")
    bx.run(2)
    assert voice_level(audio(b.last, bx.clock.now - 1), BACKGROUND_HZ) < -70


def test_credit_runs_out_warnings_then_the_call_ends(box):
    bx = box(min_balance_fen=10)
    bx.account(A, fen=150)
    a = bx.phone(A, answer_after=1.0)
    b = bx.phone(B, answer_after=1.0)
    s, cb = _called_back(bx, a)
    a.press(B + "##")
    assert bx.run_until(lambda: s.ended, 400)
    assert any("credit warning" in text for _, text in s.log)
    assert any("credit exhausted" in text for _, text in s.log)
    assert bx.run_until(lambda: cb.ended and b.last.ended, 10)
    bal = ops.balance(bx.store, "+86" + A)
    assert bal.balance_fen >= 0 and bal.reserved_fen == 0
