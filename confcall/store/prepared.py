"""Core statements compiled once and run straight on the SQLite driver's cursor: the hot
path of the booking write (``confcall.booking.service.book``) and the web session lookup.

Why: on the booking write path SQLAlchemy's execution layer (execution context, compiled
cache lookup, parameter construction, result-proxy set-up) costs more CPU than SQLite's own
work on these small indexed statements: about 60 µs a statement, a third of a booking's CPU
(``bench/web.py``, ``docs/web.md``).  A ``Prepared`` keeps the SQL written once, as the Core
statement; what it skips is only the per-call machinery:

- the statement is compiled once per dialect, and every bind position is planned once: taken
  from the call's parameters by name, or a constant of the statement (``id = 1``);
- bind values go through the column types' own bind processors (``UTCDateTime`` → naive UTC
  → SQLite's text format) and result values through their result processors, exactly as
  SQLAlchemy would apply them, so rows written or read either way are the same;
- it runs inside the SQLAlchemy connection's transaction (BEGIN IMMEDIATE, savepoints: the
  group commit), on that connection's DBAPI connection;
- the engine's ``before_cursor_execute``/``after_cursor_execute`` listeners still hear every
  statement (the statement-count tests, tracing), and driver errors are wrapped as
  SQLAlchemy's ``DBAPIError`` like any other (``Store.run``'s retry, the write queue).

Any other dialect (PostgreSQL), or a statement the plan cannot cover (insert defaults computed
in Python), runs through ``Connection.execute`` as before: same statement, same answers.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

__all__ = ["Prepared"]

_Proc = Callable[[Any], Any] | None


class _Plan:
    """The statement compiled for SQLite: SQL text, where each bind value comes from, the
    bind and result processors."""
    __slots__ = ("sql", "slots", "results")

    def __init__(self, sql: str, slots: list[tuple[str | None, Any, _Proc]],
                 results: list[_Proc]) -> None:
        self.sql, self.slots, self.results = sql, slots, results

    def binds(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for name, const, proc in self.slots:
            v = const if name is None else params[name]
            out.append(v if proc is None or v is None else proc(v))
        return tuple(out)

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(v if p is None or v is None else p(v)
                     for v, p in zip(raw, self.results, strict=True))


class Prepared:
    """One Core statement (a SELECT or an INSERT) ready for the SQLite fast path."""
    __slots__ = ("stmt", "keys", "_plan", "_planned")

    def __init__(self, stmt: Any, keys: Sequence[str] | None = None) -> None:
        """``stmt``: a Core SELECT, INSERT or ``text()``; ``keys``: an INSERT's column keys
        (every call passes exactly these)."""
        self.stmt = stmt
        self.keys = tuple(keys) if keys is not None else None
        self._plan: _Plan | None = None
        self._planned = False

    def _plan_for(self, conn: Connection) -> _Plan | None:
        if conn.dialect.name != "sqlite":
            return None
        if self._planned:
            return self._plan
        dialect = conn.dialect
        compiled: Any = self.stmt.compile(
            dialect=dialect, column_keys=list(self.keys) if self.keys is not None else None)
        plan: _Plan | None = None
        if dialect.positional and not getattr(compiled, "insert_prefetch", None) and \
                not getattr(compiled, "postfetch", None) and compiled.positiontup is not None:
            slots: list[tuple[str | None, Any, _Proc]] = []
            for name in compiled.positiontup:
                bp = compiled.binds[name]
                proc = bp.type.dialect_impl(dialect).bind_processor(dialect)
                if self.keys is not None and name in self.keys or bp.required:
                    slots.append((name, None, proc))
                else:  # a constant of the statement
                    slots.append((None, bp.effective_value, proc))
            results: list[_Proc] = []
            if getattr(self.stmt, "is_select", False):
                results = [col.type.dialect_impl(dialect).result_processor(dialect, None)
                           for col in self.stmt.selected_columns]  # type: ignore[attr-defined]
            plan = _Plan(compiled.string, slots, results)
        self._plan, self._planned = plan, True
        return plan

    # -- running ---------------------------------------------------------------------------------
    def _run(self, conn: Connection, plan: _Plan, params: Any, many: bool) -> Any:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        dispatch = conn.dispatch
        if dispatch.before_cursor_execute:
            for fn in dispatch.before_cursor_execute:
                fn(conn, cursor, plan.sql, params, None, many)
        try:
            if many:
                cursor.executemany(plan.sql, params)
            else:
                cursor.execute(plan.sql, params)
        except conn.dialect.loaded_dbapi.Error as err:
            raise DBAPIError.instance(plan.sql, params, err, conn.dialect.loaded_dbapi.Error,
                                      dialect=conn.dialect) from err
        if dispatch.after_cursor_execute:
            for fn in dispatch.after_cursor_execute:
                fn(conn, cursor, plan.sql, params, None, many)
        return cursor

    def all(self, conn: Connection, params: Mapping[str, Any], *, stored: bool = False
            ) -> list[tuple[Any, ...]]:
        """Every row of the SELECT, as tuples of processed values.

        ``stored``: the values as the database answered them, unprocessed (on SQLite a time
        is its stored text, whose order is the time order: the statement's own comparisons
        rely on it); compare them with ``stored_value``.  Other dialects answer processed
        values either way."""
        plan = self._plan_for(conn)
        if plan is None:
            return [tuple(r) for r in conn.execute(self.stmt, dict(params))]
        cursor = self._run(conn, plan, plan.binds(params), False)
        try:
            rows = cursor.fetchall()
        finally:
            cursor.close()
        return rows if stored else [plan.row(r) for r in rows]

    def stored_value(self, conn: Connection, name: str, value: Any) -> Any:
        """``value`` as bind parameter ``name`` stores it (what ``all(stored=True)``
        answers); the value itself on dialects without the fast path."""
        plan = self._plan_for(conn)
        if plan is None or value is None:
            return value
        for slot, _const, proc in plan.slots:
            if slot == name:
                return value if proc is None else proc(value)
        raise KeyError(name)

    def first(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The SELECT's first row (tuple of processed values), or None."""
        plan = self._plan_for(conn)
        if plan is None:
            r = conn.execute(self.stmt, dict(params)).first()
            return None if r is None else tuple(r)
        cursor = self._run(conn, plan, plan.binds(params), False)
        try:
            raw = cursor.fetchone()
        finally:
            cursor.close()
        return None if raw is None else plan.row(raw)

    def insert(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Run the INSERT; the new row's integer primary key."""
        plan = self._plan_for(conn)
        if plan is None:
            key = conn.execute(self.stmt, dict(params)).inserted_primary_key
            assert key is not None
            return int(key[0])
        cursor = self._run(conn, plan, plan.binds(params), False)
        try:
            return int(cursor.lastrowid)
        finally:
            cursor.close()

    def run(self, conn: Connection, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement that answers nothing (``SAVEPOINT``, an UPDATE)."""
        plan = self._plan_for(conn)
        if plan is None:
            conn.execute(self.stmt, dict(params or {}))
            return
        self._run(conn, plan, plan.binds(params or {}), False).close()

    def insert_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run the INSERT once per row (one ``executemany``)."""
        if not rows:
            return
        plan = self._plan_for(conn)
        if plan is None:
            conn.execute(self.stmt, [dict(r) for r in rows])
            return
        self._run(conn, plan, [plan.binds(r) for r in rows], True).close()
