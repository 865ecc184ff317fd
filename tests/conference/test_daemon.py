"""The daemon's own duties: graceful shutdown clears every call with a cause and closes its
records; incoming calls to numbers it does not serve are refused before anything is said."""
from confcall.dahdi.legs import LegState
from confcall.rating import ops

from box_harness import audio, heard_prompt
from scenarios import A, two_party_conference


def test_graceful_shutdown_clears_calls_and_closes_records(box):
    bx = box()
    call = two_party_conference(bx)
    payer, a, b = call.payer, call.a, call.b
    session = bx.sessions[0]
    stopped = bx.daemon.stop()
    assert bx.run_until(lambda: stopped.called, 6)  # the releases cross the D-channel first
    assert a.last.ended and b.last.ended
    assert a.last.cleared_by == "confcall" and a.last.cause == 16
    assert b.last.cleared_by == "confcall" and b.last.cause == 16
    assert session.ended and all(leg.state is LegState.CLEARED
                                 for t in bx.trunks for leg in t.legs.values())
    log = bx.call_log()
    assert [r.role for r in log] == ["access", "callback", "participant"]
    assert all(r.ended_at is not None for r in log)
    bal = ops.balance(bx.store, payer)
    assert bal.reserved_fen == 0 and bal.balance_fen < 10_000  # settled, nothing left held


def test_unserved_number_is_refused_as_unallocated(box):
    bx = box()
    rec = bx.switch.place_call(A, "95999")
    assert bx.run_until(lambda: rec.ended, 5)
    assert rec.cause == 1 and not rec.connected and not rec.saw("PROGRESS")
    assert not heard_prompt(audio(rec), "confirmed")
    assert [r.role for r in bx.call_log()] == ["access"]


def test_every_prompt_call_control_plays_exists_in_the_catalog():
    """The harness registers only PROMPT_KEYS and the media service refuses any other name, so
    every key the tests made call control play is one of these: all must exist in zh and en."""
    from confcall.prompts import load_catalog

    from box_harness import PROMPT_KEYS
    catalog = load_catalog()
    missing = [k for k in PROMPT_KEYS if k not in catalog]
    assert missing == []
    assert all(catalog.text(lang, k) for lang in ("zh", "en") for k in PROMPT_KEYS)
