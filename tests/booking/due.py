"""Many bookings due at once, written straight into the tables (the booking service's
validation is tested elsewhere; this is load for the scheduler tests and bench/scheduler.py).

Each booking: one account's initiator plus ``participants`` participants, all distinct
numbers, so a ring log can tell every party apart."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, select

from confcall.ids import new_ref
from confcall.store import Store
from confcall.store.models import Account, Booking, BookingParticipant

__all__ = ["seed_due"]


def seed_due(store: Store, n: int, *, start: datetime, spread_s: float, participants: int = 1,
             retries: int = 0, retry_interval_s: int = 30, now: datetime) -> list[int]:
    """Insert ``n`` booked conferences starting between ``start`` and ``start + spread_s``;
    returns their ids. Initiators are +8613000000000 + i, participants +8615000000000 + …"""
    from confcall.rating import ops
    payer = "+8613800000001"
    with store.transaction() as s:
        known = s.scalar(select(Account.id).where(Account.number == payer))
    if known is None:
        ops.create_account(store, payer, "482913", now=now)
    with store.transaction() as s:
        account_id = int(s.scalar(select(Account.id).where(Account.number == payer)))
        rows = []
        for i in range(n):
            at = start + timedelta(seconds=spread_s * i / max(n, 1))
            rows.append({"reference": new_ref("booking"), "kind": "conference",
                         "account_id": account_id, "initiator": f"+86130{i:08d}",
                         "initiator_dial": f"130{i:08d}", "start_at": at,
                         "ends_at": at + timedelta(minutes=30), "expected_s": 1800,
                         "expected_fen": 0, "retries": retries,
                         "retry_interval_s": retry_interval_s, "music": False,
                         "state": "booked", "takeovers": 0, "outcome": "", "created_at": now})
        made = s.execute(insert(Booking).returning(Booking.id, sort_by_parameter_order=True),
                         rows)
        ids = [int(r[0]) for r in made]
        parts = [{"booking_id": bid, "position": p, "number": f"+86150{i * 10 + p:08d}",
                  "dial": f"150{i * 10 + p:08d}"}
                 for i, bid in enumerate(ids) for p in range(1, participants + 1)]
        if parts:
            s.execute(insert(BookingParticipant), parts)
    return sorted(ids)
