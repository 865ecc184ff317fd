"""say_*: Mandarin grouping, 两/二, 零 and 十 rules; English words; money; seats; bad input.

Besides hand-checked tables, every output is read back by two independent checkers written
from the rules (not from the code): ``zh_check`` parses the Mandarin into (digit, power) items,
checks the value, that 零 is spoken exactly where a rule needs it, and the 两/二 and 十
choices; ``en_value`` parses English number words. They run over 0..12000, every 9-digit
pattern of the digits 0, 1 and 2 (all zero-run shapes, all 1/2 special cases) and random
numbers up to 10⁹.
"""
from __future__ import annotations

import random
from itertools import pairwise, product

import numpy as np
import pytest

from confcall.prompts.catalog import PromptError, load_catalog
from confcall.prompts.say import say_amount, say_digits, say_number, say_seat, spell

CAT = load_catalog()


def zh(n: int) -> str:
    return spell("zh", say_number("zh", n), CAT)


def en(n: int) -> str:
    return spell("en", say_number("en", n), CAT)


ZH_TABLE = {
    0: "零", 1: "一", 2: "二", 3: "三", 9: "九", 10: "十", 11: "十一", 12: "十二", 19: "十九",
    20: "二十", 21: "二十一", 22: "二十二", 99: "九十九", 100: "一百", 101: "一百零一",
    102: "一百零二", 110: "一百一十", 111: "一百一十一", 112: "一百一十二", 115: "一百一十五",
    120: "一百二十", 200: "两百", 202: "两百零二", 210: "两百一十", 222: "两百二十二",
    999: "九百九十九", 1000: "一千", 1001: "一千零一", 1005: "一千零五", 1010: "一千零一十",
    1011: "一千零一十一", 1050: "一千零五十", 1100: "一千一百", 1500: "一千五百",
    1234: "一千两百三十四", 2000: "两千", 2002: "两千零二", 2020: "两千零二十",
    2222: "两千两百二十二", 9999: "九千九百九十九", 10000: "一万", 10001: "一万零一",
    10010: "一万零一十", 10100: "一万零一百", 11000: "一万一千", 12345: "一万两千三百四十五",
    20000: "两万", 20002: "两万零二", 22000: "两万两千", 100000: "十万", 101000: "十万一千",
    100100: "十万零一百", 110000: "十一万", 120000: "十二万", 200000: "二十万",
    220000: "二十二万", 1000000: "一百万", 1020000: "一百零二万", 1200000: "一百二十万",
    2000000: "两百万", 10000000: "一千万", 10000001: "一千万零一", 20000000: "两千万",
    100000000: "一亿", 100000005: "一亿零五", 100010000: "一亿零一万",
    100020000: "一亿零两万", 100100000: "一亿零一十万", 101000000: "一亿零一百万",
    110000000: "一亿一千万", 110001000: "一亿一千万一千", 100001000: "一亿零一千",
    123456789: "一亿两千三百四十五万六千七百八十九", 200000000: "两亿",
    220000000: "两亿两千万", 999999999: "九亿九千九百九十九万九千九百九十九",
}

EN_TABLE = {
    0: "zero", 1: "one", 13: "thirteen", 20: "twenty", 21: "twenty one", 99: "ninety nine",
    100: "one hundred", 101: "one hundred one", 115: "one hundred fifteen",
    1000: "one thousand", 1005: "one thousand five", 1234: "one thousand two hundred thirty four",
    10000: "ten thousand", 20000: "twenty thousand", 100000: "one hundred thousand",
    1000000: "one million", 1000001: "one million one", 2000000: "two million",
    123456789: "one hundred twenty three million four hundred fifty six thousand "
               "seven hundred eighty nine",
    999999999: "nine hundred ninety nine million nine hundred ninety nine thousand "
               "nine hundred ninety nine",
}


@pytest.mark.parametrize("n, text", sorted(ZH_TABLE.items()))
def test_zh_table(n, text):
    assert zh(n) == text


@pytest.mark.parametrize("n, text", sorted(EN_TABLE.items()))
def test_en_table(n, text):
    assert en(n) == text


def test_leading_ten_is_one_fragment():
    assert say_number("zh", 12) == ["n12"]
    assert say_number("zh", 10) == ["n10"]
    assert say_number("zh", 110) == ["n1", "hundred", "n1", "n10"]
    assert say_number("zh", 20000) == ["liang", "ten_thousand"]
    assert say_number("en", 115) == ["n1", "hundred", "n15"]
    assert say_number("en", 34) == ["n30", "n4"]


# -- independent checkers ----------------------------------------------------------------------

_ZH_DIGIT = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
             "八": 8, "九": 9}
_ZH_UNIT = {"十": 1, "百": 2, "千": 3}


def _zh_items(text: str) -> list[tuple[str, int, int, str]]:
    """Parse Mandarin into spoken items: ('d', digit, power, word) per non-zero digit, with
    ``word`` the character used (二 or 两 for 2), and ('z', 0, -1, '零') per 零."""
    items: list[list] = []
    group_start = 0
    pending: list | None = None  # the digit waiting for its unit
    for ch in text:
        if ch == "零":
            items.append(["z", 0, -1, ch])
            pending = None
        elif ch in _ZH_DIGIT:
            assert pending is None, f"two digits in a row in {text}"
            pending = ["d", _ZH_DIGIT[ch], 0, ch]
            items.append(pending)
        elif ch in _ZH_UNIT:
            if pending is None:  # a bare 十 means 一十: only at the very start
                assert ch == "十" and not items, f"bare {ch} inside {text}"
                items.append(["d", 1, 1, "十"])
            else:
                pending[2] = _ZH_UNIT[ch]
            pending = None
        elif ch in "万亿":
            for it in items[group_start:]:
                if it[0] == "d":
                    it[2] += 4 if ch == "万" else 8
            group_start = len(items)
            pending = None
        else:
            raise AssertionError(f"unexpected {ch!r} in {text}")
    return [tuple(i) for i in items]


def zh_check(n: int, text: str) -> None:
    items = _zh_items(text)
    if n == 0:
        assert text == "零"
        return
    digits = [i for i in items if i[0] == "d"]
    assert sum(d * 10**p for _, d, p, _ in digits) == n, (n, text)
    powers = [p for _, _, p, _ in digits]
    assert powers == sorted(powers, reverse=True) and len(set(powers)) == len(powers), text
    # 零 exactly where needed: between consecutive non-zero digits at powers hi > lo, a 零 is
    # spoken iff they are in the same 4-digit group with a gap, or a whole lower group / the
    # top of lo's group is skipped (lo below the top position of the group under hi's).
    assert items[0][0] == "d" and items[-1][0] == "d", text
    for a, b in pairwise(items):
        assert not (a[0] == "z" and b[0] == "z"), text
    for i in range(len(items) - 1):
        if items[i][0] != "d":
            continue
        hi = items[i][2]
        nxt = items[i + 1]
        lo = (items[i + 2] if nxt[0] == "z" else nxt)[2]
        g = hi // 4
        need = (lo // 4 == g and hi - lo > 1) or (lo // 4 < g and lo < 4 * g - 1)
        assert (nxt[0] == "z") == need, (n, text, hi, lo)
    # 两 vs 二, and the bare 十
    groups = {}
    for _, d, p, _ in digits:
        groups[p // 4] = groups.get(p // 4, 0) + d * 10 ** (p % 4)
    for _, d, p, word in digits:
        if d != 2:
            continue
        liang = p % 4 in (2, 3) or (p % 4 == 0 and p > 0 and groups[p // 4] == 2)
        assert word == ("两" if liang else "二"), (n, text, p)
    lead = digits[0]
    if lead[2] % 4 == 1 and lead[1] == 1:
        assert text.startswith("十"), (n, text)
    assert "一十" not in text[:2], (n, text)


_EN = {w: i for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
     "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
     "nineteen"])}
_EN.update({w: 10 * i for i, w in enumerate(
    ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"], start=2)})


def en_value(text: str) -> int:
    words = text.split()
    assert "and" not in words
    if words == ["zero"]:
        return 0
    assert "zero" not in words, text
    total = cur = 0
    prev = None
    for w in words:
        if w in _EN:
            v = _EN[w]
            assert prev is None or prev in ("hundred", "thousand", "million") or (
                prev in _EN and _EN[prev] >= 20 and _EN[prev] % 10 == 0 and v < 10), text
            cur += v
        elif w == "hundred":
            assert 1 <= cur <= 9, text
            cur *= 100
        elif w in ("thousand", "million"):
            assert 1 <= cur <= 999, text
            total += cur * (1000 if w == "thousand" else 10**6)
            cur = 0
        else:
            raise AssertionError(f"unexpected {w!r} in {text}")
        prev = w
    return total + cur


def _sample() -> list[int]:
    ns = list(range(12001))
    ns += [int("".join(p)) for p in product("012", repeat=9)]
    rng = random.Random(7)
    ns += [rng.randrange(10**9) for _ in range(5000)]
    ns += [rng.randrange(10**k) for k in range(1, 10) for _ in range(300)]
    return sorted(set(ns))


def test_zh_rules_hold_everywhere():
    for n in _sample():
        zh_check(n, zh(n))


def test_en_words_read_back_everywhere():
    for n in _sample():
        assert en_value(en(n)) == n


def test_zh_checker_catches_wrong_readings():
    for n, bad in ((1005, "一千五"), (10010, "一万一十"), (110, "百一十"), (200, "二百"),
                   (2, "两"), (10, "一十"), (1020000, "一百零两万"), (100, "一百零")):
        with pytest.raises(AssertionError):
            zh_check(n, bad)


# -- money ---------------------------------------------------------------------------------------

AMOUNTS = {
    0: ("零元", "zero yuan"), 1: ("一分", "one fen"), 2: ("两分", "two fen"),
    10: ("一角", "ten fen"), 20: ("两角", "twenty fen"), 22: ("两角两分", "twenty two fen"),
    34: ("三角四分", "thirty four fen"), 100: ("一元", "one yuan"), 200: ("两元", "two yuan"),
    1200: ("十二元", "twelve yuan"), 1204: ("十二元零四分", "twelve yuan four fen"),
    1230: ("十二元三角", "twelve yuan thirty fen"),
    1234: ("十二元三角四分", "twelve yuan thirty four fen"),
    2000: ("二十元", "twenty yuan"), 20000: ("两百元", "two hundred yuan"),
    100005: ("一千元零五分", "one thousand yuan five fen"),
    2000000: ("两万元", "twenty thousand yuan"),
    123456789: ("一百二十三万四千五百六十七元八角九分",
                ("one million two hundred thirty four thousand five hundred sixty seven yuan "
                 "eighty nine fen")),
    99999999999: ("九亿九千九百九十九万九千九百九十九元九角九分", None),
}


@pytest.mark.parametrize("fen, texts", sorted(AMOUNTS.items()))
def test_amounts(fen, texts):
    tz, te = texts
    assert spell("zh", say_amount("zh", fen), CAT) == tz
    if te:
        assert spell("en", say_amount("en", fen), CAT) == te


def test_amount_keys_and_negative():
    assert say_amount("zh", 1234) == ["n12", "yuan", "n3", "jiao", "n4", "fen"]
    assert say_amount("en", 1234) == ["n12", "yuan", "n30", "n4", "fen"]
    assert say_amount("zh", -1234) == ["minus"] + say_amount("zh", 1234)
    assert spell("en", say_amount("en", -5), CAT) == "minus five fen"
    assert spell("zh", say_amount("zh", -200), CAT) == "负两元"


def test_amounts_read_back():
    rng = random.Random(3)
    for fen in [rng.randrange(10**11) for _ in range(3000)] + list(range(3000)):
        t = spell("zh", say_amount("zh", fen), CAT)
        yuan, rest = (t.split("元") + [""])[:2] if "元" in t else ("", t)
        v = 0
        if yuan and yuan != "零":
            v += 100 * _zh_value(yuan)
        if "角" in rest:
            j, rest = rest.split("角")
            v += 10 * _ZH_DIGIT[j]
        if "分" in rest:
            v += _ZH_DIGIT[rest.removeprefix("零").removesuffix("分")]
        assert v == fen, (fen, t)
        e = spell("en", say_amount("en", fen), CAT).split()
        y = e.index("yuan") if "yuan" in e else -1
        ev = 100 * en_value(" ".join(e[:y])) if y >= 0 and e[:y] != ["zero"] else 0
        tail = e[y + 1:]
        if tail:
            assert tail[-1] == "fen"
            ev += en_value(" ".join(tail[:-1]))
        assert ev == fen, (fen, e)


def _zh_value(text: str) -> int:
    return sum(d * 10**p for kind, d, p, _ in _zh_items(text) if kind == "d")


# -- digits and seats ------------------------------------------------------------------------------

def test_digits():
    assert say_digits("zh", "13800138000") == ["d1", "d3", "d8", "d0", "d0", "d1", "d3", "d8",
                                               "d0", "d0", "d0"]
    assert spell("zh", say_digits("zh", "10086"), CAT) == "幺零零八六"
    assert spell("en", say_digits("en", "010"), CAT) == "zero one zero"


def test_seats():
    assert say_seat("zh", 2) == ["seat", "n2"]
    assert spell("zh", say_seat("zh", 12), CAT) == "座位号十二"
    assert spell("en", say_seat("en", 3), CAT) == "Seat three"
    assert say_seat("en", 999)[0] == "seat"


# -- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, msg", [
    (lambda: say_number("zh", -1), "out of range"),
    (lambda: say_number("en", 10**9), "out of range"),
    (lambda: say_number("zh", 1.0), "must be an integer, got float"),
    (lambda: say_number("zh", True), "must be an integer, got bool"),
    (lambda: say_number("zh", "12"), "must be an integer, got str"),
    (lambda: say_amount("zh", 12.34), "must be an integer, got float"),
    (lambda: say_amount("en", 10**11), "out of range"),
    (lambda: say_amount("en", -(10**11)), "out of range"),
    (lambda: say_seat("zh", 0), "out of range"),
    (lambda: say_seat("zh", 1000), "out of range"),
    (lambda: say_digits("zh", 13800), "string of 0-9"),
    (lambda: say_digits("zh", ""), "non-empty string of 0-9"),
    (lambda: say_digits("zh", "12#"), "non-empty string of 0-9"),
    (lambda: say_digits("zh", "١٢"), "non-empty string of 0-9"),
])
def test_bad_input_is_a_clear_value_error(call, msg):
    with pytest.raises(ValueError, match=msg):
        call()


def test_unknown_language():
    with pytest.raises(PromptError, match="unknown prompt language"):
        say_number("fr", 1)
    assert isinstance(PromptError("x"), ValueError)


def test_numpy_integers_are_accepted():
    assert say_number("zh", np.int64(20000)) == ["liang", "ten_thousand"]
    assert say_amount("en", np.int32(100)) == ["n1", "yuan"]
