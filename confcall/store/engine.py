"""Engines and transactions for SQLite (embedded default) and PostgreSQL (several boxes).

SQLite: WAL journal with ``synchronous=FULL`` (a committed recharge survives power loss),
foreign keys on, and every transaction opened with ``BEGIN IMMEDIATE`` so the write lock is
taken up front: read-modify-write sequences (row claiming, balance checks) cannot interleave
and no transaction fails late with "database is locked" on upgrade from read to write.

PostgreSQL: READ COMMITTED; money code relies on single conditional UPDATEs (re-checked by
PostgreSQL after a concurrent writer commits) and unique references, never on read-then-write.
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["DEFAULT_URL", "Store", "default_url", "make_engine"]

DEFAULT_URL = "sqlite:///var/confcall.db"
T = TypeVar("T")


def default_url() -> str:
    return os.environ.get("CONFCALL_DB", DEFAULT_URL)


def make_engine(url: str, **kwargs: object) -> Engine:
    """An engine for ``url`` with the pragmas and transaction mode money needs."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not path.startswith("file:"):
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            _create_private(path)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)  # type: ignore

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):  # type: ignore[no-untyped-def]
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)  # type: ignore[arg-type]


def _create_private(path: str) -> None:
    """Create a new SQLite file owner-only (0600) before SQLite does (it would use the umask,
    usually 0644: PIN hashes readable by every local user).  SQLite gives the -wal and -shm
    files the database file's mode.  An existing file is left as it is."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)
    os.chmod(path, 0o600)


def assert_off_reactor() -> None:
    """Refuse database work on a running reactor's thread (it would stall every call)."""
    reactor = sys.modules.get("twisted.internet.reactor")
    if reactor is not None and getattr(reactor, "running", False):
        from twisted.python import threadable
        if threadable.isInIOThread():
            raise RuntimeError("database work on the reactor thread: use DbRunner "
                               "(deferToThreadPool) instead")


def rowcount(session: Session, statement: Any) -> int:
    """Execute an UPDATE/DELETE and return how many rows it touched."""
    result = session.execute(statement)
    return int(getattr(result, "rowcount", 0))


def _retryable(exc: BaseException) -> bool:
    """Transient conflicts worth re-running the whole transaction for."""
    if isinstance(exc, IntegrityError):  # a concurrent insert of the same unique reference:
        # the re-run finds the row and answers idempotently; other violations are real errors
        return getattr(exc.orig, "pgcode", None) == "23505" or "UNIQUE" in str(exc.orig)
    if isinstance(exc, OperationalError):
        text = str(exc.orig).lower()
        return "locked" in text or "busy" in text or "deadlock" in text or \
            "could not serialize" in text
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "pgcode", None)
        return code in ("40001", "40P01")
    return False


class Store:
    """An engine plus a session factory; ``run`` executes a function in one transaction."""

    def __init__(self, url: str | None = None, engine: Engine | None = None) -> None:
        self.url = url or default_url()
        self.engine = engine or make_engine(self.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.sessions.begin() as session:
            yield session

    def run(self, fn: Callable[..., T], *args: object, retries: int = 5,
            **kwargs: object) -> T:
        """Run ``fn(session, *args, **kwargs)`` in one transaction, re-running it on transient
        conflicts.  Business errors (``MoneyError``) commit what ``fn`` flagged to keep
        (failed-attempt counters) only if ``fn`` commits them itself (``ops.recharge_by_card``)."""
        assert_off_reactor()
        for attempt in range(retries + 1):
            try:
                with self.sessions.begin() as session:
                    return fn(session, *args, **kwargs)
            except DBAPIError as exc:
                if attempt == retries or not _retryable(exc):
                    raise
                time.sleep(0.001 * (attempt + 1))  # back-off only on a real conflict
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()
