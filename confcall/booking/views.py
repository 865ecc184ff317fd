"""The values the booking service takes and returns: requests, limits, read-only views.

Frozen dataclasses only (no ORM objects escape a transaction): the web site, the JSON API and
the CLI render these; nothing here touches the database.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .states import AttemptResult, BookingKind, BookingState

__all__ = ["AttemptView", "BookingLimits", "BookingRequest", "BookingView", "ParticipantQuote",
           "limits_from_config"]


@dataclass(frozen=True)
class BookingRequest:
    """What a subscriber asks for. Numbers as typed (``010 8888 0000``, ``+86…``); the start
    time aware (any zone; stored UTC). ``expected_minutes`` None = the box's default length."""

    account_number: str
    initiator: str
    participants: tuple[str, ...]
    start_at: datetime
    retry_count: int
    retry_interval_s: int
    music: bool = False
    expected_minutes: int | None = None


@dataclass(frozen=True)
class BookingLimits:
    """Bounds a booking must respect (from the ``[booking]`` and ``[conference]`` config)."""

    max_participants: int = 8
    retries_max: int = 5
    retry_interval_min_s: int = 30
    retry_interval_max_s: int = 600
    max_ahead: timedelta = timedelta(days=90)
    expected_minutes: int = 30  # default expected length (credit and capacity checks)
    expected_minutes_max: int = 240
    channels: int = 30  # B-channels the boxes have for booked conferences at any time
    keyed_room: int = 0  # channels each booked conference keeps free for keyed participants


@dataclass(frozen=True)
class AttemptView:
    position: int  # 0 = the initiator, 1.. = the booked participants in order
    number: str  # as dialled
    attempt_no: int
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    result: AttemptResult | None  # None while the call is up (or its box has not said)
    cause: int | None
    box: str


@dataclass(frozen=True)
class BookingView:
    id: int
    reference: str
    kind: BookingKind
    account_number: str
    initiator: str  # E.164
    participants: tuple[str, ...]  # E.164, in booked order
    start_at: datetime
    retry_count: int
    retry_interval_s: int
    music: bool
    expected_s: int
    expected_fen: int
    state: BookingState
    outcome: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    lease_box: str | None
    lease_until: datetime | None
    conference_ref: str | None
    attempts: tuple[AttemptView, ...] = field(default=())

    @property
    def cancellable(self) -> bool:
        return self.state in (BookingState.BOOKED, BookingState.CLAIMED)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready (ISO times, enum values), for ``--json`` and the API."""
        def iso(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat()
        return {
            "id": self.id, "reference": self.reference, "kind": str(self.kind),
            "account": self.account_number, "initiator": self.initiator,
            "participants": list(self.participants), "start_at": iso(self.start_at),
            "retry_count": self.retry_count, "retry_interval_s": self.retry_interval_s,
            "music": self.music, "expected_s": self.expected_s,
            "expected_fen": self.expected_fen, "state": str(self.state),
            "outcome": self.outcome, "created_at": iso(self.created_at),
            "started_at": iso(self.started_at), "ended_at": iso(self.ended_at),
            "lease_box": self.lease_box, "lease_until": iso(self.lease_until),
            "conference_ref": self.conference_ref,
            "attempts": [{"position": a.position, "number": a.number,
                          "attempt_no": a.attempt_no, "started_at": iso(a.started_at),
                          "answered_at": iso(a.answered_at), "ended_at": iso(a.ended_at),
                          "result": None if a.result is None else str(a.result),
                          "cause": a.cause, "box": a.box} for a in self.attempts],
        }


@dataclass(frozen=True)
class ParticipantQuote:
    """One number of the booking form, classified as the keypad would: the class and price per
    minute (fen) when it can be called, else the refusal's key and text."""

    entered: str
    number: str | None  # E.164 when well-formed
    number_class: str | None  # local, long_distance, mobile_local, … (None when refused)
    area: str | None
    price_per_min_fen: int | None
    refusal: str | None = None  # i18n key: number.malformed, number.blocked, number.own, …
    refusal_text: str = ""


def limits_from_config(config: Any, box_channels: int) -> BookingLimits:
    """The ``[booking]``/``[conference]`` config as limits; ``booking.channels = 0`` means this
    box's own B-channels (``box_channels``)."""
    return BookingLimits(
        max_participants=config.max_participants,
        retries_max=config.booking_retries_max,
        retry_interval_min_s=config.booking_retry_interval_min_s,
        retry_interval_max_s=config.booking_retry_interval_max_s,
        max_ahead=timedelta(days=config.booking_max_days_ahead),
        expected_minutes=config.booking_expected_minutes,
        expected_minutes_max=config.booking_expected_minutes_max,
        channels=config.booking_channels or box_channels,
        keyed_room=config.booking_keyed_room)
