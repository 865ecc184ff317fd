"""Numbers, digits, money and seats as sequences of prompt fragment keys.

What it does
------------
Pure functions that turn a value into the list of catalog keys call control plays one after
another: ``say_digits`` (a phone or card number digit by digit), ``say_number`` (a cardinal,
0 ≤ n < 10⁹), ``say_amount`` (money in integer fen) and ``say_seat``. Bad input (a float, a
bool, a negative where not allowed, out of range, a non-digit) raises ``ValueError`` saying why.

Fragment keys (all in ``catalog.toml``, with zh and en text)
--------------------------------------------------------------
* ``d0``–``d9``: digit names for digit-by-digit reading. Mandarin reads 1 as 幺 (yāo) and 2 as
  二, the way Chinese carriers read phone numbers (幺三八…), so 1 and 7 never sound alike.
* ``n0``–``n19``, ``n20``, ``n30`` … ``n90``: number words (zh: 零 一 … 十 十一 … 二十 …).
* ``liang`` (两), ``hundred`` (百), ``thousand`` (千), ``ten_thousand`` (万),
  ``hundred_million`` (亿), ``million`` (en only); ``yuan``, ``jiao``, ``fen``, ``minus``.

Mandarin rules (say_number)
---------------------------
Groups of four digits (亿, 万, units). Inside a group a run of zeros is read as one 零 and
trailing zeros are silent (1005 一千零五, 1050 一千零五十); a group after a higher one that
starts with a zero, or after an all-zero group, is preceded by one 零 (10010 一万零一十,
100000005 一亿零五). 10–19 at the very start drop the 一 (10 十, 11 十一, 100000 十万), but not
inside (110 一百一十). 2 is 两 before 百 and 千 and when a whole group is 2 before 万 or 亿
(200 两百, 2000 两千, 20000 两万, 200000000 两亿); everywhere else 二 (2 二, 12 十二, 22 二十二,
1020000 一百零二万). ``say_amount`` counts money, so a bare 2 before 元/角/分 is 两 too (两元,
两角两分, 十二元).

English rules
-------------
Short-scale, no "and": 115 one hundred fifteen, 1005 one thousand five, 2000000 two million.
Money reads yuan then the remaining fen ("twelve yuan thirty four fen"), since jiao is not an
English word.

How to use it
-------------
``say_amount("zh", 1234)`` → ``['n12', 'yuan', 'n3', 'jiao', 'n4', 'fen']`` (十二元三角四分);
``say_seat("en", 2)`` → ``['seat', 'n2']``. Play the keys in order (``PromptLibrary.sequence``).
``spell(lang, keys)`` joins the catalog texts, for operators and tests.
"""
from __future__ import annotations

import numbers

from .catalog import Catalog, check_lang, load_catalog

__all__ = [
    "AMOUNT_LIMIT",
    "NUMBER_LIMIT",
    "SEAT_LIMIT",
    "say_amount",
    "say_digits",
    "say_number",
    "say_seat",
    "spell",
]

NUMBER_LIMIT = 10**9  # say_number: 0 ≤ n < NUMBER_LIMIT
AMOUNT_LIMIT = 100 * NUMBER_LIMIT  # say_amount: |fen| < AMOUNT_LIMIT (yuan < 10⁹)
SEAT_LIMIT = 1000  # say_seat: 1 ≤ n < SEAT_LIMIT
_ZH_UNIT = {3: "thousand", 2: "hundred"}


def _int(what: str, n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        # ValueError, not TypeError: callers catch one error class for every bad value
        raise ValueError(f"{what} must be an integer, got {type(n).__name__} {n!r}")  # noqa: TRY004
    return int(n)


def say_digits(lang: str, digits: str) -> list[str]:
    """``"13800138000"`` → ``['d1', 'd3', 'd8', …]``: a string of 0–9, read one by one."""
    check_lang(lang)
    if not isinstance(digits, str):
        raise ValueError(f"digits must be a string of 0-9 (to keep leading zeros), "  # noqa: TRY004
                         f"got {type(digits).__name__} {digits!r}")
    if not digits or not digits.isascii() or not digits.isdigit():
        raise ValueError(f"digits must be a non-empty string of 0-9, got {digits!r}")
    return [f"d{c}" for c in digits]


def say_number(lang: str, n: int) -> list[str]:
    """A cardinal 0 ≤ n < 10⁹ as number-word keys (Mandarin grouping or English words)."""
    check_lang(lang)
    n = _int("number", n)
    if not 0 <= n < NUMBER_LIMIT:
        raise ValueError(f"number {n} out of range: 0 <= n < {NUMBER_LIMIT:,}")
    return _zh_number(n) if lang == "zh" else _en_number(n)


def say_amount(lang: str, fen: int) -> list[str]:
    """Money in integer fen (1 yuan = 10 jiao = 100 fen); negative amounts start with minus."""
    check_lang(lang)
    fen = _int("amount (integer fen)", fen)
    if not -AMOUNT_LIMIT < fen < AMOUNT_LIMIT:
        raise ValueError(f"amount {fen} fen out of range: |fen| < {AMOUNT_LIMIT:,}")
    if fen < 0:
        return ["minus"] + say_amount(lang, -fen)
    return _zh_amount(fen) if lang == "zh" else _en_amount(fen)


def say_seat(lang: str, n: int) -> list[str]:
    """``seat`` followed by the seat number (1 ≤ n < 1000): 座位号二 / Seat two."""
    check_lang(lang)
    n = _int("seat", n)
    if not 1 <= n < SEAT_LIMIT:
        raise ValueError(f"seat {n} out of range: 1 <= seat < {SEAT_LIMIT}")
    return ["seat"] + say_number(lang, n)


def spell(lang: str, keys: list[str], catalog: Catalog | None = None) -> str:
    """The catalog text of a key sequence (zh joined without spaces, en with spaces)."""
    cat = catalog or load_catalog()
    return ("" if lang == "zh" else " ").join(cat.text(lang, k) for k in keys)


# -- Mandarin ----------------------------------------------------------------------------------

def _zh_group(g: int, leading: bool) -> list[str]:
    """One four-digit group 1..9999; ``leading``: nothing has been said before it."""
    out: list[str] = []
    zero = False
    th, hu, te, on = g // 1000, g // 100 % 10, g // 10 % 10, g % 10
    for pos, d in ((3, th), (2, hu)):
        if d == 0:
            zero = zero or bool(out)
            continue
        out += ["liang" if d == 2 else f"n{d}", _ZH_UNIT[pos]]
    if te:
        if zero:
            out.append("n0")
            zero = False
        if te == 1 and leading and not out:
            out.append(f"n1{on}" if on else "n10")  # 十, 十一 … 十九 as one fragment
            return out
        out += ["n1", "n10"] if te == 1 else [f"n{te}0"]
    elif out:
        zero = True
    if on:
        if zero:
            out.append("n0")
        out.append(f"n{on}")
    return out


def _zh_number(n: int) -> list[str]:
    if n == 0:
        return ["n0"]
    out: list[str] = []
    gap = False  # an all-zero group was skipped after something was said
    for g, unit in ((n // 10**8, "hundred_million"), (n // 10**4 % 10**4, "ten_thousand"),
                    (n % 10**4, None)):
        if g == 0:
            gap = gap or bool(out)
            continue
        if out and (gap or g < 1000):
            out.append("n0")
        gap = False
        out += ["liang"] if g == 2 and unit else _zh_group(g, leading=not out)
        if unit:
            out.append(unit)
    return out


def _zh_count(n: int) -> list[str]:
    """A count before a measure word: a bare 2 is 两."""
    return ["liang"] if n == 2 else _zh_number(n)


def _zh_amount(fen: int) -> list[str]:
    yuan, jiao, f = fen // 100, fen // 10 % 10, fen % 10
    out: list[str] = []
    if yuan:
        out += _zh_count(yuan) + ["yuan"]
    if jiao:
        out += _zh_count(jiao) + ["jiao"]
    if f:
        if yuan and not jiao:
            out.append("n0")  # 十二元零四分
        out += _zh_count(f) + ["fen"]
    return out or ["n0", "yuan"]


# -- English -----------------------------------------------------------------------------------

def _en_below_1000(n: int) -> list[str]:
    out: list[str] = []
    h, r = divmod(n, 100)
    if h:
        out += [f"n{h}", "hundred"]
    if r >= 20:
        out.append(f"n{r // 10 * 10}")
        if r % 10:
            out.append(f"n{r % 10}")
    elif r:
        out.append(f"n{r}")
    return out


def _en_number(n: int) -> list[str]:
    if n == 0:
        return ["n0"]
    out: list[str] = []
    for g, unit in ((n // 10**6, "million"), (n // 1000 % 1000, "thousand"), (n % 1000, None)):
        if g:
            out += _en_below_1000(g) + ([unit] if unit else [])
    return out


def _en_amount(fen: int) -> list[str]:
    yuan, f = divmod(fen, 100)
    out: list[str] = []
    if yuan:
        out += _en_number(yuan) + ["yuan"]
    if f:
        out += _en_number(f) + ["fen"]
    return out or ["n0", "yuan"]
