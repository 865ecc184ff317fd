"""Incoming calls by dialled number: the access number, the service number, or refused.

Why here: one trunk carries every number the carrier routes to the box; a call to a number we
do not serve is refused with "unallocated number" (cause 1) before anything is said, so the
caller's network plays its own announcement and nothing is charged.
"""
from __future__ import annotations

import logging
from collections import deque
from typing import Callable

from confcall.dahdi.legs import CallLeg, Cause

__all__ = ["IncomingRouter"]

log = logging.getLogger("confcall.router")


class IncomingRouter:
    def __init__(self, routes: dict[str, Callable[[CallLeg], None]]) -> None:
        self.routes = dict(routes)
        self.refused: deque[CallLeg] = deque(maxlen=1000)

    def add(self, dnis: str, handler: Callable[[CallLeg], None]) -> None:
        self.routes[dnis] = handler

    def offer(self, leg: CallLeg) -> None:
        handler = self.routes.get(leg.dnis)
        if handler is None:
            log.info("call from %r to %r: not a number we serve", leg.ani, leg.dnis)
            self.refused.append(leg)
            leg.reject(Cause.UNALLOCATED)
            return
        handler(leg)
