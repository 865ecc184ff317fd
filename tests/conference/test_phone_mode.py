"""Phone mode end to end (DESIGN "Call flows"): access number → on-hook rejection → callback →
digit entry → conference → initiator keys → hang-up → records in rating."""
import math

from click.testing import CliRunner

from confcall.cli import main as cli
from confcall.dahdi.legs import LegState
from confcall.rating import ops
from confcall.sim.voice import digits_heard, dtmf_energy_db

from box_harness import ACCESS, BACKGROUND_HZ, MUSIC_HZ, audio, heard_prompt, voice_level

A, B, C = "13800138000", "13900139000", "13700137000"
A_HZ, B_HZ, C_HZ = 350.0, 450.0, 550.0


def test_phone_mode_conference_of_three(box):
    bx = box()
    payer = bx.account(A, fen=10_000)
    a = bx.phone(A, answer_after=1.0, voice_hz=A_HZ)
    b = bx.phone(B, answer_after=2.0, voice_hz=B_HZ)
    c = bx.phone(C, answer_after=8.0, voice_hz=C_HZ)

    # 1. A dials the access number: early media, cleared, never answered
    access = bx.switch.place_call(A, ACCESS)
    assert bx.run_until(lambda: access.ended, 10)
    assert not access.connected and access.saw("PROGRESS") and access.cause == 16
    assert heard_prompt(audio(access), "confirmed")

    # 2. A is called back and answers
    assert bx.run_until(lambda: len(a.calls) == 2 and a.last.connected, 10)
    cb = a.last
    assert cb.direction == "from_confcall" and cb.calling == "95000"
    assert bx.run_until(lambda: bool(bx.sessions), 2)
    s = bx.sessions[0]
    bx.run(1.5)
    assert heard_prompt(audio(cb), "enter_number")

    # 3. A keys B #, then * C #, while B already rings and answers
    a.press(B + "#")
    assert bx.run_until(lambda: len(b.calls) == 1 and b.last.connected, 10)
    b.talk()
    t_keying = bx.clock.now
    a.press("*" + C + "#")
    assert bx.run_until(lambda: len(c.calls) == 1, 5)
    t_keyed = bx.clock.now
    assert bx.run_until(lambda: c.last.connected, 15)
    c.talk()
    # 4. inviting ends after the pause; everyone talks
    assert bx.run_until(lambda: not s.keypad.inviting, 10)
    a.talk()
    bx.run(3)
    t_talk = bx.clock.now - 2

    # B heard waiting music while A keyed C, and the prompts went to A only
    assert voice_level(audio(b.last, t_keying + 0.3, t_keyed), MUSIC_HZ) > -40
    assert heard_prompt(audio(cb), "joined") and heard_prompt(audio(cb), "d2")
    assert not heard_prompt(audio(b.last), "enter_number")
    # each hears the other two, not itself
    xa, xb, xc = (audio(r, t_talk, t_talk + 1.5) for r in (cb, b.last, c.last))
    assert voice_level(xa, B_HZ) > -40 and voice_level(xa, C_HZ) > -40
    assert voice_level(xb, A_HZ) > -40 and voice_level(xb, C_HZ) > -40
    assert voice_level(xc, A_HZ) > -40 and voice_level(xc, B_HZ) > -40
    assert voice_level(xa, A_HZ) < -60 and voice_level(xb, B_HZ) < -60
    assert voice_level(xa, MUSIC_HZ) < -60  # the music stopped

    # 5. A drops seat 2 (B): B cleared, A and C remain and still hear each other
    a.talk(False)
    a.press("**2#")
    assert bx.run_until(lambda: b.last.ended, 5)
    assert b.last.cleared_by == "confcall"
    a.talk(True)
    bx.run(2)
    t = bx.clock.now - 1
    assert voice_level(audio(c.last, t, t + 1), A_HZ) > -40
    assert voice_level(audio(cb, t, t + 1), C_HZ) > -40
    assert not c.last.ended

    # nobody but A heard A's keys: not one DTMF digit, no tone energy
    for rec in (b.last, c.last):
        assert digits_heard(audio(rec)) == ""
        assert dtmf_energy_db(audio(rec, rec.answered_at)) < -45

    # 6. A hangs up: every leg is cleared, and the records reach rating
    bx.switch.hangup(cb, 16)
    assert bx.run_until(lambda: c.last.ended and s.ended, 5)
    assert bx.run_until(lambda: all(t.free_channels() == 30 for t in bx.trunks), 5)
    bill = ops.statement(bx.store, payer, bx.money.to_dt(0), bx.money.to_dt(3600))
    assert bill is not None
    log = bx.call_log()
    assert [r.role for r in log] == ["access", "callback", "participant", "participant"]
    access_log, out = log[0], log[1:]
    assert access_log.direction == "in" and access_log.number == A
    assert access_log.answered_at is None and access_log.ended_at is not None
    assert all(r.ended_at is not None and r.answered_at is not None for r in out)
    assert {r.number for r in out} == {A, B, C} and all(r.cause == 16 for r in out)
    assert all(leg.state is LegState.CLEARED for leg in (s.initiator_leg,))

    # 7. every answered leg rated exactly, and the conference record closed with the total.
    # The default plan: mobiles of the payer's own area 12 fen/min, others 20 fen/min, per
    # started minute. Durations come from the call log (virtual time, whole seconds up).
    assert bx.run_until(lambda: bx.daemon.writes.idle(), 5)
    conf = store_bill(bx, s.reference)
    by_ref = {leg.reference: leg for leg in conf.legs}
    assert set(by_ref) == {r.reference for r in out}
    # A's own number is a Beijing mobile (area 10, the payer's home): mobile_local, 12 fen/min;
    # B (area 21) and C (area 24) are mobiles elsewhere: mobile_long_distance, 20 fen/min
    tariff = {A: ("mobile_local", 12), B: ("mobile_long_distance", 20),
              C: ("mobile_long_distance", 20)}
    for r in out:
        leg = by_ref[r.reference]
        seconds = math.ceil((r.ended_at - r.answered_at).total_seconds())
        cls, per_minute = tariff[r.number]
        assert leg.number_class == cls
        assert leg.duration_s == seconds and leg.billed_s == 60 * math.ceil(seconds / 60)
        assert leg.amount_fen == per_minute * math.ceil(seconds / 60)
    fen = {r.number: by_ref[r.reference].amount_fen for r in out}
    assert fen == {A: 12, B: 20, C: 20}  # each leg under one minute
    assert conf.total_fen == 52 == sum(fen.values())
    assert conf.ended_at == bx.money.to_dt(s.ended_at)
    balance = ops.balance(bx.store, payer)
    assert balance.reserved_fen == 0 and balance.balance_fen == 10_000 - 52
    # and `confcall cdr show` prints that total
    res = CliRunner().invoke(cli, ["cdr", "--db", bx.store.url, "show", s.reference])
    assert res.exit_code == 0, res.output
    assert f"conference {s.reference} payer {payer} total 52 fen" in res.output, res.output
    _ = BACKGROUND_HZ


def store_bill(bx, reference):
    from confcall.rating.cdr import conference_bill
    return bx.store.run(conference_bill, reference)
