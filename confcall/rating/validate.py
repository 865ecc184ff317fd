"""Checks of operator and subscriber input that name the field and the rule (issue 14 item 5).

Every money entry point (CLI, web, IVR, CSV import) refuses bad input *before* any write, with
``MoneyError("input.invalid", field=…, rule=…)`` — one line, e.g. ``--note: at most 500
characters`` — so an over-long string never reaches the database (SQLite would store it
silently, PostgreSQL would raise ``DataError``), Unicode digits never become prefixes that
match nothing, and a huge number never overflows a column.
"""
from __future__ import annotations

from .errors import MoneyError

__all__ = ["INT32_MAX", "ascii_digits", "int_range", "text"]

INT32_MAX = 2**31 - 1


def _refuse(field: str, rule: str) -> MoneyError:
    return MoneyError("input.invalid", field=field, rule=rule)


def ascii_digits(field: str, value: object, low: int, high: int) -> str:
    """``value`` as 0-9 digits (no Unicode look-alikes such as ``١٣٨``), ``low``..``high`` long."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or \
            not low <= len(value) <= high:
        raise _refuse(field, f"{low} to {high} digits 0-9, got {value!r}"[:200])
    return value


def text(field: str, value: object, high: int, *, low: int = 0) -> str:
    """Printable text of ``low``..``high`` characters (no control characters)."""
    if not isinstance(value, str):
        raise _refuse(field, "must be text")
    if len(value) > high:
        raise _refuse(field, f"at most {high} characters, got {len(value)}")
    if len(value.strip()) < low:
        raise _refuse(field, f"at least {low} non-blank character(s)")
    if not value.isprintable():
        raise _refuse(field, "no control characters (tabs, new lines, ...)")
    return value


def int_range(field: str, value: object, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise _refuse(field, f"a whole number from {low} to {high}, got {value!r}"[:200])
    return value
