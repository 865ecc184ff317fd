"""The service number: identify by ANI + PIN, recharge by card, balance, password change —
checked by what the caller hears (the sequence of prompts in the recording)."""
from datetime import timedelta

from confcall.rating import ops

from box_harness import NOW, SERVICE, audio, contains, prompts_heard

A = "13800138000"
PIN = "482913"


def _card(bx, value_fen=5_000, expires=timedelta(days=365)):
    batch, printed = ops.generate_cards(bx.store, "test", 2, value_fen, NOW + expires, now=NOW)
    ops.activate_batch(bx.store, batch)
    return printed


def _call(bx, phone):
    rec = bx.switch.place_call(phone.number, SERVICE)
    assert bx.run_until(lambda: rec.connected, 5)  # the IVR answers: this call is charged
    bx.run(1.0)
    return rec


def _key(bx, phone, keys, wait=3.0):
    phone.press(keys)
    bx.run(wait + 0.16 * len(keys))


def test_balance_and_recharge_with_a_valid_card_then_the_same_card_again(box):
    bx = box()
    bx.account(A, fen=10_000, pin=PIN)
    (serial, card_pin), _ = _card(bx)
    a = bx.phone(A)
    rec = _call(bx, a)
    _key(bx, a, PIN + "#")
    _key(bx, a, "2", wait=4)
    heard = prompts_heard(audio(rec))
    assert heard[:2] == ["ivr_welcome", "ivr_enter_pin"]
    assert contains(heard, ["ivr_balance_is", "d1", "d0", "d0", "yuan", "ivr_menu"])
    _key(bx, a, "1")
    _key(bx, a, serial + "#")
    _key(bx, a, card_pin + "#", wait=5)
    heard = prompts_heard(audio(rec))
    assert contains(heard, ["ivr_enter_card", "ivr_enter_card_pin"])
    assert contains(heard, ["ivr_recharge_ok", "d1", "d5", "d0", "yuan", "ivr_menu"])
    assert ops.balance(bx.store, "+86" + A).balance_fen == 15_000
    # the same card a second time: refused as used, balance unchanged
    _key(bx, a, "1")
    _key(bx, a, serial + "#")
    _key(bx, a, card_pin + "#", wait=4)
    assert contains(prompts_heard(audio(rec)), ["ivr_card_used", "ivr_menu"])
    assert ops.balance(bx.store, "+86" + A).balance_fen == 15_000
    bx.switch.hangup(rec)
    assert bx.run_until(lambda: rec.ended, 5)


def test_wrong_pin_three_times_locks_out(box):
    bx = box()
    bx.account(A, pin=PIN)
    a = bx.phone(A)
    rec = _call(bx, a)
    for _ in range(3):
        _key(bx, a, "111222#")
    assert bx.run_until(lambda: rec.ended, 10)
    heard = prompts_heard(audio(rec))
    assert heard.count("ivr_wrong_pin") == 3
    assert contains(heard, ["ivr_wrong_pin", "ivr_locked", "goodbye"])
    assert rec.cleared_by == "confcall"
    # guessing on in a new call: the money services lock out after a few more wrong PINs (their
    # rule, counted across calls: the IVR does not count them itself), and then even the right
    # PIN is refused
    rec2 = _call(bx, a)
    for guess in ("111222#", "111333#", "111444#"):
        if not rec2.ended:
            _key(bx, a, guess, wait=4)
    assert bx.run_until(lambda: rec2.ended, 10)
    heard2 = prompts_heard(audio(rec2))
    assert 1 <= heard2.count("ivr_wrong_pin") <= 2  # fewer than this call's own limit of 3
    assert contains(heard2, ["ivr_locked", "goodbye"])
    rec3 = _call(bx, a)
    _key(bx, a, PIN + "#", wait=4)
    assert bx.run_until(lambda: rec3.ended, 10)
    assert contains(prompts_heard(audio(rec3)), ["ivr_locked", "goodbye"])


def test_wrong_card_pin_and_expired_and_unknown_cards(box):
    bx = box()
    bx.account(A, pin=PIN)
    (serial, card_pin), (serial2, _) = _card(bx)
    a = bx.phone(A)
    rec = _call(bx, a)
    _key(bx, a, PIN + "#")
    _key(bx, a, "1")
    _key(bx, a, serial + "#")
    _key(bx, a, "000000#", wait=4)
    assert contains(prompts_heard(audio(rec)), ["ivr_wrong_pin", "ivr_menu"])
    _key(bx, a, "1")
    _key(bx, a, "12345#")
    _key(bx, a, "000000#", wait=4)
    assert contains(prompts_heard(audio(rec)), ["ivr_card_invalid", "ivr_menu"])
    assert ops.balance(bx.store, "+86" + A).balance_fen == 10_000


def test_password_change_then_login_with_the_new_one(box):
    bx = box()
    bx.account(A, pin=PIN)
    a = bx.phone(A)
    rec = _call(bx, a)
    _key(bx, a, PIN + "#")
    _key(bx, a, "3")
    _key(bx, a, PIN + "#")
    _key(bx, a, "736150#")
    _key(bx, a, "736159#", wait=4)  # mismatch
    assert contains(prompts_heard(audio(rec)), ["ivr_pin_mismatch", "ivr_menu"])
    _key(bx, a, "3")
    _key(bx, a, PIN + "#")
    _key(bx, a, "736150#")
    _key(bx, a, "736150#", wait=4)
    heard = prompts_heard(audio(rec))
    assert contains(heard, ["ivr_enter_old_pin"]) and contains(heard, ["ivr_confirm_new_pin"])
    assert contains(heard, ["ivr_pin_changed", "ivr_menu"])
    bx.switch.hangup(rec)
    bx.run(2)
    assert ops.authenticate(bx.store, "+86" + A, "736150", source="cli", now=NOW)
    rec2 = _call(bx, a)
    _key(bx, a, "736150#")
    assert contains(prompts_heard(audio(rec2)), ["ivr_menu"])


def test_silence_reprompts_then_hangs_up(box):
    bx = box()
    bx.account(A, pin=PIN)
    a = bx.phone(A)
    rec = _call(bx, a)
    assert bx.run_until(lambda: rec.ended, 40)
    heard = prompts_heard(audio(rec))
    assert heard.count("ivr_timeout") == 3 and heard[-1] == "goodbye"


# -- another number than the caller's (issue 18) ------------------------------------------------
B, C, D = "13900139000", "13700137000", "13600136000"
B_DIGITS = ["d1", "d3", "d9", "d0", "d0", "d1", "d3", "d9", "d0", "d0", "d0"]
B_PIN = "605718"


def _fen(bx, number):
    return ops.balance(bx.store, "+86" + number).balance_fen


def _card_state(bx, serial):
    from sqlalchemy import select

    from confcall.store.models import Card
    with bx.store.transaction() as s:
        return s.scalar(select(Card.state).where(Card.serial == serial))


def _name_target(bx, phone, digits):
    """Key the other number; the read-back is heard whole before the caller answers it."""
    _key(bx, phone, digits + "#", wait=6.0)


def test_recharge_another_subscribers_number_from_a_third_phone(box):
    bx = box()
    bx.account(A, fen=10_000, pin=PIN)
    bx.account(B, fen=2_000, pin=B_PIN)
    bx.account(C, fen=7_000, pin="739104")
    (serial, card_pin), _ = _card(bx)
    c = bx.phone(C)
    rec = _call(bx, c)
    _key(bx, c, "*")  # at the password prompt: another number
    _name_target(bx, c, B)
    _key(bx, c, "1")  # that is the number
    _key(bx, c, "1")  # recharge
    _key(bx, c, serial + "#")
    _key(bx, c, card_pin + "#", wait=8)
    heard = prompts_heard(audio(rec))
    assert heard[:2] == ["ivr_welcome", "ivr_enter_pin"]
    assert contains(heard, ["ivr_enter_target", "ivr_target_is", *B_DIGITS,
                            "ivr_confirm_target", "ivr_target_menu", "ivr_enter_card",
                            "ivr_enter_card_pin"])
    # the target's number and its new balance: 20 + 50 yuan
    assert contains(heard, ["ivr_recharged_number", *B_DIGITS, "ivr_its_balance_is",
                            "d7", "d0", "yuan", "ivr_target_menu"])
    assert (_fen(bx, B), _fen(bx, C), _fen(bx, A)) == (7_000, 7_000, 10_000)
    assert _card_state(bx, serial) == "used"
    bx.switch.hangup(rec)
    assert bx.run_until(lambda: rec.ended, 5)


def test_recharge_from_a_withheld_number(box):
    bx = box()
    bx.account(A, fen=10_000, pin=PIN)
    bx.account(B, fen=0, pin=B_PIN)
    (serial, card_pin), _ = _card(bx, value_fen=3_050)
    a = bx.phone(A)
    rec = bx.switch.place_call(A, SERVICE, presentation="restricted")
    assert bx.run_until(lambda: rec.connected, 5)
    bx.run(1.0)
    _name_target(bx, a, B)
    _key(bx, a, "1")
    _key(bx, a, "1")
    _key(bx, a, serial + "#")
    _key(bx, a, card_pin + "#", wait=8)
    heard = prompts_heard(audio(rec))
    assert heard[:2] == ["ivr_welcome", "ivr_enter_target"]  # no password asked of anybody
    assert "ivr_enter_pin" not in heard and "unknown_account" not in heard
    assert contains(heard, ["ivr_recharged_number", *B_DIGITS, "ivr_its_balance_is",
                            "d3", "d0", "yuan", "d5", "d0", "fen", "ivr_target_menu"])
    assert (_fen(bx, B), _fen(bx, A)) == (3_050, 10_000)
    bx.switch.hangup(rec)
    assert bx.run_until(lambda: rec.ended, 5)


def test_balance_and_password_of_a_named_number_with_its_password(box):
    bx = box()
    bx.account(B, fen=12_340, pin=B_PIN)
    c = bx.phone(C)  # no account: straight to "another number"
    rec = _call(bx, c)
    _name_target(bx, c, B)
    _key(bx, c, "1")
    _key(bx, c, "2")
    _key(bx, c, "111111#", wait=4)  # wrong password of B
    _key(bx, c, "2")
    _key(bx, c, B_PIN + "#", wait=5)
    heard = prompts_heard(audio(rec))
    assert heard[:2] == ["ivr_welcome", "ivr_enter_target"]
    assert contains(heard, ["ivr_enter_target_pin", "ivr_target_wrong_pin", "ivr_target_menu"])
    assert contains(heard, ["ivr_its_balance_is", "d1", "d2", "d3", "yuan", "d4", "d0", "fen",
                            "ivr_target_menu"])
    _key(bx, c, "3")
    _key(bx, c, B_PIN + "#")
    _key(bx, c, "736150#")
    _key(bx, c, "736150#", wait=5)
    heard = prompts_heard(audio(rec))
    assert contains(heard, ["ivr_target_menu", "ivr_enter_target_pin"])
    assert contains(heard, ["ivr_pin_changed", "ivr_target_menu"])
    assert ops.authenticate(bx.store, "+86" + B, "736150", source="cli", now=NOW)
    assert _fen(bx, B) == 12_340
    bx.switch.hangup(rec)
    assert bx.run_until(lambda: rec.ended, 5)


def test_wrong_target_password_three_times_ends_the_call_and_changes_nothing(box):
    bx = box()
    bx.account(A, fen=10_000, pin=PIN)
    bx.account(B, fen=5_000, pin=B_PIN)
    a = bx.phone(A)
    rec = _call(bx, a)
    _key(bx, a, "*")
    _name_target(bx, a, B)
    _key(bx, a, "1")
    _key(bx, a, "3")
    _key(bx, a, "222222#")
    _key(bx, a, "736150#")
    _key(bx, a, "736150#", wait=4)
    _key(bx, a, "2")
    _key(bx, a, "333333#", wait=4)
    _key(bx, a, "2")
    _key(bx, a, PIN + "#", wait=4)  # A's password is not B's
    assert bx.run_until(lambda: rec.ended, 10)
    heard = prompts_heard(audio(rec))
    assert heard.count("ivr_target_wrong_pin") == 3
    assert contains(heard, ["ivr_target_wrong_pin", "goodbye"])
    assert "ivr_its_balance_is" not in heard and "ivr_pin_changed" not in heard
    assert rec.cleared_by == "confcall"
    assert ops.authenticate(bx.store, "+86" + B, B_PIN, source="cli", now=NOW)
    assert (_fen(bx, A), _fen(bx, B)) == (10_000, 5_000)


def test_unknown_target_is_refused_and_the_card_is_untouched(box):
    bx = box()
    bx.account(A, fen=10_000, pin=PIN)
    (serial, card_pin), _ = _card(bx)
    a = bx.phone(A)
    rec = _call(bx, a)
    _key(bx, a, "*")
    _name_target(bx, a, D)  # a valid number with no account
    _key(bx, a, "1")
    _key(bx, a, "1")
    _key(bx, a, serial + "#")
    _key(bx, a, card_pin + "#", wait=6)
    heard = prompts_heard(audio(rec))
    assert contains(heard, ["ivr_enter_card_pin", "ivr_target_no_account", "ivr_enter_target"])
    assert "ivr_recharged_number" not in heard
    assert _card_state(bx, serial) == "active"
    assert _fen(bx, A) == 10_000
    # the same card then recharges a number that has an account, in the same call
    _name_target(bx, a, A)
    _key(bx, a, "1")
    _key(bx, a, "1")
    _key(bx, a, serial + "#")
    _key(bx, a, card_pin + "#", wait=8)
    assert contains(prompts_heard(audio(rec)), ["ivr_recharged_number", "d1", "d3", "d8"])
    assert _fen(bx, A) == 15_000 and _card_state(bx, serial) == "used"
    bx.switch.hangup(rec)
    assert bx.run_until(lambda: rec.ended, 5)


def test_a_misread_target_is_entered_again_after_the_read_back(box):
    bx = box()
    bx.account(B, fen=1_000, pin=B_PIN)
    bx.account(D, fen=1_000, pin="918273")
    (serial, card_pin), _ = _card(bx)
    c = bx.phone(C)
    rec = _call(bx, c)
    _name_target(bx, c, D)  # a slip: D instead of B
    _key(bx, c, "2")  # not that one: enter it again
    _name_target(bx, c, B)
    _key(bx, c, "1")
    _key(bx, c, "1")
    _key(bx, c, serial + "#")
    _key(bx, c, card_pin + "#", wait=8)
    heard = prompts_heard(audio(rec))
    d_digits = ["d1", "d3", "d6", "d0", "d0", "d1", "d3", "d6", "d0", "d0", "d0"]
    assert contains(heard, ["ivr_target_is", *d_digits, "ivr_confirm_target", "ivr_enter_target",
                            "ivr_target_is", *B_DIGITS, "ivr_confirm_target", "ivr_target_menu"])
    assert contains(heard, ["ivr_recharged_number", *B_DIGITS])
    assert (_fen(bx, B), _fen(bx, D)) == (6_000, 1_000)
    bx.switch.hangup(rec)
    assert bx.run_until(lambda: rec.ended, 5)
