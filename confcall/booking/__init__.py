"""Booked conferences and durable callbacks: the booking service (rules, used by the web site,
the API and the CLI) and the scheduler's database side (claims with leases, attempts).

See docs/bookings.md for the life cycle and how several boxes share the work.
"""
from .errors import BookingError
from .service import (
    book,
    cancel,
    cancel_as_operator,
    classify_participants,
    get_any,
    get_booking,
    list_all,
    list_bookings,
)
from .states import AttemptResult, BookingKind, BookingState
from .views import (
    AttemptView,
    BookingLimits,
    BookingRequest,
    BookingView,
    ParticipantQuote,
    limits_from_config,
)

__all__ = [
    "AttemptResult",
    "AttemptView",
    "BookingError",
    "BookingKind",
    "BookingLimits",
    "BookingRequest",
    "BookingState",
    "BookingView",
    "ParticipantQuote",
    "book",
    "cancel",
    "cancel_as_operator",
    "classify_participants",
    "get_any",
    "get_booking",
    "limits_from_config",
    "list_all",
    "list_bookings",
]
