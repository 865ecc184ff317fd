"""Settling a conference's legs and closing its record.

When a leg clears: its channel leaves the media engine, its call-log row is completed, and its
credit is either rated and debited (answered) or given back (never answered). When the
conference has ended and every leg has cleared, the conference record is closed once: its end
and total (the sum of its rated legs), written after every leg's rating (the money port queues
a conference's writes in order).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from confcall.dahdi.legs import LegState

from .context import ConferenceContext
from .members import Member, Roster
from .ports import MoneyPort, RecordPort

__all__ = ["Settlement"]

log = logging.getLogger("confcall.conference")


class Settlement:
    def __init__(self, ctx: ConferenceContext, roster: Roster, money: MoneyPort,
                 records: RecordPort, on_closed: Callable[[], None]) -> None:
        self.ctx = ctx
        self.roster = roster
        self.money = money
        self.records = records
        self.on_closed = on_closed
        self.closed = False

    def leg_done(self, m: Member) -> None:
        """The member's leg cleared: free the channel, complete the record, settle the money."""
        leg = m.leg
        if leg is None or m.done:
            return
        m.done = True
        if leg.channo is not None:
            self.ctx.media.release(leg.channo)
        # the call log's end, then the rating (or the release of the hold): queued in this
        # order on the conference's write queue, before the conference record is closed
        self.records.leg_ended(m.ref, leg)
        if m.money is not None:
            if leg.answered:
                d = m.money.ended(leg.seized_at, leg.answered_at, leg.ended_at)
            else:
                d = m.money.failed()
            d.addErrback(_log_leg_failure, m.ref)

    def maybe_close(self) -> None:
        """Rate the conference once every leg has cleared and been settled."""
        ctx = self.ctx
        if not ctx.ended:
            return
        legs = [m.leg for m in self.roster.everyone() if m.leg is not None]
        if any(leg.state is not LegState.CLEARED for leg in legs):
            return
        if self.closed:
            return
        self.closed = True
        d = self.money.close_conference(ctx.payer, ctx.reference, ctx.started_at,
                                        ctx.ended_at or ctx.now())
        d.addErrback(_log_close_failure, ctx.reference)
        self.on_closed()


def _log_leg_failure(failure: Any, leg_ref: str) -> None:
    log.error("%s: settling the leg failed: %s", leg_ref, failure.getErrorMessage())


def _log_close_failure(failure: Any, reference: str) -> None:
    log.error("%s: closing the conference record failed: %s", reference,
              failure.getErrorMessage())
