"""Group commit: units of work that arrive while a commit is in flight run together in one
transaction, each in its own savepoint, so a burst of bookings costs one disk flush instead of
one each.

Why: on SQLite with ``synchronous=FULL`` (money must survive a power cut) every commit waits
for the disk; on a busy virtual machine that is tens of milliseconds, far more than the work of
one booking.  Nothing is weakened: each unit still runs the booking service's whole check in
the same transaction as the units before it (capacity and credit see them), a refusal rolls
back only that unit's savepoint, and nobody is answered before the shared commit succeeded.

How to use: ``group.submit(fn, *args)`` → Deferred of ``fn(session, *args)``.  The first unit
goes to the DB pool at once; units arriving meanwhile wait for it and then go together (at most
``max_batch``).  A unit's exception reaches only that unit's Deferred; a failed commit reaches
every unit of the batch.  ``group_commit(runner)`` picks the form: with the store's thread pool
(``DbRunner``) a ``CommitThread``, otherwise (``InlineRunner``: CLI, tests) ``GroupCommit``.

Why a thread of its own (``CommitThread``): with the pool, every batch went reactor → pool
thread → reactor → pool: the next batch could start only after the reactor had run the
previous one's answers (and whatever HTTP work was ahead of them), and each start woke a pool
thread.  At a fixed offered rate the batches are small, so these hand-offs were a large share
of a booking's latency tail.  The commit thread instead takes whatever queued while it was
committing and runs it at once; the reactor only appends to its queue (waking it only when it
sleeps) and fires the Deferreds it is handed back.
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from confcall.store.prepared import Prepared

__all__ = ["CommitThread", "GroupCommit", "group_commit"]

Unit = tuple[Callable[..., Any], tuple[Any, ...], Deferred[Any]]


class GroupCommit:
    def __init__(self, runner: Any, max_batch: int = 64) -> None:
        self.runner = runner
        self.max_batch = max_batch
        self._queue: list[Unit] = []
        self._busy = False
        self.batches = 0  # how many transactions ran (observability, tests)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        self._queue.append((fn, args, d))
        self._kick()
        return d

    def _kick(self) -> None:
        if self._busy or not self._queue:
            return
        batch = self._queue[:self.max_batch]
        del self._queue[:self.max_batch]
        self._busy = True
        self.batches += 1
        work = [(fn, args) for fn, args, _d in batch]
        self.runner.call(_run_batch, work).addBoth(self._done, batch)

    def _done(self, result: Any, batch: list[Unit]) -> None:
        self._busy = False
        _answer(result, batch)
        self._kick()


class CommitThread:
    """Group commit on one thread of its own that drains the queue itself (see the module's
    docstring).  ``submit`` runs on the reactor thread; the batches run on the commit thread
    through ``store.run`` (one transaction, retried on transient conflicts); the Deferreds are
    fired on the reactor thread through ``reactor.callFromThread``.  Started at the first
    unit; stopped (after committing what is queued) when the reactor shuts down."""

    def __init__(self, store: Any, reactor: Any, max_batch: int = 64) -> None:
        self.store = store
        self.reactor = reactor
        self.max_batch = max_batch
        self._queue: deque[Unit] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._sleeping = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.batches = 0  # how many transactions ran (observability, tests)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        with self._cond:
            if self._stopping:
                raise RuntimeError("the commit thread is stopped")
            self._queue.append((fn, args, d))
            if self._thread is None:
                self._start()
            elif self._sleeping:
                self._cond.notify()
        return d

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="confcall-commit", daemon=True)
        self._thread.start()
        self.reactor.addSystemEventTrigger("during", "shutdown", self.stop)

    def stop(self) -> None:
        """Commit what is queued, then end the thread (waits for it)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _take(self) -> list[Unit] | None:
        with self._cond:
            while not self._queue:
                if self._stopping:
                    return None
                self._sleeping = True
                self._cond.wait()
                self._sleeping = False
            queue = self._queue
            return [queue.popleft() for _ in range(min(len(queue), self.max_batch))]

    def _loop(self) -> None:
        while (batch := self._take()) is not None:
            self.batches += 1
            work = [(fn, args) for fn, args, _d in batch]
            try:
                result: Any = self.store.run(_run_batch, work)
            except Exception:  # noqa: BLE001 - the commit failed: every unit is told
                result = Failure()
            self.reactor.callFromThread(_answer, result, batch)


def _answer(result: Any, batch: list[Unit]) -> None:
    """On the reactor thread: each unit's Deferred gets its own outcome."""
    if isinstance(result, Failure):
        for _fn, _args, d in batch:
            d.errback(result)
        return
    for (ok, value), (_fn, _args, d) in zip(result, batch, strict=True):
        if ok:
            d.callback(value)
        else:
            d.errback(Failure(value))


def group_commit(runner: Any, max_batch: int = 64) -> GroupCommit | CommitThread:
    """The group commit for ``runner``: a ``CommitThread`` beside the store's thread pool
    (``DbRunner``), the reactor-driven ``GroupCommit`` for an inline runner."""
    from confcall.store.runner import DbRunner
    if isinstance(runner, DbRunner):
        return CommitThread(runner.store, runner.reactor, max_batch)
    return GroupCommit(runner, max_batch)


_SAVEPOINT = Prepared(text("SAVEPOINT unit"))
_RELEASE = Prepared(text("RELEASE SAVEPOINT unit"))
_ROLLBACK_TO = Prepared(text("ROLLBACK TO SAVEPOINT unit"))


def _run_batch(session: Any, work: list[tuple[Callable[..., Any], tuple[Any, ...]]]
               ) -> list[tuple[bool, Any]]:
    """In the DB thread, one transaction: each unit in a savepoint of its own.

    The savepoints are plain SQL on the transaction's connection, not ``begin_nested()``
    (whose per-unit statement compilation cost more than a booking's own SQL): before a
    unit, changes the ORM still holds are flushed into the previous unit; after it, its own
    are flushed inside its savepoint.  A unit that raises is rolled back to its savepoint and
    the session's identity map is emptied, so no object the unit changed (or added) outlives
    the rollback: later units read the database afresh."""
    results: list[tuple[bool, Any]] = []
    conn = session.connection()
    for fn, args in work:
        session.flush()
        _SAVEPOINT.run(conn)
        try:
            value = fn(session, *args)
            session.flush()
        except Exception as exc:  # noqa: BLE001 - this unit's refusal or error, handed back
            _ROLLBACK_TO.run(conn)
            _RELEASE.run(conn)
            session.expunge_all()
            results.append((False, exc))
            continue
        _RELEASE.run(conn)
        results.append((True, value))
    return results
