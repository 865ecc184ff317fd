"""The booking service as the site sees it: ``confcall.booking`` (owned by the bookings
service), called in one DB session per request, its views turned into plain dicts the pages
and the API render.  No booking rule lives here: validation, classification, capacity, credit
and the cancel race are the service's.

Each function takes an open SQLAlchemy session (run through the DB thread pool).
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

__all__ = ["available", "book", "cancel", "classify", "get", "list_for", "view"]


def _service() -> Any:
    import confcall.booking as service
    return service


def available() -> bool:
    try:
        _service()
    except ImportError:
        return False
    return True


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if isinstance(obj, dict) and name in obj:
            return obj[name]
        if hasattr(obj, name):
            return getattr(obj, name)
    return default


def _state(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def _attempt(a: Any) -> dict[str, Any]:
    return {"time": _get(a, "started_at", "time", "at"),
            "number": _get(a, "number", "participant", default=""),
            "attempt": _get(a, "attempt_no", "attempt", "number_of_attempt", default=1),
            "answered_at": _get(a, "answered_at"),
            "result": _state(_get(a, "result", "outcome", default="")),
            "cause": _get(a, "cause")}


def view(v: Any) -> dict[str, Any]:
    """A BookingView as JSON-ready data."""
    start = _get(v, "start", "start_at", "starts_at")
    if isinstance(start, datetime) and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return {
        "id": int(_get(v, "id", "booking_id")),
        "account": _get(v, "account", "account_number", default=""),
        "initiator": _get(v, "initiator", "initiator_number", default=""),
        "participants": list(_get(v, "participants", "participant_numbers", default=[])),
        "start": start,
        "retry_count": _get(v, "retry_count", default=0),
        "retry_interval_s": _get(v, "retry_interval_s", "retry_interval", default=0),
        "music": bool(_get(v, "music", default=False)),
        "state": _state(_get(v, "state")),
        "attempts": [_attempt(a) for a in _get(v, "attempts", default=[]) or []],
    }


def book(session: Session, account: str, initiator: str, participants: list[str],
         start: datetime, retry_count: int, retry_interval_s: int, music: bool,
         now: datetime) -> dict[str, Any]:
    svc = _service()
    request = svc.BookingRequest(account, initiator, list(participants),
                                 start.astimezone(UTC), retry_count, retry_interval_s, music)
    kwargs: dict[str, Any] = {"now": now}
    limits = getattr(svc, "default_limits", None)
    if callable(limits):
        kwargs["limits"] = limits(session)
    return view(svc.book(session, request, **kwargs))


def classify(session: Session, account: str, numbers: list[str]) -> list[dict[str, Any]]:
    out = []
    for number, q in zip(numbers, _service().classify_participants(session, account, numbers),
                         strict=False):
        refusal = _get(q, "refusal", "refusal_key", "error")
        out.append({"input": number,
                    "number": _get(q, "number", default=number),
                    "class": _get(q, "number_class", "cls", "klass", default=None),
                    "price_per_min_fen": _get(q, "price_per_min_fen", default=None),
                    "refusal": getattr(refusal, "key", refusal)})
    return out


def list_for(session: Session, account: str, now: datetime) -> list[dict[str, Any]]:
    return [view(v) for v in _service().list_bookings(session, account, now=now)]


def get(session: Session, account: str, booking_id: int) -> dict[str, Any]:
    return view(_service().get_booking(session, account, booking_id))


def cancel(session: Session, account: str, booking_id: int, now: datetime) -> dict[str, Any]:
    return view(_service().cancel(session, account, booking_id, now=now))
