"""Number normalisation and classification relative to the payer's home area.

What a subscriber dials (``010 8888 8888``, ``88888888``, ``13800138000``, ``00 1 212 ...``,
``+86 21 ...``) becomes E.164 with ``normalize``; ``classify`` then says how the call is rated:

======================  =========================================================
class                   when
======================  =========================================================
``blocked``             emergency short codes (110, 119, 120, 122, 112, 999), premium
                        rate, operator ``block`` rules
``free``                400 / 800 numbers, operator ``free`` rules
``international``       country code other than +86
``local``               fixed line in the payer's home area
``long_distance``       fixed line in another area, or an unknown area (reported)
``mobile_local``        mobile whose block maps to the payer's home area
``mobile_long_distance`` mobile in another area or an unknown one (reported)
======================  =========================================================

The area comes from the ``area_prefixes`` table (seeded from phonenumbers, edited by the
operator); operator ``number_rules`` win over everything except emergency codes.  A rule's
prefix is a national number prefix (``168``) or, with ``+``, an E.164 prefix of any country
(``+882``, ``+53``): toll-fraud destinations are usually international.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType
from sqlalchemy import select
from sqlalchemy.orm import Session

from confcall.store.models import NumberRule

from .areas import lookup_area
from .errors import MoneyError

__all__ = [
    "CLASSES",
    "EMERGENCY",
    "Classification",
    "area_of_number",
    "classify",
    "classify_dialled",
    "national_number",
    "normalize",
]

CLASSES = ("local", "long_distance", "mobile_local", "mobile_long_distance", "international",
           "free", "blocked")
EMERGENCY = {"110": "police", "119": "fire", "120": "ambulance", "122": "traffic accident",
             "112": "emergency", "999": "emergency"}
_PARSE_REASONS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    phonenumbers.NumberParseException.TOO_LONG: "too long",
}
_SEPARATORS = re.compile(r"[\s\-().]")


@dataclass(frozen=True)
class Classification:
    number: str  # E.164, or the short code for blocked emergency numbers
    cls: str
    area: str | None = None
    area_known: bool = True
    reason: str = ""


def _malformed(number: str, reason: str) -> MoneyError:
    return MoneyError("number.malformed", number=number, reason=reason)


def normalize(dialled: str, home_area: str | None = None) -> str:
    """E.164 for what a subscriber in ``home_area`` dialled; MoneyError if malformed.

    Emergency short codes are returned as they are (they are never dialled out)."""
    if not isinstance(dialled, str):
        raise _malformed(repr(dialled), "not text")
    raw = _SEPARATORS.sub("", dialled.strip())
    if not raw:
        raise _malformed(dialled, "empty")
    plus = raw.startswith("+")
    digits = raw[1:] if plus else raw
    if not digits.isdigit() or not digits.isascii():
        raise _malformed(dialled, "only digits and a leading + are allowed")
    if not plus and digits in EMERGENCY:
        return digits
    if len(digits) > 17:
        raise _malformed(dialled, "too long")
    if plus:
        e164 = "+" + digits
    elif digits.startswith("00"):
        e164 = "+" + digits[2:]
    elif digits.startswith("0"):
        e164 = "+86" + digits[1:]
    elif (digits.startswith("1") and len(digits) == 11
          or digits[:3] in ("400", "800") and len(digits) == 10):
        e164 = "+86" + digits
    elif 7 <= len(digits) <= 8:
        if not home_area:
            raise _malformed(dialled, "a local number needs the caller's area code")
        e164 = "+86" + home_area + digits
    else:
        raise _malformed(dialled, "wrong length for a Chinese number")
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException as exc:
        raise _malformed(dialled, _PARSE_REASONS.get(exc.error_type, "not a number")) from None
    if not phonenumbers.is_valid_number(parsed):
        raise _malformed(dialled, "no such number range")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def national_number(e164: str) -> str:
    return str(phonenumbers.parse(e164, None).national_number)


def _rule(session: Session, national: str) -> NumberRule | None:
    """The longest operator rule prefixing ``national`` (or, given "+…", an E.164 number)."""
    low = 2 if national.startswith("+") else 1
    prefixes = [national[:i] for i in range(len(national), low - 1, -1)]
    rules = session.scalars(select(NumberRule).where(NumberRule.prefix.in_(prefixes))).all()
    return max(rules, key=lambda r: len(r.prefix)) if rules else None


def area_of_number(session: Session, e164: str) -> str | None:
    """The area code of a Chinese number (fixed or mobile) from the prefix table."""
    parsed = phonenumbers.parse(e164, None)
    if parsed.country_code != 86:
        return None
    return lookup_area(session, str(parsed.national_number))


def classify(session: Session, e164: str, home_area: str) -> Classification:
    """Classify an E.164 number (from ``normalize``) for a payer living in ``home_area``."""
    if e164 in EMERGENCY:
        return Classification(e164, "blocked", reason=f"emergency number ({EMERGENCY[e164]})")
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException as exc:
        raise _malformed(e164, _PARSE_REASONS.get(exc.error_type, "not a number")) from None
    rule = _rule(session, e164)  # "+"-prefix rules: any country (issue 14)
    if rule is not None:
        cls = "blocked" if rule.action == "block" else "free"
        return Classification(e164, cls, reason=rule.reason or f"operator rule {rule.prefix}")
    if parsed.country_code != 86:
        return Classification(e164, "international")
    national = str(parsed.national_number)
    rule = _rule(session, national)
    if rule is not None:
        cls = "blocked" if rule.action == "block" else "free"
        return Classification(e164, cls, reason=rule.reason or f"operator rule {rule.prefix}")
    ntype = phonenumbers.number_type(parsed)
    if ntype == PhoneNumberType.PREMIUM_RATE:
        return Classification(e164, "blocked", reason="premium rate")
    if ntype in (PhoneNumberType.TOLL_FREE, PhoneNumberType.SHARED_COST) or \
            national[:3] in ("400", "800"):
        return Classification(e164, "free", reason="400/800 service number")
    area = lookup_area(session, national)
    mobile = ntype in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE) and \
        national.startswith("1")
    local = area is not None and area == home_area
    if mobile:
        cls = "mobile_local" if local else "mobile_long_distance"
    else:
        cls = "local" if local else "long_distance"
    return Classification(e164, cls, area=area, area_known=area is not None,
                          reason="" if area is not None else "area unknown: rated as long distance")


def classify_dialled(session: Session, dialled: str, home_area: str) -> Classification:
    return classify(session, normalize(dialled, home_area), home_area)
