"""The subscriber's booking pages: book (with a check of each number's class and price), the
list with every dial attempt, cancel, the calendar file and the page a participant is sent.

A participant's page is reached by an unguessable link (an HMAC of the booking id under the
server's secret): it shows the time and the masked initiator, never the other numbers.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from . import actions, booking_port
from .app import WebSite
from .forms import parse_local_datetime
from .http import Redirect, WebError, arg, form_of

__all__ = ["install", "share_token"]


def share_token(booking_id: int) -> str:
    """The participant link's token for a booking (HMAC-SHA256 under the PIN pepper)."""
    from confcall.rating import secrets_
    key = secrets_._get_pepper()
    mac = hmac.new(key, f"web-share:{booking_id}".encode(), hashlib.sha256).hexdigest()
    return f"{booking_id}-{mac[:32]}"


def _share_id(token: str) -> int | None:
    head, _, _mac = token.partition("-")
    if not head.isdigit() or len(head) > 12:
        return None
    booking_id = int(head)
    return booking_id if hmac.compare_digest(share_token(booking_id), token) else None


def mask(number: str) -> str:
    return number[:-8] + "****" + number[-4:] if len(number) > 8 else number


def ics_text(b: dict[str, Any], lang: str, url: str) -> bytes:
    from icalendar import Calendar, Event

    from .i18n import t
    cal = Calendar()
    cal.add("prodid", "-//confcall//booking//EN")
    cal.add("version", "2.0")
    ev = Event()
    ev.add("uid", f"booking-{b['id']}@confcall")
    ev.add("summary", t(lang, "booking.page_title"))
    ev.add("dtstart", b["start"].astimezone(UTC))
    ev.add("dtstamp", b["start"].astimezone(UTC))
    ev.add("description", t(lang, "booking.page_text"))
    ev.add("url", url)
    cal.add_component(ev)
    return bytes(cal.to_ical())


def install(site: WebSite, page: Callable[..., bytes], errors_text: Callable[..., list[str]],
            refusal: Callable[..., str], refusals: Callable[[], tuple[type, ...]]) -> None:
    route = site.route
    cfg = site.config
    form = actions.book_form(cfg.limits, cfg.retry_count, cfg.retry_interval_s, cfg.timezone)
    site.book_form = form

    def local(dt: datetime | None, tz: str) -> str:
        return dt.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") if dt else ""

    site.env.globals["local_time"] = local

    def need_service() -> None:
        if not booking_port.available():
            raise WebError(503, "booking.unavailable")

    @route("/book")
    async def book_form(request: Any) -> bytes:
        who = await site.need(request, "subscriber")
        need_service()
        return page(request, "book.html", who, values={"initiator": who.name,
                                                       "timezone": cfg.timezone,
                                                       "retry_count": cfg.retry_count,
                                                       "retry_interval_s":
                                                           cfg.retry_interval_s},
                    quotes=None, zones=ZONES)

    @route("/book", ("POST",))
    async def book_post(request: Any) -> bytes:
        who = await site.need(request, "subscriber", write=True)
        need_service()
        raw = form_of(request)
        values, errors = form.parse(raw)
        again = {k: raw.get(k, "")[:400] for k in ("initiator", "participants", "start",
                                                   "timezone", "retry_count",
                                                   "retry_interval_s", "music")}
        if errors:
            return page(request, "book.html", who, 400, values=again, quotes=None, zones=ZONES,
                        errors=errors_text(request, errors))
        tz = values["timezone"]
        quotes = None
        try:
            if raw.get("action") == "check":
                quotes = await actions.quote(site, who.name, values["participants"],
                                             values.get("initiator"))
                return page(request, "book.html", who, values=again, quotes=quotes,
                            zones=ZONES)
            values["start"] = parse_local_datetime(values["start"], tz)
            made = await actions.book(site, who.name, values, tz)
        except refusals() as e:
            return page(request, "book.html", who, 422, values=again, quotes=quotes,
                        zones=ZONES, errors=[refusal(request, e)])
        raise Redirect(f"/bookings/{made['id']}?booked=1")

    @route("/bookings")
    async def bookings(request: Any) -> bytes:
        who = await site.need(request, "subscriber")
        need_service()
        values, errors = actions.LIST.parse({f.name: arg(request, f.name)
                                             for f in actions.LIST.fields})
        if errors:
            return page(request, "bookings.html", who, 400, bookings=[], tz=cfg.timezone,
                        errors=errors_text(request, errors), more=None)
        rows, nxt = await actions.bookings_page(site, who.name, values["limit"],
                                                values.get("cursor"))
        more = None if nxt is None else f"/bookings?limit={values['limit']}&cursor={nxt}"
        return page(request, "bookings.html", who, bookings=rows, tz=cfg.timezone, more=more)

    async def one(request: Any, who: Any, booking_id: str) -> dict[str, Any]:
        if not booking_id.isdigit() or len(booking_id) > 12:
            raise WebError(404, "error.not_found")
        try:
            return await actions.booking(site, who.name, int(booking_id))
        except refusals():
            raise WebError(404, "error.not_found") from None

    @route("/bookings/<booking_id>")
    async def booking(request: Any, booking_id: str) -> bytes:
        who = await site.need(request, "subscriber")
        need_service()
        b = await one(request, who, booking_id)
        msgs = []
        if request.args.get(b"booked"):
            from .i18n import t
            msgs.append(t(site.lang(request), "book.done"))
        return page(request, "booking.html", who, b=b, tz=cfg.timezone, messages=msgs,
                    share=f"/b/{share_token(b['id'])}")

    @route("/bookings/<booking_id>/cancel", ("POST",))
    async def cancel(request: Any, booking_id: str) -> bytes:
        who = await site.need(request, "subscriber", write=True)
        need_service()
        b = await one(request, who, booking_id)
        from .i18n import t
        try:
            b = await actions.cancel(site, who.name, b["id"])
        except refusals() as e:
            # the dialler won the race: say so, and show the booking as it now is
            b = await one(request, who, booking_id)
            return page(request, "booking.html", who, 409, b=b, tz=cfg.timezone,
                        errors=[refusal(request, e)], share=f"/b/{share_token(b['id'])}")
        return page(request, "booking.html", who, b=b, tz=cfg.timezone,
                    messages=[t(site.lang(request), "bookings.cancelled")],
                    share=f"/b/{share_token(b['id'])}")

    @route("/bookings/<booking_id>/calendar.ics")
    async def ics(request: Any, booking_id: str) -> bytes:
        who = await site.need(request, "subscriber")
        need_service()
        b = await one(request, who, booking_id)
        request.setHeader(b"content-type", b"text/calendar; charset=utf-8")
        request.setHeader(b"content-disposition",
                          f'attachment; filename="booking-{b["id"]}.ics"'.encode())
        return ics_text(b, site.lang(request), f"/b/{share_token(b['id'])}")

    @route("/b/<token>")
    async def shared(request: Any, token: str) -> bytes:
        need_service()
        booking_id = _share_id(token) if len(token) < 80 else None
        if booking_id is None:
            raise WebError(404, "error.not_found")
        b = await site.runner.call(booking_port.get_shared, booking_id)
        if b is None:
            raise WebError(404, "error.not_found")
        return page(request, "shared.html", None, b=b, tz=cfg.timezone,
                    initiator=mask(b["initiator"]))


ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Tokyo", "Asia/Singapore",
         "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "UTC")
