"""Shared helpers for the money tests (fixed clock, accounts with money)."""
from datetime import datetime, timezone

from confcall.rating import ops

# Wednesday 2026-11-25 12:00 UTC = 20:00 Beijing time
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
BEIJING = "+861088880000"
PIN = "482913"


def funded(store, number=BEIJING, amount=10_000, pin=PIN):
    ops.create_account(store, number, pin, now=NOW)
    if amount:
        ops.adjust(store, number, amount, f"fund-{number}", "test funding", now=NOW)
    return number
