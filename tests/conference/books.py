"""The books after a box was shot: every row the kill -9 tests check, read in one transaction.

Why one reader: the tests that kill a box (``test_kill9.py``, ``test_orphans_kill9.py``) judge
the same things — call-log rows closed, legs rated once, no hold left, ledgers equal to
balances, conferences closed with their totals — from the same rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sql_select

from confcall.store import Store
from confcall.store.models import Account, CallLog, Conference, Leg, Reservation

__all__ = ["Books", "read_books"]


@dataclass(frozen=True)
class Books:
    logs: list[Any]                # call-log rows by id
    legs: dict[str, Any]           # rated legs by reference
    held: list[str]                # references of holds still held
    accounts: list[Any]
    conferences: list[Any]
    totals: dict[int, int]         # conference id -> sum of its legs' fen


def read_books(store: Store) -> Books:
    with store.transaction() as s:
        return Books(
            logs=list(s.scalars(sql_select(CallLog).order_by(CallLog.id)).all()),
            legs={leg.reference: leg for leg in s.scalars(sql_select(Leg))},
            held=list(s.scalars(sql_select(Reservation.reference)
                                .where(Reservation.state == "held")).all()),
            accounts=list(s.scalars(sql_select(Account)).all()),
            conferences=list(s.scalars(sql_select(Conference)).all()),
            totals=dict(s.execute(sql_select(Leg.conference_id, func.sum(Leg.amount_fen))
                                  .group_by(Leg.conference_id)).all()))
