"""The booking service (``confcall.booking``) as the site calls it: one DB session per
request, its frozen views turned into the plain data the pages and the API render.  No booking
rule lives here: validation, classification, capacity, credit and the cancel race are the
service's.

Each function takes an open SQLAlchemy session (run it through the DB thread pool).
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from confcall import booking as service
from confcall.booking import BookingLimits, BookingRequest, BookingView
from confcall.booking.listing import PAGE_DEFAULT, Cursor, list_page

from .sessions import Credentials, resolve

__all__ = ["available", "book", "book_as", "cancel", "classify", "get", "get_shared", "list_for",
           "page_as", "page_for", "view"]


def available() -> bool:
    return True


def view(v: BookingView) -> dict[str, Any]:
    """A BookingView as JSON-ready data (times stay datetimes; the renderers format them)."""
    return {
        "id": v.id,
        "account": v.account_number,
        "initiator": v.initiator,
        "participants": list(v.participants),
        "start": v.start_at,
        "retry_count": v.retry_count,
        "retry_interval_s": v.retry_interval_s,
        "music": v.music,
        "state": str(v.state),
        "cancellable": v.cancellable,
        "expected_fen": v.expected_fen,
        "attempts": [{"time": a.started_at, "number": a.number, "attempt": a.attempt_no,
                      "position": a.position, "answered_at": a.answered_at,
                      "result": "" if a.result is None else str(a.result), "cause": a.cause}
                     for a in v.attempts],
    }


def book(session: Session, account: str, initiator: str, participants: list[str],
         start: datetime, retry_count: int, retry_interval_s: int, music: bool,
         now: datetime, limits: BookingLimits) -> dict[str, Any]:
    request = BookingRequest(account, initiator, tuple(participants), start.astimezone(UTC),
                             retry_count, retry_interval_s, music)
    return view(service.book(session, request, now=now, limits=limits))


def book_as(session: Session, cred: Credentials, initiator: str | None,
            participants: list[str], start: datetime, retry_count: int, retry_interval_s: int,
            music: bool, now: datetime, limits: BookingLimits) -> dict[str, Any]:
    """``book`` for the request's session, looked up in the same transaction (the API's
    booking path: one unit of work per request, in the group commit)."""
    who = resolve(session, cred, now)
    return book(session, who, initiator or who, participants, start, retry_count,
                retry_interval_s, music, now, limits)


def page_for(session: Session, account: str, limit: int = PAGE_DEFAULT,
             cursor: Cursor | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the account's bookings (``confcall.booking.listing``) and the next page's
    cursor text (None on the last page)."""
    page = list_page(session, account, limit=limit, cursor=cursor)
    return [view(v) for v in page.bookings], None if page.next is None else page.next.token()


def page_as(session: Session, cred: Credentials, now: datetime, limit: int = PAGE_DEFAULT,
            cursor: Cursor | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """``page_for`` the request's session, looked up in the same transaction (the API)."""
    return page_for(session, resolve(session, cred, now), limit, cursor)


def classify(session: Session, account: str, numbers: list[str],
             initiator: str | None = None) -> list[dict[str, Any]]:
    return [{"input": q.entered, "number": q.number or q.entered, "class": q.number_class,
             "price_per_min_fen": q.price_per_min_fen, "refusal": q.refusal}
            for q in service.classify_participants(session, account, numbers,
                                                   initiator=initiator)]


def list_for(session: Session, account: str, now: datetime) -> list[dict[str, Any]]:
    return [view(v) for v in service.list_bookings(session, account, now=now)]


def get(session: Session, account: str, booking_id: int) -> dict[str, Any]:
    return view(service.get_booking(session, account, booking_id))


def get_shared(session: Session, booking_id: int) -> dict[str, Any] | None:
    """The booking behind a participant's link (the link's MAC is the authorisation)."""
    try:
        return view(service.get_any(session, booking_id))
    except service.BookingError:
        return None


def list_any(session: Session) -> list[dict[str, Any]]:
    """The NOC's view: every booking, newest start first."""
    return [view(v) for v in service.list_all(session)]


def cancel_any(session: Session, booking_id: int, now: datetime, operator: str
               ) -> dict[str, Any]:
    return view(service.cancel_as_operator(session, booking_id, now=now, operator=operator))


def cancel(session: Session, account: str, booking_id: int, now: datetime) -> dict[str, Any]:
    return view(service.cancel(session, account, booking_id, now=now))
