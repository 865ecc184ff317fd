"""Shared helpers for the booking tests: a fixed clock and funded accounts."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from confcall.booking import BookingLimits, BookingRequest
from confcall.rating import ops

# Wednesday 2026-11-25 12:00 UTC = 20:00 Beijing time
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
BEIJING = "+861088880000"  # home area 10
LOCAL, LONG = "01088881111", "02188887777"  # 10 and 30 fen a minute in the default plan
PIN = "482913"
LIMITS = BookingLimits(max_participants=4, retries_max=5, retry_interval_min_s=30,
                       retry_interval_max_s=600, max_ahead=timedelta(days=30),
                       expected_minutes=30, expected_minutes_max=120, channels=30)


def funded(store, number=BEIJING, amount=10_000):
    ops.create_account(store, number, PIN, now=NOW)
    if amount:
        ops.adjust(store, number, amount, f"fund-{number}", "test funding", now=NOW)
    return number


def request(**changes) -> BookingRequest:
    base = {"account_number": BEIJING, "initiator": BEIJING, "participants": (LOCAL, LONG),
            "start_at": datetime(2026, 11, 25, 21, 0, tzinfo=SHANGHAI), "retry_count": 2,
            "retry_interval_s": 60, "music": False}
    base.update(changes)
    return BookingRequest(**base)


def booked_call_talking(bx, initiator: str, participant: str, now: datetime):
    """``initiator`` (an account on box ``bx``, a ``tests.conference.box_harness.Box`` whose
    clock starts at ``now``) books a call with ``participant`` for 10 s later; the box dials
    it and both legs talk for 2 s.
    Returns the two phones and the booking's view: the common start of the outage tests."""
    from confcall.booking import service as booking_service
    bx.account(initiator)
    a = bx.phone(initiator, answer_after=1.0)
    b = bx.phone(participant, answer_after=1.0)
    req = BookingRequest("+86" + initiator, initiator, (participant,),
                         now + timedelta(seconds=10), 1, 30, False)
    v = bx.store.run(booking_service.book, req, now=now, limits=LIMITS)
    assert bx.run_until(lambda: bool(b.calls) and b.last.connected, 30)
    bx.run(2)
    return a, b, v
