"""Run store operations at once on the calling thread, with the ``DbRunner`` interface.

For the CLI (no reactor) and for call-control tests in virtual time, where a thread pool would
hand results back through a real reactor that is not running. The daemon uses ``DbRunner``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred, fail, succeed

from .engine import Store

__all__ = ["InlineRunner"]


class InlineRunner:
    def __init__(self, store: Store) -> None:
        self.store = store

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred[Any]:
        try:
            return succeed(self.store.run(fn, *args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - handed to the Deferred's errbacks
            return fail(exc)

    def call_plain(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred[Any]:
        try:
            return succeed(fn(self.store, *args, **kwargs))
        except Exception as exc:  # noqa: BLE001
            return fail(exc)
