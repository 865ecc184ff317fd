"""The phone-mode conference after the access call, as one reusable scenario: the callback,
`number #`, `*` for the next number, waiting music, the initiator's keys heard by nobody else,
dropping a seat, the initiator's hang-up ending everything, and the legs reaching rating.

tests/conference/test_phone_mode.py runs it on PRI (and then checks every leg's exact fen); the
R2, mixed-box and T1 tests run it too, so that every trunk kind is held to the same observable
behaviour."""
from __future__ import annotations

from dataclasses import dataclass

from confcall.dahdi.legs import LegState
from confcall.dsp import g711
from confcall.rating import ops
from confcall.rating.cdr import conference_bill
from confcall.sim.voice import digits_heard, dtmf_energy_db

from box_harness import MUSIC_HZ, audio, heard_prompt, voice_level

A, B, C = "13800138000", "13900139000", "13700137000"
A_HZ, B_HZ, C_HZ = 350.0, 450.0, 550.0


@dataclass
class Outcome:
    session: object
    callback: object  # the switch's record of the call to A
    b: object
    c: object


def payer_and_phones(bx):
    """A's funded account (10 000 fen) and the three phones: A answers the callback after 1 s,
    B after 2 s, C after 8 s (so A keys C while B already talks); each talks at its own tone.
    Returns ``(payer, a, b, c)``."""
    payer = bx.account(A, fen=10_000)
    a = bx.phone(A, answer_after=1.0, voice_hz=A_HZ)
    b = bx.phone(B, answer_after=2.0, voice_hz=B_HZ)
    c = bx.phone(C, answer_after=8.0, voice_hz=C_HZ)
    return payer, a, b, c


def conference_of_three(bx, payer: str, a, b, c, *, law: int = g711.LAW_ALAW,
                        callback_timeout: float = 10.0) -> Outcome:
    """Steps 2-6 of the phone scenario; ``a``, ``b``, ``c`` are the phones (A is the payer)."""
    def heard(rec, t0=None, t1=None):
        return audio(rec, t0, t1, law=law)

    # 2. A is called back (from the caller id) and answers
    assert bx.run_until(lambda: len(a.calls) == 2 and a.last.connected, callback_timeout)
    cb = a.last
    assert cb.direction == "from_confcall" and cb.calling == "95000"
    assert bx.run_until(lambda: bool(bx.sessions), 2)
    s = bx.sessions[0]
    bx.run(1.5)
    assert heard_prompt(heard(cb), "enter_number")

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
    assert voice_level(heard(b.last, t_keying + 0.3, t_keyed), MUSIC_HZ) > -40
    assert heard_prompt(heard(cb), "joined") and heard_prompt(heard(cb), "d2")
    assert not heard_prompt(heard(b.last), "enter_number")
    # each hears the other two, not itself
    xa, xb, xc = (heard(r, t_talk, t_talk + 1.5) for r in (cb, b.last, c.last))
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
    assert voice_level(heard(c.last, t, t + 1), A_HZ) > -40
    assert voice_level(heard(cb, t, t + 1), C_HZ) > -40
    assert not c.last.ended

    # nobody but A heard A's keys: not one DTMF digit, no tone energy
    for rec in (b.last, c.last):
        assert digits_heard(heard(rec)) == ""
        assert dtmf_energy_db(heard(rec, rec.answered_at)) < -45

    # 6. A hangs up: every leg is cleared, and the records reach rating
    next(sw for sw in bx.switches if cb in sw.records).hangup(cb, 16)
    assert bx.run_until(lambda: c.last.ended and s.ended, 5)
    assert bx.run_until(lambda: all(t.free_channels() == len(t.bchans) for t in bx.trunks), 5)
    bill = ops.statement(bx.store, payer, bx.money.to_dt(0), bx.money.to_dt(3600))
    assert bill is not None
    log = bx.call_log()
    assert [r.role for r in log] == ["access", "callback", "participant", "participant"]
    access_log, out = log[0], log[1:]
    assert access_log.direction == "in" and access_log.number == A
    assert access_log.answered_at is None and access_log.ended_at is not None
    assert all(r.ended_at is not None and r.answered_at is not None for r in out)
    assert {r.number for r in out} == {A, B, C} and all(r.cause == 16 for r in out)
    assert s.initiator_leg.state is LegState.CLEARED
    balance = ops.balance(bx.store, payer)
    assert balance.reserved_fen == 0 and balance.balance_fen < 10_000
    # the conference record is closed: its end, and the total of its three rated legs
    assert bx.run_until(lambda: bx.daemon.writes.idle(), 5)
    conf = bx.store.run(conference_bill, s.reference)
    assert conf.ended_at == bx.money.to_dt(s.ended_at) and len(conf.legs) == 3
    assert conf.total_fen == sum(leg.amount_fen for leg in conf.legs) > 0
    assert ops.balance(bx.store, payer).balance_fen == 10_000 - conf.total_fen
    return Outcome(s, cb, b.last, c.last)
