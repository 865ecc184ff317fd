"""The service IVR's flow as a pure state machine: keys, timeouts and money answers in, prompts
and money requests out (no span, no DB: the requests it returns are checked, the answers the
money services would give are fed back)."""
import pytest

from confcall.conference.ivr_flow import (ChangePin, CheckPin, FlowPolicy, IvrFlow, LookUp,
                                          Recharge, Say, Step, Summarize, spoken_number)
from confcall.rating.ops import AccountSummary, Balance

OWN, OTHER = "+8613800138000", "+8613900139000"
OTHER_DIGITS = ["d1", "d3", "d9", "d0", "d0", "d1", "d3", "d9", "d0", "d0", "d0"]


def summary(number=OWN, available=10_000, mode="prepaid"):
    return AccountSummary(number, mode, available, available, 0, 90, None, None, None, None)


def keys(flow, text):
    out = []
    for k in text:
        out += flow.feed(k)
    return out


def said(actions):
    """The prompts of the one Say among ``actions``."""
    says = [a for a in actions if isinstance(a, Say)]
    assert len(says) == 1, actions
    return list(says[0].prompts)


def own_menu(policy=None):
    flow = IvrFlow(policy=policy or FlowPolicy())
    assert flow.start(OWN) == [LookUp(OWN)]
    assert said(flow.answered(summary())) == ["ivr_welcome", "ivr_enter_pin"]
    assert keys(flow, "482913#") == [CheckPin(OWN, "482913")]
    assert said(flow.answered(OWN)) == ["ivr_menu"]
    return flow


def other_menu(start=None):
    flow = IvrFlow()
    assert said(flow.start(start)) == ["ivr_welcome", "ivr_enter_target"]
    assert said(keys(flow, "13900139000#")) == ["ivr_target_is", *OTHER_DIGITS,
                                                 "ivr_confirm_target"]
    assert said(flow.feed("1")) == ["ivr_target_menu"]
    assert flow.step is Step.TARGET_MENU and flow.number == OTHER
    return flow


def test_own_number_is_the_default_and_star_chooses_another():
    flow = own_menu()
    assert flow.number == OWN and flow.step is Step.MENU
    flow = IvrFlow()
    flow.start(OWN)
    flow.answered(summary())
    assert said(flow.feed("*")) == ["ivr_enter_target"]
    assert flow.step is Step.TARGET and flow.other


def test_star_in_the_own_menu_chooses_another_number_after_the_password():
    flow = own_menu()
    assert said(flow.feed("*")) == ["ivr_enter_target"]
    said(keys(flow, "13900139000#"))
    flow.feed("1")
    assert keys(flow, "2605718#")[-1] == Summarize(OTHER, "605718")


def test_withheld_or_no_account_goes_straight_to_another_number():
    other_menu(None)
    flow = IvrFlow()
    flow.start(OWN)
    assert said(flow.refused("account.unknown")) == ["ivr_welcome", "ivr_enter_target"]
    assert flow.step is Step.TARGET


@pytest.mark.parametrize("entry", ["12345#", "110#", "#", "0#", "99999999999999999999#"])
def test_a_bad_target_number_is_asked_again(entry):
    flow = IvrFlow()
    flow.start(None)
    assert said(keys(flow, entry)) == ["invalid_number", "ivr_enter_target"]
    assert flow.step is Step.TARGET and flow.target is None


def test_readback_two_reenters_and_bad_keys_read_it_again():
    flow = IvrFlow()
    flow.start(None)
    keys(flow, "13800138001#")
    assert said(flow.feed("5")) == ["ivr_invalid_choice", "ivr_target_is", "d1", "d3", "d8",
                                    "d0", "d0", "d1", "d3", "d8", "d0", "d0", "d1",
                                    "ivr_confirm_target"]
    assert flow.feed("#")[0].prompts[0] == "ivr_invalid_choice"
    assert said(flow.feed("2")) == ["ivr_enter_target"]
    assert flow.target is None
    said(keys(flow, "13900139000#"))
    flow.feed("1")
    assert flow.number == OTHER


def test_recharge_another_number_reads_back_the_number_and_its_balance():
    flow = other_menu()
    assert said(flow.feed("1")) == ["ivr_enter_card"]
    assert said(keys(flow, "100000000009#")) == ["ivr_enter_card_pin"]
    assert keys(flow, "123456789012#") == [Recharge(OTHER, "100000000009", "123456789012")]
    got = said(flow.answered(Balance(OTHER, 15_050, 0)))
    assert got == ["ivr_recharged_number", *OTHER_DIGITS, "ivr_its_balance_is",
                   "d1", "d5", "d0", "yuan", "d5", "d0", "fen", "ivr_target_menu"]


def test_recharge_of_a_number_without_account_asks_for_another_number():
    flow = other_menu()
    keys(flow, "1100000000009#123456789012#")
    assert said(flow.refused("account.unknown")) == ["ivr_target_no_account",
                                                      "ivr_enter_target"]
    assert flow.step is Step.TARGET and flow.target is None


def test_card_refusals_go_back_to_the_menu():
    flow = other_menu()
    keys(flow, "1100000000009#123456789012#")
    assert said(flow.refused("card.wrong_pin")) == ["ivr_wrong_pin", "ivr_target_menu"]
    keys(flow, "1100000000009#123456789012#")
    assert said(flow.refused("card.account_locked")) == ["ivr_card_locked", "ivr_target_menu"]


def test_balance_of_another_number_needs_its_password():
    flow = other_menu()
    assert said(flow.feed("2")) == ["ivr_enter_target_pin"]
    assert keys(flow, "654321#") == [Summarize(OTHER, "654321")]
    assert said(flow.answered(summary(OTHER, 2_000))) == ["ivr_its_balance_is", "d2", "d0",
                                                           "yuan", "ivr_target_menu"]


def test_wrong_target_password_and_unknown_number_sound_the_same_and_three_end_the_call():
    flow = other_menu()
    keys(flow, "2111111#")
    assert said(flow.refused("pin.wrong")) == ["ivr_target_wrong_pin", "ivr_target_menu"]
    keys(flow, "3222222#")
    assert flow.step is Step.NEW
    keys(flow, "736150#736150#")
    assert flow.pending == ChangePin(OTHER, "222222", "736150", "736150")
    assert said(flow.refused("account.unknown")) == ["ivr_target_wrong_pin", "ivr_target_menu"]
    keys(flow, "2333333#")
    out = flow.refused("pin.wrong")
    assert out == [Say(("ivr_target_wrong_pin", "goodbye"), hangup=True)]
    assert flow.step is Step.ENDING and flow.timeout_s is None
    assert flow.feed("1") == [] and flow.timeout() == []


def test_password_change_of_another_number():
    flow = other_menu()
    assert said(flow.feed("3")) == ["ivr_enter_target_pin"]
    assert said(keys(flow, "482913#")) == ["ivr_enter_new_pin"]
    assert said(keys(flow, "736150#")) == ["ivr_confirm_new_pin"]
    assert keys(flow, "736159#") == [ChangePin(OTHER, "482913", "736150", "736159")]
    assert said(flow.refused("pin.mismatch")) == ["ivr_pin_mismatch", "ivr_target_menu"]
    keys(flow, "3482913#736150#736150#")
    assert said(flow.answered(None)) == ["ivr_pin_changed", "ivr_target_menu"]
    keys(flow, "3482913#736150#736150#")
    assert flow.refused("account.pin_locked") == [Say(("ivr_locked", "goodbye"), hangup=True)]


def test_star_in_the_target_menu_asks_for_another_number():
    flow = other_menu()
    assert said(flow.feed("*")) == ["ivr_enter_target"]
    assert flow.target is None and flow.step is Step.TARGET


@pytest.mark.parametrize("key", ["0", "4", "9", "#"])
def test_bad_menu_keys_repeat_the_menu(key):
    flow = other_menu()
    assert said(flow.feed(key)) == ["ivr_invalid_choice", "ivr_target_menu"]
    flow = own_menu()
    assert said(flow.feed(key)) == ["ivr_invalid_choice", "ivr_menu"]


def test_keys_and_timeouts_wait_while_a_request_is_outstanding():
    flow = own_menu()
    assert flow.feed("2") == [Summarize(OWN)]
    assert not flow.listening and flow.timeout_s is None
    assert flow.feed("1") == [] and flow.timeout() == []
    assert said(flow.answered(summary())) == ["ivr_balance_is", "d1", "d0", "d0", "yuan",
                                              "ivr_menu"]
    assert flow.listening and flow.timeout_s == 10.0


def test_an_answer_without_a_request_is_a_programming_error():
    flow = own_menu()
    with pytest.raises(RuntimeError):
        flow.answered(None)


def test_silence_reprompts_the_step_then_ends_the_call():
    flow = other_menu()
    keys(flow, "2123")
    assert said(flow.timeout()) == ["ivr_timeout", "ivr_enter_target_pin"]
    assert flow.buffer == ""
    flow = IvrFlow(policy=FlowPolicy(max_timeouts=3))
    flow.start(None)
    keys(flow, "1390")
    assert said(flow.timeout()) == ["ivr_timeout", "ivr_enter_target"]
    assert flow.buffer == ""
    keys(flow, "13900139000#")
    assert said(flow.timeout())[:2] == ["ivr_timeout", "ivr_target_is"]  # the read-back again
    said(flow.timeout())  # keys reset the count: this is the second silence since "#"
    assert flow.timeout() == [Say(("ivr_timeout", "goodbye"), hangup=True)]


def test_a_key_resets_the_silence_count():
    flow = IvrFlow(policy=FlowPolicy(max_timeouts=2))
    flow.start(None)
    flow.timeout()
    flow.feed("1")
    assert said(flow.timeout()) == ["ivr_timeout", "ivr_enter_target"]


def test_star_in_an_entry_starts_it_over_and_long_entries_are_cut():
    flow = IvrFlow(policy=FlowPolicy(max_digits=11))
    flow.start(None)
    assert said(keys(flow, "139*")) == ["ivr_enter_target"]
    assert flow.buffer == ""
    keys(flow, "13900139000777")  # the extra digits are dropped
    assert flow.buffer == "13900139000"


def test_wrong_own_password_three_times_ends_the_call():
    flow = IvrFlow()
    flow.start(OWN)
    flow.answered(summary())
    for _ in range(2):
        keys(flow, "111111#")
        assert said(flow.refused("pin.wrong")) == ["ivr_wrong_pin", "ivr_enter_pin"]
    keys(flow, "111111#")
    assert flow.refused("pin.wrong") == [
        Say(("ivr_wrong_pin", "ivr_locked", "goodbye"), hangup=True)]


def test_carrier_billed_own_number_has_nothing_to_recharge():
    flow = IvrFlow()
    flow.start(OWN)
    flow.answered(summary(mode="carrier"))
    keys(flow, "482913#")
    assert said(flow.answered(OWN)) == ["ivr_menu_carrier"]
    assert said(flow.feed("1")) == ["ivr_carrier_billed", "ivr_menu_carrier"]
    flow.feed("2")
    assert said(flow.answered(summary(mode="carrier")))[0] == "ivr_spent_month_is"


def test_an_unexpected_failure_ends_the_call():
    flow = own_menu()
    flow.feed("2")
    assert flow.failed() == [Say(("failed", "goodbye"), hangup=True)]


def test_not_a_key_is_refused():
    flow = own_menu()
    with pytest.raises(ValueError):
        flow.feed("x")
    assert flow.feed("A") == []


@pytest.mark.parametrize("e164, digits", [("+8613800138000", "13800138000"),
                                          ("+861088886666", "01088886666"),
                                          ("+864008001234", "4008001234"),
                                          ("+12125550100", "0012125550100")])
def test_numbers_are_read_back_the_way_they_are_dialled(e164, digits):
    assert spoken_number(e164) == digits


def test_every_prompt_the_flow_says_is_in_the_catalog_and_has_a_test_tone():
    import re
    from pathlib import Path

    import confcall.conference.ivr_flow as module
    from confcall.prompts.catalog import load_catalog

    from box_harness import PROMPT_KEYS

    source = Path(module.__file__).read_text()
    keys = set(re.findall(r'"(ivr_[a-z_]+)"', source)) | {
        "invalid_number", "goodbye", "failed", "account_locked", "unknown_account"}
    keys -= {"ivr_flow"}
    assert len(keys) > 30
    cat = load_catalog()
    assert sorted(k for k in keys if k not in cat) == []
    assert sorted(k for k in keys if k not in PROMPT_KEYS) == []
