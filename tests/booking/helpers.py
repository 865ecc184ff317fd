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
