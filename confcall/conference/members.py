"""Who is in a conference: the initiator in seat 1, the invited participants, their seats, and
whether one more number may be invited.

Why apart from the call flow: the rules of admission (format, own number, duplicate, size,
a free channel) and the seat numbering are facts about the roster that the inviting flow, the
initiator's keys ("drop seat 3", "who is here") and the control socket all read.
"""
from __future__ import annotations

import enum
import itertools
import re
from dataclasses import dataclass

from confcall.dahdi.legs import CallLeg

from .ports import LegMoney, Refusal

__all__ = ["Member", "MemberState", "Roster", "same_number"]

_NUMBER = re.compile(r"^[0-9]{3,20}$")


class MemberState(enum.StrEnum):
    """A member's place in the conference (the string values are what logs and the control
    socket show)."""

    AUTHORIZING = "authorizing"  # credit being held for the leg
    DIALING = "dialing"
    RINGING = "ringing"
    JOINED = "joined"  # answered and in the mix
    LEFT = "left"  # was joined, hung up or was dropped
    FAILED = "failed"  # refused, busy, no answer, ... (never joined)


LIVE = frozenset({MemberState.AUTHORIZING, MemberState.DIALING, MemberState.RINGING,
                  MemberState.JOINED})


@dataclass(eq=False)
class Member:
    number: str
    role: str  # "initiator" | "participant"
    leg: CallLeg | None = None
    seat: int | None = None  # join order, announced; the initiator is seat 1
    state: MemberState = MemberState.AUTHORIZING
    money: LegMoney | None = None
    ref: str = ""
    cause: int | None = None
    done: bool = False  # its leg cleared and its money settled


class Roster:
    """The initiator and the participants in invitation order; seats in join order."""

    def __init__(self, initiator: Member) -> None:
        self.initiator = initiator
        self.members: list[Member] = []
        self._seats = itertools.count(2)  # the initiator is seat 1

    def everyone(self) -> list[Member]:
        return [self.initiator, *self.members]

    def add(self, number: str, ref: str) -> Member:
        m = Member(number, "participant", ref=ref)
        self.members.append(m)
        return m

    def seat(self, m: Member) -> int:
        """Give a member who just joined the next seat."""
        m.seat = next(self._seats)
        return m.seat

    def active(self) -> list[Member]:
        return [m for m in self.members if m.state in LIVE]

    def joined(self) -> list[Member]:
        return [m for m in self.members if m.state is MemberState.JOINED]

    def in_seat(self, seat: int) -> Member | None:
        return next((m for m in self.joined() if m.seat == seat), None)

    def by_ref(self, leg_ref: str) -> Member | None:
        return next((m for m in self.members if m.ref == leg_ref), None)

    def check(self, number: str, payer: str, *, max_participants: int,
              free_channels: int) -> None:
        """Raise ``Refusal`` (with the prompt to say) if ``number`` may not be invited now."""
        if not _NUMBER.match(number):
            raise Refusal("invalid_number", f"{number!r} is not 3 to 20 digits")
        if same_number(number, self.initiator.number) or same_number(number, payer):
            raise Refusal("own_number")
        if any(same_number(number, m.number) for m in self.active()):
            raise Refusal("duplicate_number")
        if len(self.active()) >= max_participants:
            raise Refusal("too_many_participants")
        if free_channels == 0:
            raise Refusal("no_channel")


def same_number(a: str, b: str) -> bool:
    """Compare national significant numbers: '013800138000', '+8613800138000', '13800138000'."""
    def nsn(x: str) -> str:
        x = x.lstrip("+")
        if x.startswith("86") and len(x) > 11:
            x = x[2:]
        return x.lstrip("0")
    return bool(a) and bool(b) and nsn(a) == nsn(b)
