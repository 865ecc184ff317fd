"""What a conference needs from the rest of the box: money (credit and rating) and records.

Why ports: call control thinks in reactor seconds, legs and prompts; rating thinks in UTC
datetimes and ``MoneyError`` keys, and the call log in rows. Call control depends only on
these small interfaces (``confcall.conference.money.RatingMoney`` and
``confcall.conference.records.StoreRecords`` are the production ones), so a conference can be
driven without a database and the database side can change without touching call flows.

Every method returns a Deferred: nothing here may block the reactor.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from twisted.internet.defer import Deferred

from confcall.dahdi.legs import CallLeg

__all__ = ["LegMoney", "MoneyPort", "RecordPort", "Refusal"]


class Refusal(Exception):
    """An invitation refused before dialling; ``prompt`` says why to the initiator."""

    def __init__(self, prompt: str, detail: str = "") -> None:
        super().__init__(detail or prompt)
        self.prompt = prompt


class LegMoney(Protocol):
    """Credit control of one leg (``confcall.rating.leg_credit.LegCredit`` fits)."""

    def answered(self) -> None: ...

    def ended(self, started_at: Any, answered_at: Any, ended_at: Any) -> Deferred[Any]: ...

    def failed(self) -> Deferred[Any]: ...


class MoneyPort(Protocol):
    def authorize(self, payer: str, conference_ref: str, leg_ref: str, dialled: str, *,
                  on_warning: Callable[[str, int], None],
                  on_exhausted: Callable[[str], None]) -> Deferred[LegMoney]:
        """Hold credit for a leg; fails with ``Refusal`` (blocked, no credit, locked)."""

    def close_conference(self, payer: str, conference_ref: str, started: float,
                         ended: float) -> Deferred[Any]: ...


class RecordPort(Protocol):
    def leg_started(self, conference_ref: str, leg: CallLeg, leg_ref: str,
                    role: str) -> Deferred[Any]: ...

    def leg_ended(self, leg_ref: str, leg: CallLeg) -> Deferred[Any]: ...
