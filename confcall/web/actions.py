"""What the site can do, once for both faces: each action's form (fields and bounds) and the
service call behind it.  The HTML pages and the JSON API only parse with these forms, call
these functions and render; the rules themselves live in the services (``confcall.rating.ops``
for money and passwords, ``confcall.booking`` for bookings).

Every function here returns a Deferred-producing coroutine: the service runs in the DB thread
pool (argon2 included).  Refusals arrive as ``MoneyError``/``BookingError`` with a stable key.
"""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from confcall.booking import BookingLimits
from confcall.booking.listing import PAGE_DEFAULT, PAGE_MAX, Cursor
from confcall.rating import ops
from confcall.rating.numbers import normalize

from . import booking_port, sessions
from .forms import Field, Form
from .i18n import Refusal

__all__ = ["BOOK", "HISTORY", "LOGIN", "PASSWORD", "QUOTE", "RECHARGE", "account_view",
           "change_password", "history", "history_csv", "login", "recharge"]

LOGIN = Form("login", (
    Field("number", "login.number", "phone", max=24),
    Field("password", "login.password", "digits", min=1, max=32),
))
RECHARGE = Form("recharge", (
    Field("number", "recharge.target", "phone", required=False, max=24,
          doc="the number to recharge; default: the logged-in subscriber's own"),
    Field("serial", "recharge.serial", "digits", min=6, max=24),
    Field("pin", "recharge.pin", "digits", min=4, max=24),
))
PASSWORD = Form("password", (
    Field("old", "password.old", "digits", min=1, max=32),
    Field("new", "password.new", "digits", min=1, max=32),
    Field("confirm", "password.confirm", "digits", min=1, max=32),
))
HISTORY = Form("history", (
    Field("from", "history.from", "date", required=False),
    Field("to", "history.to", "date", required=False),
))


def book_form(limits: BookingLimits, retry_count: int, retry_interval_s: int,
              timezone: str) -> Form:
    """The booking form, its bounds taken from the booking service's limits."""
    return Form("book", (
        Field("initiator", "book.initiator", "phone", required=False, max=24,
              doc="called first; default: the account's own number"),
        Field("participants", "book.participants", "phones", min=1,
              max=limits.max_participants),
        Field("start", "book.start", "datetime",
              doc="the API needs an offset (2026-11-26T15:00:00+08:00); the form takes local "
                  "time in the chosen time zone"),
        Field("timezone", "book.timezone", "timezone", required=False, default=timezone,
              max=64),
        Field("retry_count", "book.retry_count", "int", required=False, min=0,
              max=limits.retries_max, default=retry_count),
        Field("retry_interval_s", "book.retry_interval", "int", required=False,
              min=limits.retry_interval_min_s, max=limits.retry_interval_max_s,
              default=retry_interval_s),
        Field("music", "book.music", "bool", required=False, default=False),
    ))


# the site rebuilds it from its [web] config
BOOK = book_form(BookingLimits(), 2, 60, "Asia/Shanghai")
LIST = Form("bookings", (
    Field("limit", "bookings.limit", "int", required=False, min=1, max=PAGE_MAX,
          default=PAGE_DEFAULT, doc="bookings per page"),
    Field("cursor", "bookings.cursor", "text", required=False, max=40,
          pattern=r"[lp][0-9]{1,17}_[0-9]{1,12}",
          doc="where the page starts: the cursor of the previous page's Link rel=next "
              "(absent: the first page)"),
))
QUOTE = Form("quote", (
    Field("participants", "book.participants", "phones", min=1, max=16),
    Field("initiator", "book.initiator", "phone", required=False, max=24),
))


async def login(site: Any, number: str, password: str, source: str,
                old_token: str | None) -> tuple[str, str, str]:
    """(E.164, session token, CSRF token) after the same password check the IVR uses."""
    e164 = normalize(number)
    e164 = await site.runner.call_plain(ops.authenticate, e164, password, source=source,
                                        now=site.now())
    token, csrf = await site.runner.call(sessions.start, "subscriber", e164, site.now(),
                                         old_token)
    return e164, token, csrf


async def account_view(site: Any, number: str) -> dict[str, Any]:
    b = await site.runner.call_plain(ops.balance, number)
    return {"number": b.number, "balance_fen": b.balance_fen, "reserved_fen": b.reserved_fen,
            "available_fen": b.available_fen}


async def recharge(site: Any, who: str, target: str | None, serial: str, pin: str,
                   source: str) -> dict[str, Any]:
    """Recharge the subscriber's own number or one they name: the card is all it takes (it
    adds credit and cannot hurt the target); an unknown target is refused by the service with
    the card untouched."""
    number = normalize(target) if target else who
    b = await site.runner.call_plain(ops.recharge_by_card, number, serial, pin,
                                     source=source, now=site.now())
    return {"number": b.number, "balance_fen": b.balance_fen, "own": b.number == who}


async def change_password(site: Any, who: str, old: str, new: str, confirm: str,
                          source: str) -> tuple[str, str]:
    """Change the password (the IVR's too); every other session of the subscriber ends, this
    browser gets a fresh one.  Returns (token, csrf)."""
    await site.runner.call_plain(ops.change_password, who, old, new, confirm, source=source,
                                 now=site.now())

    def renew(s: Any) -> tuple[str, str]:
        sessions.end_all(s, "subscriber", who)
        return sessions.start(s, "subscriber", who, site.now())
    return await site.runner.call(renew)


def period(values: dict[str, Any], tz: str, now: datetime) -> tuple[datetime, datetime]:
    """[from 00:00, to+1 00:00) in the subscriber's zone; default: the last 31 days."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    end_day: date = values.get("to") or today
    start_day: date = values.get("from") or end_day - timedelta(days=30)
    if start_day > end_day:
        raise Refusal("period.order")
    start = datetime.combine(start_day, time(0), zone).astimezone(UTC)
    end = datetime.combine(end_day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


async def history(site: Any, who: str, start: datetime, end: datetime) -> dict[str, Any]:
    st = await site.runner.call_plain(ops.statement, who, start, end)
    return statement_dict(st)


def statement_dict(st: Any) -> dict[str, Any]:
    return {
        "number": st.number, "from": st.start, "to": st.end,
        "opening_fen": st.opening_fen, "closing_fen": st.closing_fen,
        "ledger": [{"time": e[0], "kind": e[1], "amount_fen": e[2], "balance_after_fen": e[3],
                    "reference": e[4], "note": e[5]} for e in st.entries],
        "calls": [{"conference": c[0], "time": c[1], "destination": c[2], "class": c[3],
                   "duration_s": c[4], "cost_fen": c[5]} for c in st.legs],
    }


def history_csv_text(data: dict[str, Any], tz: str) -> str:
    """One CSV with a section per kind of row (spreadsheets open it as is)."""
    zone = ZoneInfo(tz)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["section", "time", "what", "number", "class", "seconds", "amount_fen",
                "balance_after_fen", "reference", "note"])
    for e in data["ledger"]:
        w.writerow(["ledger", e["time"].astimezone(zone).isoformat(), e["kind"], "", "", "",
                    e["amount_fen"], e["balance_after_fen"], e["reference"],
                    _csv_safe(e["note"])])
    for c in data["calls"]:
        w.writerow(["call", c["time"].astimezone(zone).isoformat(), "leg", c["destination"],
                    c["class"], c["duration_s"], c["cost_fen"], "", c["conference"], ""])
    return out.getvalue()


def _csv_safe(text: str) -> str:
    """No spreadsheet formula injection from a note an operator typed."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def history_csv(site: Any, who: str, start: datetime, end: datetime, tz: str) -> str:
    def fn(store: Any) -> str:
        return history_csv_text(statement_dict(ops.statement(store, who, start, end)), tz)
    return await site.runner.call_plain(fn)


# -- bookings (the booking service: confcall.booking) -----------------------------------------
async def book(site: Any, who: str, values: dict[str, Any], tz: str) -> dict[str, Any]:
    start = values["start"]
    if start.tzinfo is None:
        start = start.replace(tzinfo=ZoneInfo(tz))
    return await site.bookings.submit(booking_port.book, who, values.get("initiator") or who,
                                  values["participants"], start, values["retry_count"],
                                  values["retry_interval_s"], values["music"], site.now(),
                                  site.config.limits)


async def book_as(site: Any, cred: sessions.Credentials, values: dict[str, Any], tz: str
                  ) -> dict[str, Any]:
    """``book`` with the session checked in the booking's own unit of work (the API)."""
    start = values["start"]
    if start.tzinfo is None:
        start = start.replace(tzinfo=ZoneInfo(tz))
    return await site.bookings.submit(booking_port.book_as, cred, values.get("initiator"),
                                      values["participants"], start, values["retry_count"],
                                      values["retry_interval_s"], values["music"], site.now(),
                                      site.config.limits)


async def bookings_page_as(site: Any, cred: sessions.Credentials, limit: int = PAGE_DEFAULT,
                           cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the session's bookings and the next page's cursor (None: the last), the
    session checked in the same unit of work (the API)."""
    at = Cursor.parse(cursor) if cursor else None
    return await site.runner.call(booking_port.page_as, cred, site.now(), limit, at)


async def bookings_page(site: Any, who: str, limit: int = PAGE_DEFAULT,
                        cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    at = Cursor.parse(cursor) if cursor else None
    return await site.runner.call(booking_port.page_for, who, limit, at)


async def quote(site: Any, who: str, participants: list[str],
                initiator: str | None = None) -> list[dict[str, Any]]:
    return await site.runner.call(booking_port.classify, who, participants, initiator)


async def booking(site: Any, who: str, booking_id: int) -> dict[str, Any]:
    return await site.runner.call(booking_port.get, who, booking_id)


async def cancel(site: Any, who: str, booking_id: int) -> dict[str, Any]:
    return await site.runner.call(booking_port.cancel, who, booking_id, site.now())
