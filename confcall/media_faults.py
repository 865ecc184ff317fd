"""What the box does when its media path fails (issue 13: "the media thread can die unseen").

Why call control must hear of it: a conference whose channel no longer reads or writes is
silent while its credit runs. So a fault reported by the media engine (``MediaFault``) is
turned into actions on the reactor thread:

- a dead channel (its read or GETEVENT failed: ENODEV when a card goes away): the call on it is
  cleared with cause 41 (temporary failure), the PRI channel is taken out of service so no new
  call lands on it, and an alarm is raised;
- a failing tick (a kernel or the batch read raised): logged and alarmed; the engine runs the
  next tick, so the calls go on;
- the engine gave up (``fatal``: a second of failing ticks): every call is cleared with cause
  41, since nobody can hear anything, and the engine is started again one second later.

The alarms are what ``confcall span status`` shows from the control socket (``media``).
"""
from __future__ import annotations

import logging
from collections import deque
from typing import Any, Callable

from confcall.dahdi.legs import Cause
from confcall.dsp.engine import MediaFault

__all__ = ["MediaFaultHandler", "RESTART_AFTER_S"]

log = logging.getLogger("confcall.media")

RESTART_AFTER_S = 1.0


class MediaFaultHandler:
    """Clears the calls a media fault silenced, restarts a stopped engine, keeps the alarms."""

    def __init__(self, reactor: Any, media: Any, trunks: list[Any],
                 say: Callable[[str], None]) -> None:
        self.reactor = reactor
        self.media = media
        self.trunks = trunks
        self.say = say
        self.alarms: deque[tuple[float, str]] = deque(maxlen=100)
        self.restarts = 0
        media.on_fault = self.fault

    def fault(self, fault: MediaFault) -> None:
        if fault.chan >= 0:
            self._dead_channel(self.media.channo_of(fault.chan), fault.cause)
        elif fault.fatal:
            self._alarm(f"media engine {self.media.engine.failed or 'stopped'}")
            n = self._clear(lambda leg: True)
            self.say(f"media engine stopped: {n} call(s) cleared with cause 41; restarting in "
                     f"{RESTART_AFTER_S:g} s")
            self.reactor.callLater(RESTART_AFTER_S, self._restart)
        else:
            self._alarm(f"media tick failed: {fault.cause}")

    def _dead_channel(self, channo: int, cause: str) -> None:
        self._alarm(f"channel {channo} out of service: {cause}")
        for trunk in self.trunks:
            block = getattr(trunk, "take_out_of_service", None)
            if block is not None and channo in {ch.channo for ch in trunk.span.bchannels}:
                block(channo, cause)
        n = self._clear(lambda leg: leg.channo == channo)
        if n:
            self.say(f"channel {channo} failed ({cause}): its call cleared with cause 41")

    def _clear(self, which: Callable[[Any], bool]) -> int:
        n = 0
        for trunk in self.trunks:
            for leg in list(trunk.legs.values()):
                if leg.active and which(leg):
                    leg.hangup(Cause.TEMPORARY_FAILURE)
                    n += 1
        return n

    def _restart(self) -> None:
        self.restarts += 1
        self.media.restart()
        self.say(f"media engine restarted (restart {self.restarts})")

    def _alarm(self, text: str) -> None:
        self.alarms.append((float(self.reactor.seconds()), text))
        log.error("ALARM %s", text)
        self.say(f"ALARM {text}")

    def status(self) -> dict[str, Any]:
        """The media engine for the NOC: running, faults, channels out of service, alarms."""
        st = dict(self.media.status())
        st["restarts"] = self.restarts
        st["alarm"] = bool(st["failed"] or st["out_of_service"] or self.alarms)
        st["alarms"] = [{"at": round(t, 3), "text": text} for t, text in self.alarms]
        return st
