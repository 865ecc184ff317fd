"""The text catalog: complete in zh and en, the names call control uses, clear errors."""
from __future__ import annotations

import re

import pytest

from confcall.prompts import say
from confcall.prompts.catalog import LANGS, PromptError, check_lang, load_catalog, parse_catalog

REQUIRED = """
confirmed no_ani unknown_account account_locked low_balance rate_limited enter_number
enter_more invalid_number blocked_number own_number duplicate_number too_many_participants
no_channel calling ringing joined busy no_answer failed participant_left last_participant_left
seat participants_count no_such_seat music_on music_off cancelled credit_warning
credit_exhausted goodbye welcome_callback conference_ended ivr_welcome ivr_enter_pin
ivr_wrong_pin ivr_locked ivr_menu ivr_invalid_choice ivr_enter_card ivr_enter_card_pin
ivr_recharge_ok ivr_card_used ivr_card_invalid ivr_card_expired ivr_card_locked ivr_balance_is
ivr_enter_old_pin ivr_enter_new_pin ivr_confirm_new_pin ivr_pin_changed ivr_pin_mismatch
ivr_pin_rules ivr_timeout yuan jiao fen point minus and hundred thousand million ten_thousand
hundred_million liang
""".split() + [f"d{i}" for i in range(10)] + [f"n{i}" for i in range(20)] + [  # noqa: SIM905
    f"n{t}0" for t in range(2, 10)]

HAN = re.compile(r"[\u4e00-\u9fff]")


def test_every_required_key_is_there():
    cat = load_catalog()
    missing = [k for k in REQUIRED if k not in cat]
    assert not missing


def test_every_key_has_zh_and_en_text():
    cat = load_catalog()
    assert LANGS == ("zh", "en")
    for key in cat:
        zh, en = cat.text("zh", key), cat.text("en", key)
        assert HAN.search(zh), f"{key}: zh text has no Hanzi: {zh!r}"
        assert not HAN.search(en) and re.search("[A-Za-z]", en), f"{key}: en text {en!r}"
        assert "#" not in zh + en and "*" not in zh + en, f"{key}: write keys as words"


def test_prompts_are_short():
    cat = load_catalog()
    for key in cat:
        assert len(cat.text("zh", key)) <= 40, key
        assert len(cat.text("en", key).split()) <= 24, key


def test_zh_digit_one_is_yao_and_number_one_is_yi():
    cat = load_catalog()
    assert cat.text("zh", "d1") == "幺" and cat.text("zh", "n1") == "一"
    assert cat.text("zh", "liang") == "两" and cat.text("zh", "n2") == "二"


def test_every_fragment_say_can_produce_is_in_the_catalog():
    cat = load_catalog()
    produced = set()
    for lang in LANGS:
        for n in list(range(1200)) + [10**4, 2 * 10**4, 10**5, 10**6, 2 * 10**8, 999_999_999]:
            produced.update(say.say_number(lang, n))
            produced.update(say.say_amount(lang, n))
            produced.update(say.say_amount(lang, -n))
        produced.update(say.say_digits(lang, "0123456789"))
        produced.update(say.say_seat(lang, 7))
    assert produced - set(cat.keys()) == set()


def test_unknown_lang_and_key_are_refused_clearly():
    cat = load_catalog()
    with pytest.raises(PromptError, match="unknown prompt language 'fr'"):
        check_lang("fr")
    with pytest.raises(PromptError, match="unknown prompt key 'nope'"):
        cat.text("zh", "nope")


@pytest.mark.parametrize("data, msg", [
    ({"hello": {"zh": "你好"}}, "hello has no en text"),
    ({"hello": {"zh": "你好", "en": "  "}}, "hello has no en text"),
    ({"hello": {"zh": "你好", "en": "hi", "fr": "salut"}}, "unknown language"),
    ({"Hello": {"zh": "你好", "en": "hi"}}, "bad prompt key 'Hello'"),
    ({"hello": "hi"}, "must be a table"),
    ({}, "no prompts"),
])
def test_bad_catalogs_are_refused(data, msg):
    with pytest.raises(PromptError, match=msg):
        parse_catalog(data)


def test_bad_catalog_files(tmp_path):
    with pytest.raises(PromptError, match="cannot read prompt catalog"):
        load_catalog(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("goodbye = { zh = \"再见\"", encoding="utf-8")
    with pytest.raises(PromptError, match="not valid TOML"):
        load_catalog(bad)
