"""Phone mode end to end (DESIGN "Call flows"): access number → on-hook rejection → callback →
digit entry → conference → initiator keys → hang-up → records in rating."""
import math

from click.testing import CliRunner

from confcall.cli import main as cli
from confcall.rating import ops
from confcall.rating.cdr import conference_bill

from box_harness import ACCESS, audio, heard_prompt
from phone_scenario import A, B, C, conference_of_three, payer_and_phones


def test_phone_mode_conference_of_three(box):
    bx = box()
    payer, a, b, c = payer_and_phones(bx)

    # 1. A dials the access number: early media, cleared, never answered
    access = bx.switch.place_call(A, ACCESS)
    assert bx.run_until(lambda: access.ended, 10)
    assert not access.connected and access.saw("PROGRESS") and access.cause == 16
    assert heard_prompt(audio(access), "confirmed")

    # 2-6: the callback, B and C keyed and talking, seat 2 dropped, A's hang-up, the records
    s = conference_of_three(bx, payer, a, b, c).session
    out = bx.call_log()[1:]

    # 7. every answered leg rated exactly, and the conference record closed with the total.
    # The default plan: mobiles of the payer's own area 12 fen/min, others 20 fen/min, per
    # started minute. Durations come from the call log (virtual time, whole seconds up).
    conf = bx.store.run(conference_bill, s.reference)
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
