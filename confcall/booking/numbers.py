"""The booking form's numbers, checked as the keypad checks them in a call.

A number typed on the form (``010-8888 0000``, ``13900139000``, ``+86 21 …``) is normalised to
E.164 relative to the payer's home area, classified (``confcall.rating.numbers``), and refused
when malformed, blocked, the initiator's own or the account's own, or listed twice. What the
trunk dials is the number as a subscriber in China would key it (``01088880000``,
``13900139000``, ``0012125551234``).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from sqlalchemy.orm import Session

from confcall.rating import MoneyError
from confcall.rating.numbers import Classification, classify, normalize

from .errors import BookingError

__all__ = ["Checked", "accept", "check_number", "dial_string"]


@lru_cache(maxsize=50_000)
def dial_string(e164: str) -> str:
    """What the trunk dials for ``e164`` from China: national form with the trunk prefix for
    fixed lines, 00 + country code abroad (pure, so kept for the process)."""
    parsed = phonenumbers.parse(e164, None)
    text = phonenumbers.format_out_of_country_calling_number(parsed, "CN")
    return "".join(c for c in text if c.isdigit())


@dataclass(frozen=True)
class Checked:
    entered: str
    classification: Classification

    @property
    def number(self) -> str:
        return self.classification.number


def _nsn(e164: str) -> str:
    return e164.removeprefix("+86") if e164.startswith("+86") else e164


def check_number(session: Session, entered: object, home_area: str, field: str, *,
                 own: tuple[str, ...] = (), seen: set[str] | None = None) -> Checked:
    """Classify one typed number; ``BookingError`` keyed ``number.malformed``,
    ``number.blocked``, ``number.own`` (one of ``own``, E.164) or ``number.duplicate`` (already
    in ``seen``, which this adds to)."""
    if not isinstance(entered, str):
        raise BookingError("number.malformed", field, number=repr(entered), reason="not text")
    try:
        c = classify(session, normalize(entered, home_area), home_area)
    except MoneyError as err:
        raise BookingError.from_money(err, field) from None
    return accept(entered, c, field, own=own, seen=seen)


def accept(entered: str, c: Classification, field: str, *, own: tuple[str, ...] = (),
           seen: set[str] | None = None) -> Checked:
    """The checks after classification (blocked, own, duplicate), whoever classified it:
    ``check_number`` from the tables, the booking write path from its cache."""
    if c.cls == "blocked":
        raise BookingError("number.blocked", field, number=c.number, reason=c.reason)
    if any(_nsn(c.number) == _nsn(o) for o in own):
        raise BookingError("number.own", field, number=c.number)
    if seen is not None:
        if c.number in seen:
            raise BookingError("number.duplicate", field, number=c.number)
        seen.add(c.number)
    return Checked(entered, c)
