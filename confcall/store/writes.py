"""Money and record writes of one call: in order, and retried until the database takes them.

Why: the DB pool has several threads, so two writes handed to it one after the other can commit
in either order (a conference closed before its last leg was rated: a wrong total; a call-log
row completed before it was inserted: an end lost). And a write that fails because the database
is down for a minute must not be dropped: the leg's bill and the release of its credit hold are
in it. Calls go on meanwhile; the writes wait.

How: one queue per key (the conference's reference: every leg of one conference shares it).
A queue runs one write at a time in the pool; the next starts when the previous committed.
A write that fails for a transient reason (connection refused or lost, database locked, a
serialisation conflict) is tried again after a back-off that doubles from ``first_retry_s`` to
``max_retry_s``, for as long as the process lives; the writes behind it wait, so the order
holds. A write that fails for any other reason (a business error, a bug) is logged with its
key and handed to the caller's errback; the queue goes on. Every write here is idempotent by
its reference (``settle_leg``, ``release_leg``, the call log), so a retry after a commit whose
answer was lost changes nothing.

A write that has to wait is first made durable (``journal``, ``confcall.store.journal``):
appended to an on-disk journal and fsync'ed (in the DB pool, not on the reactor) — the write
that failed because the database is away, every write queued behind it, and every write
submitted while the database is known to be away. If the box dies before the database is
back, the next start replays the journal before its recovery. Writes that did not have to
wait are not journalled (nothing touches the disk on the happy path); if the box dies with
one of those in flight, the recovery closes its leg at its last "alive at" time.

How to use::

    writes = OrderedWrites(runner, reactor)
    d = writes.call(conference_ref, fn, *args)         # fn(session, *args), one transaction
    d = writes.call_plain(conference_ref, fn, *args)   # fn(store, *args)
"""
from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from twisted.internet.defer import Deferred

__all__ = ["OrderedWrites", "is_transient"]

log = logging.getLogger("confcall.store.writes")


def is_transient(exc: BaseException) -> bool:
    """The database is away or busy (try again later), as opposed to a write it refused."""
    if isinstance(exc, (OperationalError, InterfaceError, DisconnectionError, PoolTimeout,
                        ConnectionError)):
        return True
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated) or \
            getattr(exc.orig, "pgcode", None) in ("40001", "40P01", "57P01", "57P03")
    return False


@dataclass(eq=False)
class _Write:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    plain: bool
    retry: bool = True  # False: a transient failure is the caller's to handle (no waiting)
    done: Deferred[Any] = field(default_factory=Deferred)
    tries: int = 0
    seq: int = 0  # > 0: appended to the journal under this sequence number
    slow: Any = None  # the timer that journals the queue if this attempt hangs


class OrderedWrites:
    """Per-key serial queues of DB writes on a ``DbRunner`` (or ``InlineRunner``)."""

    def __init__(self, runner: Any, clock: Any, *, first_retry_s: float = 0.5,
                 max_retry_s: float = 15.0, journal: Any = None,
                 slow_s: float = 2.0) -> None:
        """``journal``: a ``WriteJournal`` that the writes which must wait are made durable
        in (None: they wait in memory only). ``slow_s``: an attempt still unanswered after
        this long (a database that hangs rather than refuses) has its queue journalled too."""
        self.runner = runner
        self.clock = clock
        self.first_retry_s = first_retry_s
        self.max_retry_s = max_retry_s
        self.journal = journal
        self.slow_s = slow_s
        self._queues: dict[str, deque[_Write]] = {}
        self.failing = False  # the last attempt failed transiently (the DB is away)
        self.retries = 0  # transient failures so far (metrics, tests)
        self.journaled = 0  # journalled writes not yet committed (metrics, tests)
        self.journal_failures = 0  # appends that failed (disk full?): those wait in memory

    # -- what callers use -----------------------------------------------------------------------
    def call(self, key: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred[Any]:
        """``fn(session, *args, **kwargs)`` in one transaction, after the key's earlier writes."""
        return self._submit(key, _Write(fn, args, kwargs, plain=False))

    def call_plain(self, key: str, fn: Callable[..., Any], *args: Any,
                   **kwargs: Any) -> Deferred[Any]:
        """``fn(store, *args, **kwargs)`` (manages its own transactions), in the key's order."""
        return self._submit(key, _Write(fn, args, kwargs, plain=True))

    def call_plain_once(self, key: str, fn: Callable[..., Any], *args: Any,
                        **kwargs: Any) -> Deferred[Any]:
        """Like ``call_plain``, in the key's order, but a transient failure goes straight to
        the caller (e.g. extending a leg's credit: while the DB is away the leg must end when
        its held credit does, not wait)."""
        return self._submit(key, _Write(fn, args, kwargs, plain=True, retry=False))

    def pending(self) -> int:
        """Writes not yet committed (running, waiting for the DB, or queued behind one)."""
        return sum(len(q) for q in self._queues.values())

    def idle(self) -> bool:
        return not self._queues

    # -- the queues ------------------------------------------------------------------------------
    def _submit(self, key: str, w: _Write) -> Deferred[Any]:
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
        queue.append(w)
        if len(queue) == 1 and not self.failing:
            self._start(key)
        elif len(queue) == 1:  # the DB is away: durable first, then tried
            self._journal(key, [w]).addBoth(lambda _: self._start(key))
        elif self.failing or queue[0].seq:  # it waits behind a write the DB could not take
            self._journal(key, [w])
        return w.done

    def _start(self, key: str) -> None:
        w = self._queues[key][0]
        w.tries += 1
        run = self.runner.call_plain if w.plain else self.runner.call
        try:
            d = run(w.fn, *w.args, **w.kwargs)
        except Exception as exc:  # noqa: BLE001 - a pool that refuses work: retried like the DB
            from twisted.internet.defer import fail
            d = fail(exc)
        if self.journal is not None and w.retry and not d.called:
            w.slow = self.clock.callLater(self.slow_s, self._slow, key)
        d.addCallbacks(self._committed, self._failed, callbackArgs=(key, w),
                       errbackArgs=(key, w))
        d.addErrback(_log_bug, key)  # nothing above may raise; if it does, say so

    def _slow(self, key: str) -> None:
        """The database has not answered the key's write for ``slow_s``: it may hang for
        minutes (a cut network), so the queue is made durable as if it had failed."""
        queue = self._queues.get(key)
        if queue:
            queue[0].slow = None
            self._journal(key, [x for x in queue if not x.seq])

    def _committed(self, result: Any, key: str, w: _Write) -> None:
        _cancel(w)
        if self.failing:
            log.warning("database writes succeed again (%s after %d attempt(s))", key, w.tries)
        self.failing = False
        self._applied(w)
        self._next(key)
        w.done.callback(result)

    def _failed(self, failure: Any, key: str, w: _Write) -> None:
        _cancel(w)
        if is_transient(failure.value) and w.retry:
            self.retries += 1
            delay = min(self.max_retry_s, self.first_retry_s * 2 ** min(w.tries - 1, 16))
            if not self.failing or w.tries == 1:
                log.error("%s: writing %s failed (%s); %d write(s) wait, retrying in %.1f s",
                          key, _name(w.fn), failure.getErrorMessage().splitlines()[0],
                          self.pending(), delay)
            self.failing = True
            waiting = [x for x in self._queues[key] if not x.seq]
            self._journal(key, waiting).addBoth(
                lambda _: self.clock.callLater(delay, self._start, key))
            return
        if w.retry:
            log.error("%s: writing %s failed for good: %s", key, _name(w.fn),
                      failure.getErrorMessage())
        self._applied(w)
        self._next(key)
        w.done.errback(failure)

    # -- the journal -----------------------------------------------------------------------------
    def _journal(self, key: str, writes: list[_Write]) -> Deferred[Any]:
        """Append the replayable ones of ``writes`` to the journal (fsync, in the pool)."""
        from twisted.internet.defer import succeed

        from .journal import Entry, name_of
        if self.journal is None:
            return succeed(None)
        entries = []
        for w in writes:
            op = name_of(w.fn) if w.retry and not w.seq else None
            if op is None:
                continue
            w.seq = self.journal.number()
            self.journaled += 1
            entries.append(Entry(w.seq, key, op, w.args, w.kwargs))
        if not entries:
            return succeed(None)
        journal = self.journal
        d: Deferred[Any] = self.runner.call_plain(lambda _store: journal.append(entries))

        def failed(f: Any) -> None:
            self.journal_failures += 1
            log.error("%s: the write journal %s could not take %d write(s) (%s); they wait "
                      "in memory only", key, journal.path, len(entries), f.getErrorMessage())
        return d.addErrback(failed)

    def _applied(self, w: _Write) -> None:
        """A journalled write is done: once none is left waiting, empty the journal."""
        if not w.seq:
            return
        self.journaled -= 1
        if self.journaled == 0 and self.journal is not None:
            journal, upto = self.journal, self.journal.last_number()
            d = self.runner.call_plain(lambda _store: journal.truncate_upto(upto))
            d.addErrback(lambda f: log.error("emptying the write journal failed: %s",
                                             f.getErrorMessage()))

    def _next(self, key: str) -> None:
        queue = self._queues[key]
        queue.popleft()
        if queue:
            self._start(key)
        else:
            del self._queues[key]


def _cancel(w: _Write) -> None:
    if w.slow is not None and w.slow.active():
        w.slow.cancel()
    w.slow = None


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", repr(fn))


def _log_bug(failure: Any, key: str) -> None:
    log.error("%s: the write queue itself failed: %s", key, failure.getTraceback())
