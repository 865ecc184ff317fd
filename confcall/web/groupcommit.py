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
every unit of the batch.

Each batch's time from hand-off to answer (queue for a pool thread, the units, the commit and
its disk flush) and its size go to ``observe(seconds, units)``: the site's ``/metrics`` shows
them as ``confcall_web_commit_seconds`` / ``confcall_web_commit_units``, so a slow booking
page can be told apart as the disk's (a long commit of a small batch) or the site's CPU.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from confcall.store.prepared import Prepared

__all__ = ["GroupCommit"]

log = logging.getLogger("confcall.web.groupcommit")

Unit = tuple[Callable[..., Any], tuple[Any, ...], Deferred[Any]]


class GroupCommit:
    def __init__(self, runner: Any, max_batch: int = 64,
                 observe: Callable[[float, int], None] | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.runner = runner
        self.max_batch = max_batch
        self._observe = observe
        self._clock = clock
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
        self.runner.call(_run_batch, work).addBoth(self._done, batch, self._clock())

    def _done(self, result: Any, batch: list[Unit], started: float) -> None:
        self._busy = False
        if self._observe is not None:
            try:
                self._observe(self._clock() - started, len(batch))
            except Exception:  # noqa: BLE001 - a metric must never lose a booking's answer
                log.exception("recording a commit batch's time failed")
        if isinstance(result, Failure):
            for _fn, _args, d in batch:
                d.errback(result)
        else:
            for (ok, value), (_fn, _args, d) in zip(result, batch, strict=True):
                if ok:
                    d.callback(value)
                else:
                    d.errback(Failure(value))
        self._kick()


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
