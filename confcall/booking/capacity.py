"""How many channels booked conferences need at once, and whether a new one still fits.

Why channels, not bookings: a booked conference holds one B-channel per party at its time
(the initiator, each booked participant, and, when ``[booking] keyed_room`` says so, room for
participants the initiator keys in during the call). The fleet has ``[booking] channels``
B-channels for booked conferences, all boxes together. A new booking fits when, at the
busiest instant of its window, the channels the overlapping booked conferences need plus its
own stay within that figure.

``peak_channels`` and ``conference_channels`` are pure; ``check_capacity`` is the booking
service's read (one aggregate over the bookings that can overlap), run inside ``book()``'s
transaction after its lock, so two concurrent bookings never both take the last channels.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from confcall.store.models import Booking, BookingParticipant, table_of
from confcall.store.prepared import Prepared

from .errors import BookingError
from .states import ACTIVE, BookingKind
from .views import BookingLimits

__all__ = ["check_capacity", "conference_channels", "peak_channels"]

_B, _P = table_of(Booking), table_of(BookingParticipant)
_ACTIVE_SQL = text("bookings.state IN (" + ", ".join(f"'{s.value}'" for s in ACTIVE) + ")")
# the booked conferences that can overlap [start, end): none started before ``since`` (the
# longest booking stored, ``booking_horizon``), so the (state, start_at) index bounds the read
_OVERLAPPING = (select(_B.c.start_at, _B.c.ends_at, func.count(_P.c.id))
                .join(_P, _P.c.booking_id == _B.c.id, isouter=True)
                .where(_B.c.kind == BookingKind.CONFERENCE.value, _ACTIVE_SQL,
                       _B.c.start_at < bindparam("end"), _B.c.start_at >= bindparam("since"),
                       _B.c.ends_at > bindparam("start"))
                .group_by(_B.c.id, _B.c.start_at, _B.c.ends_at))
_OVERLAPPING_Q = Prepared(_OVERLAPPING)


def conference_channels(participants: int, limits: BookingLimits) -> int:
    """Channels one booked conference with ``participants`` booked participants holds: the
    initiator, the participants, and ``limits.keyed_room`` more for participants keyed in
    during the call, never more seats than a conference has (``max_participants``)."""
    seats = 1 + participants
    return max(seats, min(seats + limits.keyed_room, limits.max_participants))


def peak_channels(start: datetime, end: datetime,
                  others: Iterable[tuple[datetime, datetime, int]]) -> int:
    """The most channels that ``others`` (start, end, channels; half-open windows) hold at any
    instant of ``[start, end)``."""
    load = 0
    changes: list[tuple[datetime, int]] = []
    for s, e, ch in others:
        if s >= end or e <= start:
            continue
        if s <= start:
            load += ch
        else:
            changes.append((s, ch))
        if e < end:
            changes.append((e, -ch))
    peak = load
    # at the same instant an end frees its channels before a start takes them
    for _, delta in sorted(changes, key=lambda c: (c[0], c[1])):
        load += delta
        peak = max(peak, load)
    return peak


def check_capacity(session: Session, start: datetime, end: datetime, participants: int,
                   limits: BookingLimits, *, horizon_s: float | None) -> None:
    """Raise ``booking.capacity`` (field ``start_at``: how many channels were needed and how
    many are free) unless a conference with ``participants`` booked participants fits in
    ``[start, end)`` beside the booked conferences already held. ``horizon_s``: the longest
    booking stored (None: no booking yet, read everything)."""
    since = start - timedelta(seconds=horizon_s) if horizon_s is not None else \
        datetime(1970, 1, 1, tzinfo=UTC)
    # (web, issue 11's write path) on SQLite's cursor, the times compared as stored: their
    # text sorts as the times do, and peak_channels only compares them (confcall.store.prepared)
    conn = session.connection()
    rows = _OVERLAPPING_Q.all(conn, {"start": start, "end": end, "since": since}, stored=True)
    peak = peak_channels(_OVERLAPPING_Q.stored_value(conn, "start", start),
                         _OVERLAPPING_Q.stored_value(conn, "end", end),
                         cast(Any, ((s, e, conference_channels(int(n), limits))
                                    for s, e, n in rows)))
    needed = conference_channels(participants, limits)
    if peak + needed > limits.channels:
        raise BookingError("booking.capacity", "start_at", value=start.isoformat(),
                           needed=needed, free=max(limits.channels - peak, 0))
