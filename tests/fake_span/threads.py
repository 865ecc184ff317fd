"""Virtual time with the real DB thread pool: a ``task.Clock`` that takes ``callFromThread``.

Why: call control must be tested with the thread pool the daemon uses (``DbRunner``:
several threads, so two writes handed over one after the other can commit in either order),
yet on the simulated span's virtual clock. ``deferToThreadPool`` hands each result back with
``reactor.callFromThread``; a plain ``task.Clock`` has no such method.

How: ``ThreadedClock`` queues calls from other threads and runs them on the reactor thread;
``CountingPool`` (a real ``ThreadPool``) counts the work in flight. Before virtual time moves,
``settle()`` runs what came back and waits (in real time) until no DB work is in flight: the
database takes no virtual time, so a test's virtual timeline does not depend on the machine's
load, while the pool's threads still run concurrently whatever was handed to them in the
same instant.

How to use::

    pool = CountingPool(1, 4)
    clock = ThreadedClock(pool)
    runner = DbRunner(store, clock, pool=pool)
    pool.start()
    ... VirtualMediaClock(reactor=clock) ...
    pool.stop()
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from twisted.internet import task
from twisted.python.threadpool import ThreadPool

__all__ = ["CountingPool", "ThreadedClock"]


class CountingPool(ThreadPool):
    """A ``ThreadPool`` that knows how many submitted calls have not yet reported back."""

    def __init__(self, minthreads: int = 1, maxthreads: int = 4,
                 name: str = "confcall-db-test") -> None:
        super().__init__(minthreads, maxthreads, name)
        self.cond = threading.Condition()
        self.inflight = 0

    def callInThreadWithCallback(self, onResult: Callable[..., Any] | None,
                                 func: Callable[..., Any], *args: Any, **kw: Any) -> None:
        with self.cond:
            self.inflight += 1

        def reported(ok: bool, result: Any) -> None:
            try:
                if onResult is not None:
                    onResult(ok, result)  # -> reactor.callFromThread(...)
            finally:
                with self.cond:
                    self.inflight -= 1
                    self.cond.notify_all()

        super().callInThreadWithCallback(reported, func, *args, **kw)


class ThreadedClock(task.Clock):
    """A virtual reactor clock that also accepts calls from other threads."""

    def __init__(self, pool: CountingPool, wait_s: float = 120.0) -> None:
        super().__init__()
        self.pool = pool
        self.wait_s = wait_s  # real seconds one DB call may take before a test fails
        self._calls: deque[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = deque()

    def callFromThread(self, f: Callable[..., Any], *args: Any, **kw: Any) -> None:
        with self.pool.cond:
            self._calls.append((f, args, kw))
            self.pool.cond.notify_all()

    def settle(self) -> None:
        """Run every call handed back; return once no DB work is in flight."""
        cond = self.pool.cond
        while True:
            with cond:
                if not self._calls:
                    if self.pool.inflight == 0:
                        return
                    if not cond.wait_for(lambda: self._calls or self.pool.inflight == 0,
                                         self.wait_s):
                        raise TimeoutError(f"DB work still in flight after {self.wait_s} s")
                    continue
                f, args, kw = self._calls.popleft()
            f(*args, **kw)

    def advance(self, amount: float) -> None:
        self.settle()
        super().advance(amount)
        self.settle()
