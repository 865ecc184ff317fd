"""The RADIUS outbox in the database: what is still to be sent, and what a server acknowledged.

Each box sends the records of the legs it handled (``acct_outbox.box``), oldest first; a record
is done when ``sent_at`` is set, in the transaction that follows the server's answer. A box that
stops between the answer and that commit sends the record again when it starts: the billing
server sees the same Confcall-Record-Id twice and keeps one (docs/billing.md).
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from confcall.store.models import AcctRecord

__all__ = ["Backlog", "Pending", "backlog", "mark_sent", "pending", "purge_sent"]


@dataclass(frozen=True)
class Pending:
    id: int
    attributes: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Backlog:
    records: int
    oldest: datetime | None


def pending(session: Session, box: str, limit: int, skip: Iterable[int] = ()) -> list[Pending]:
    """Up to ``limit`` unsent records of ``box``, oldest first, leaving out ``skip`` (those
    the sender already holds)."""
    held = set(skip)
    rows = session.execute(select(AcctRecord.id, AcctRecord.attributes, AcctRecord.created_at)
                           .where(AcctRecord.box == box, AcctRecord.sent_at.is_(None))
                           .order_by(AcctRecord.id).limit(limit + len(held))).all()
    return [Pending(r.id, json.loads(r.attributes), r.created_at)
            for r in rows if r.id not in held][:limit]


def mark_sent(session: Session, delivered: dict[str, list[int]], now: datetime) -> int:
    """Record that each server in ``delivered`` acknowledged those rows; returns how many."""
    n = 0
    for server, ids in delivered.items():
        for i in range(0, len(ids), 500):
            result = session.execute(update(AcctRecord)
                                     .where(AcctRecord.id.in_(ids[i:i + 500]),
                                            AcctRecord.sent_at.is_(None))
                                     .values(sent_at=now, server=server[:80]))
            n += int(getattr(result, "rowcount", 0))
    return n


def backlog(session: Session, box: str | None = None) -> Backlog:
    """How many records wait, and since when (all boxes when ``box`` is None)."""
    stmt = select(func.count(), func.min(AcctRecord.created_at)).where(
        AcctRecord.sent_at.is_(None))
    if box is not None:
        stmt = stmt.where(AcctRecord.box == box)
    count, oldest = session.execute(stmt).one()
    return Backlog(int(count or 0), oldest)


def purge_sent(session: Session, before: datetime) -> int:
    """Delete records a server acknowledged before ``before`` (the billing server has them;
    unsent ones are never deleted). Returns how many."""
    result = session.execute(delete(AcctRecord).where(AcctRecord.sent_at.is_not(None),
                                                      AcctRecord.sent_at < before))
    return int(getattr(result, "rowcount", 0))
