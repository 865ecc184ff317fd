"""Claim rows exactly once across threads, processes and boxes.

``claim(session, table, where, values, limit)`` runs::

    UPDATE t SET <values> WHERE id IN (SELECT id FROM t WHERE <where> ORDER BY id LIMIT n)
        AND <where> RETURNING id                                              -- SQLite
    WITH pick AS (SELECT id FROM t WHERE <where> ORDER BY id LIMIT n FOR UPDATE SKIP LOCKED)
    UPDATE t SET <values> FROM pick WHERE t.id = pick.id AND <where> RETURNING t.id  -- PG

On PostgreSQL the pick skips rows another transaction holds; the outer WHERE is re-checked
after the lock.  On SQLite, which has no row
locks, the engine opens every transaction with ``BEGIN IMMEDIATE``, so claimers are serialised
and never see the same unclaimed row.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["claim"]


def claim(session: Session, table: Table, where: ColumnElement[bool], values: dict[str, Any],
          limit: int, order_by: Sequence[Any] = ()) -> list[int]:
    """``order_by``: which rows first (default: by id). Order by the columns of an index that
    also serves ``where`` (e.g. due time), or the pick scans every row already claimed."""
    pick = select(table.c.id).where(where).order_by(*(order_by or (table.c.id,))).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        # WITH pick AS (SELECT … FOR UPDATE SKIP LOCKED) UPDATE t … FROM pick: the rows are
        # locked by the pick alone; the UPDATE touches exactly those (re-checking ``where``)
        cte = pick.with_for_update(skip_locked=True).cte("pick")
        stmt = update(table).where(table.c.id == cte.c.id, where)
    else:
        stmt = update(table).where(table.c.id.in_(pick.scalar_subquery()), where)
    result = session.execute(stmt.values(**values).returning(table.c.id))
    return sorted(int(r[0]) for r in result)
