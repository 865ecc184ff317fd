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
    # guessing on in a new call: the account locks after 5 wrong PINs in all (rating's rule),
    # and then even the right PIN is refused
    rec2 = _call(bx, a)
    _key(bx, a, "111222#")
    _key(bx, a, "111333#", wait=4)
    assert bx.run_until(lambda: rec2.ended, 10)
    heard2 = prompts_heard(audio(rec2))
    assert heard2.count("ivr_wrong_pin") == 1  # the fifth wrong PIN locks the account
    assert contains(heard2, ["ivr_enter_pin", "ivr_locked", "goodbye"])
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


def test_withheld_number_is_told_and_released(box):
    bx = box()
    rec = bx.switch.place_call(A, SERVICE, presentation="restricted")
    assert bx.run_until(lambda: rec.ended, 10)
    assert prompts_heard(audio(rec))[:1] == ["unknown_account"]
