"""Run store work from Twisted without touching the reactor thread.

Every call becomes ``deferToThreadPool(reactor, pool, store.run, fn, ...)``: the SQL (and the
argon2 hashing that account functions do) happens on a pool thread, the result or failure
comes back as a Deferred fired on the reactor thread.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from .engine import Store

__all__ = ["DbRunner"]


class DbRunner:
    """``runner.call(fn, *args)`` → Deferred of ``fn(session, *args)`` in one transaction;
    ``runner.call_plain(fn, *args)`` → Deferred of ``fn(store, *args)`` (operations that
    manage their own transactions, e.g. card redemption)."""

    def __init__(self, store: Store, reactor: Any, minthreads: int = 1,
                 maxthreads: int = 4, pool: ThreadPool | None = None) -> None:
        self.store = store
        self.reactor = reactor
        self._own_pool = pool is None
        self.pool = pool or ThreadPool(minthreads, maxthreads, name="confcall-db")

    def start(self) -> None:
        if self._own_pool:
            self.pool.start()
            self.reactor.addSystemEventTrigger("during", "shutdown", self.stop)

    def stop(self) -> None:
        if self._own_pool and self.pool.started:
            self.pool.stop()

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred[Any]:
        return deferToThreadPool(self.reactor, self.pool, self.store.run, fn, *args, **kwargs)

    def call_plain(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred[Any]:
        return deferToThreadPool(self.reactor, self.pool, fn, self.store, *args, **kwargs)
