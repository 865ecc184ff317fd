"""What every part of one conference shares: its reference, payer and mix, its clock and diary,
and the one way to tell the initiator something.

Why one object: the inviting flow, the music and the settling of legs each need these few
facts; passing them as one small record keeps those parts from reaching into the session.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confcall.dahdi.legs import CallLeg

from .media import MediaService

__all__ = ["ConferenceContext"]

log = logging.getLogger("confcall.conference")


@dataclass(eq=False)
class ConferenceContext:
    reactor: Any
    media: MediaService
    reference: str
    payer: str  # the initiator's account number (E.164)
    initiator_leg: CallLeg
    conf: int  # the media engine's conference (mix) id
    say: Callable[[int], list[str]]  # a number as sounds ("seat", *say(3))
    started_at: float = 0.0
    ended_at: float | None = None
    log: list[tuple[float, str]] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def now(self) -> float:
        return float(self.reactor.seconds())

    def note(self, text: str) -> None:
        """The conference's diary (control socket, tests) and the log."""
        self.log.append((self.now(), text))
        log.info("%s: %s", self.reference, text)

    def tell(self, sounds: list[str]) -> None:
        """Play prompts to the initiator (only), if their leg is still up."""
        leg = self.initiator_leg
        if leg.active and leg.channo is not None:
            self.media.play_sequence(leg.channo, sounds)
