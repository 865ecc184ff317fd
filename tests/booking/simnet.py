"""A simulated phone network at the scheduler's seam (``BookedDialer``), for the multi-box
tests and the bench, where hundreds of booked calls run in real time in several processes.

Every phone answers after ``answer_after`` seconds; the initiator talks ``talk_s`` seconds and
hangs up, which ends the conference. Each ring is appended to a shared ring log (one line per
ring: box, booking id, dialled number, time; ``O_APPEND`` writes of one short line are atomic
across processes), so a test can count how often each phone rang. The real call path (trunks,
session, money) is tested on the simulated span (tests/booking/test_scheduler_box.py)."""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

__all__ = ["RingLog", "SimNetwork", "read_rings"]


class RingLog:
    def __init__(self, path: str, box: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.box = box

    def ring(self, booking_id: int, number: str) -> None:
        os.write(self.fd, f"{self.box} {booking_id} {number} {time.time():.3f}\n".encode())


def read_rings(path: str) -> list[tuple[str, int, str]]:
    with open(path) as f:
        return [(b, int(i), n) for b, i, n, _ in (line.split() for line in f if line.strip())]


class _Conference:
    def __init__(self, net: SimNetwork, reference: str) -> None:
        self.net = net
        self.reference = reference
        self.ended = False
        self._watchers: list[Callable[[], None]] = []
        self.booking_id = 0
        net.reactor.callLater(net.talk_s, self._end)

    def invite(self, number: str, *, on_answered: Callable[[], None],
               on_failed: Callable[[int | None, bool], None]) -> None:
        if self.ended:
            on_failed(None, True)
            return
        self.net.log.ring(self.booking_id, number)
        self.net.reactor.callLater(self.net.answer_after, on_answered)

    def when_ended(self, fn: Callable[[], None]) -> None:
        self._watchers.append(fn)

    def _end(self) -> None:
        self.ended = True
        for fn in self._watchers:
            fn()


class SimNetwork:
    def __init__(self, reactor: Any, log: RingLog, *, answer_after: float = 0.2,
                 talk_s: float = 1.0) -> None:
        self.reactor = reactor
        self.log = log
        self.answer_after = answer_after
        self.talk_s = talk_s

    def dial_initiator(self, job: Any, conference_ref: str, leg_ref: str, *,
                       on_answered: Callable[[Any], None],
                       on_failed: Callable[[int | None, bool], None]) -> None:
        self.log.ring(job.id, job.initiator_dial)

        def answer() -> None:
            conf = _Conference(self, conference_ref)
            conf.booking_id = job.id
            on_answered(conf)
        self.reactor.callLater(self.answer_after, answer)
