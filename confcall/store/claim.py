"""Claim rows exactly once across threads, processes and boxes.

``claim(session, table, where, values, limit)`` runs::

    UPDATE t SET <values> WHERE id IN (SELECT id FROM t WHERE <where> ORDER BY id LIMIT n
                                        [FOR UPDATE SKIP LOCKED]) RETURNING id

On PostgreSQL the sub-select skips rows another transaction holds; the outer WHERE is
re-checked too (pass the same condition in ``values``' guard).  On SQLite, which has no row
locks, the engine opens every transaction with ``BEGIN IMMEDIATE``, so claimers are serialised
and never see the same unclaimed row.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["claim"]


def claim(session: Session, table: Table, where: ColumnElement[bool], values: dict[str, Any],
          limit: int) -> list[int]:
    pick = select(table.c.id).where(where).order_by(table.c.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    result = session.execute(update(table).where(table.c.id.in_(pick.scalar_subquery()),
                                                  where)
                             .values(**values).returning(table.c.id))
    return sorted(int(r[0]) for r in result)
