"""Every call's life in the log under one id, and the call metrics.

Why one observer: an operator chasing a complaint greps the journal for one call id and must
see the whole call — offered or dialled, ringing, answered, the conference it joined, the
cause it cleared with — and the NOC's counters must agree with those lines. Both come from
the same leg events here, so they cannot drift apart.

How it works: the daemon ``watch()``es every incoming leg and dials through
``TracedTrunkGroup``, so every outgoing leg is watched from its SETUP. A leg's call id is
``L<leg id>`` (unique in one process; with the box id in the log stream it is unique in a
network); conference lines carry the conference reference and the initiator's call id.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from confcall.conference.trunkgroup import TrunkGroup
from confcall.dahdi.legs import CallLeg, LegEvent
from confcall.logsetup import fields

__all__ = ["CallObserver", "TracedTrunkGroup", "call_id"]

log = logging.getLogger("confcall.calls")


def call_id(leg: CallLeg) -> str:
    return f"L{leg.id}"


class CallObserver:
    """Logs each leg event with the leg's call id; feeds the call metrics when given."""

    def __init__(self, metrics: Any = None) -> None:
        self.metrics = metrics

    def watch(self, leg: CallLeg) -> None:
        m = self.metrics
        if m is not None:
            m.call_attempts.labels(leg.direction).inc()
            m.calls_active.labels(leg.direction).inc()
        log.info("%s call %s %s", "incoming" if leg.direction == "in" else "outgoing",
                 "from" if leg.direction == "in" else "to", leg.number or "withheld",
                 extra=fields(event=f"leg.{'offered' if leg.direction == 'in' else 'dialled'}",
                              call=call_id(leg), direction=leg.direction, number=leg.number,
                              dnis=leg.dnis or None, trunk=getattr(leg.trunk, "name", None),
                              chan=leg.chanpos))
        leg.watchers.append(self._event)

    def _event(self, leg: CallLeg, ev: LegEvent) -> None:
        if ev.kind == "media":
            return  # audio started: no news for the log
        m = self.metrics
        if m is not None:
            if ev.kind == "answered":
                m.calls_answered.labels(leg.direction).inc()
            elif ev.kind == "cleared":
                m.calls_active.labels(leg.direction).dec()
                m.calls_cleared.labels(leg.direction, str(leg.cause or ev.cause or 0)).inc()
        level = logging.INFO if ev.kind in ("answered", "cleared", "failed", "hangup") \
            else logging.DEBUG
        log.log(level, "call %s %s", ev.kind, leg.number or "withheld",
                extra=fields(event=f"leg.{ev.kind}", call=call_id(leg),
                             direction=leg.direction, trunk=getattr(leg.trunk, "name", None),
                             chan=leg.chanpos, cause=ev.cause))

    def conference_started(self, session: Any) -> None:
        if self.metrics is not None:
            self.metrics.conferences.inc()
            self.metrics.conferences_active.inc()
        log.info("conference started", extra=fields(
            event="conference.started", conference=session.reference,
            call=_initiator_call(session), payer=session.payer))

    def conference_ended(self, session: Any) -> None:
        if self.metrics is not None:
            self.metrics.conferences_active.dec()
        log.info("conference ended", extra=fields(
            event="conference.ended", conference=session.reference,
            call=_initiator_call(session), payer=session.payer))


def _initiator_call(session: Any) -> str | None:
    leg = getattr(session, "initiator_leg", None)
    return call_id(leg) if isinstance(leg, CallLeg) else None


class TracedTrunkGroup(TrunkGroup):
    """A trunk group whose every dialled leg is watched by the observer from its SETUP."""

    def __init__(self, trunks: Any, observer: CallObserver, name: str = "group") -> None:
        super().__init__(trunks, name)
        self.observer = observer

    def dial(self, number: str, caller_id: str = "", *,
             listener: Callable[[CallLeg, LegEvent], None] | None = None) -> CallLeg:
        leg = super().dial(number, caller_id, listener=listener)
        self.observer.watch(leg)
        return leg
