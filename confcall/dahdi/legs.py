"""The call-leg interface: what call control sees of any trunk (ISDN PRI or MFC/R2).

Why one interface: the conference and callback flows must not care whether a timeslot is
signalled by Q.931 or by R2 tones. A trunk offers incoming legs and dials outgoing ones; a leg
carries ANI/DNIS, its B-channel, its state and a time-stamped list of events, and accepts the
few actions a call needs: proceeding, progress (early media), reject, answer, hang up.
"""
from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

__all__ = ["Cause", "LegState", "LegEvent", "CallLeg", "Trunk", "Presentation", "NoChannel"]


class Cause(enum.IntEnum):
    """Q.850 cause values that confcall uses or reports."""

    UNALLOCATED = 1
    NO_ROUTE_DESTINATION = 3
    NORMAL_CLEARING = 16
    USER_BUSY = 17
    NO_USER_RESPONSE = 18
    NO_ANSWER = 19
    SUBSCRIBER_ABSENT = 20
    CALL_REJECTED = 21
    NUMBER_CHANGED = 22
    DESTINATION_OUT_OF_ORDER = 27
    INVALID_NUMBER_FORMAT = 28
    NORMAL_UNSPECIFIED = 31
    CONGESTION = 34  # no circuit/channel available
    NETWORK_OUT_OF_ORDER = 38
    TEMPORARY_FAILURE = 41
    SWITCH_CONGESTION = 42
    REQUESTED_CHAN_UNAVAIL = 44
    RECOVERY_ON_TIMER_EXPIRE = 102
    PROTOCOL_ERROR = 111

    @classmethod
    def describe(cls, value: int) -> str:
        try:
            return f"{value} ({cls(value).name.lower().replace('_', ' ')})"
        except ValueError:
            return str(value)


class Presentation(enum.Enum):
    ALLOWED = "allowed"
    RESTRICTED = "restricted"
    UNAVAILABLE = "unavailable"


class LegState(enum.Enum):
    OFFERED = "offered"  # incoming, nothing answered yet
    PROCEEDING = "proceeding"
    EARLY_MEDIA = "early_media"  # progress with in-band information
    DIALING = "dialing"  # outgoing SETUP sent
    RINGING = "ringing"
    ANSWERED = "answered"
    CLEARING = "clearing"
    CLEARED = "cleared"


class NoChannel(Exception):
    """Every B-channel of the trunk is busy (or the trunk is down)."""


@dataclass(frozen=True)
class LegEvent:
    """What happened to a leg. kinds: proceeding, ringing, progress, media, answered,
    failed (cleared before answer, with cause), hangup (far end cleared after answer, with
    cause), cleared (all signalling done, channel free)."""

    kind: str
    at: float
    cause: int | None = None


_ids = itertools.count(1)


@dataclass(eq=False)
class CallLeg:
    """One call on one B-channel. Actions go back to the trunk that owns it."""

    trunk: "Trunk"
    direction: str  # "in" | "out"
    number: str  # the far party: ANI for incoming, the dialled number for outgoing
    dnis: str = ""
    presentation: Presentation = Presentation.ALLOWED
    caller_id: str = ""
    chanpos: int | None = None
    channo: int | None = None
    state: LegState = LegState.OFFERED
    cause: int | None = None
    answered: bool = False
    has_media: bool = False
    seized_at: float = 0.0
    answered_at: float | None = None
    ended_at: float | None = None
    events: list[LegEvent] = field(default_factory=list)
    listener: Callable[["CallLeg", LegEvent], None] | None = None
    watchers: list[Callable[["CallLeg", LegEvent], None]] = field(default_factory=list)
    id: int = field(default_factory=lambda: next(_ids))
    handle: Any = None  # signalling's own reference (q931_call *)
    retries: int = 0  # outbound: how many more channels to try after losing a glare

    @property
    def ani(self) -> str:
        return self.number if self.direction == "in" else self.caller_id

    @property
    def active(self) -> bool:
        return self.state not in (LegState.CLEARING, LegState.CLEARED)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def _emit(self, kind: str, at: float, cause: int | None = None) -> None:
        ev = LegEvent(kind, at, cause)
        self.events.append(ev)
        if self.listener is not None:
            self.listener(self, ev)
        for watch in self.watchers:  # observers that do not own the call (records, logs)
            watch(self, ev)

    # -- state changes (made by the trunk that owns the leg, PRI or R2 alike) ----------------
    def mark_answered(self, at: float) -> None:
        """The call is answered (by us or the far end): media flows from here on."""
        self.state = LegState.ANSWERED
        self.answered = True
        self.answered_at = at
        if not self.has_media:
            self.has_media = True
            self._emit("media", at)
        self._emit("answered", at)

    def mark_far_end_cleared(self, cause: int, at: float) -> None:
        """The network cleared the call: reported once (``hangup`` after answer, ``failed``
        before), then the trunk releases its side."""
        if self.state in (LegState.CLEARING, LegState.CLEARED):
            return
        self.cause = cause
        self.ended_at = at
        self._emit("hangup" if self.answered else "failed", at, cause)

    def mark_failed_locally(self, cause: int, at: float) -> None:
        """The call never reached the line (no channel, SETUP refused by the stack)."""
        self.cause = cause
        self.state = LegState.CLEARED
        self.ended_at = at
        self._emit("failed", at, cause)
        self._emit("cleared", at, cause)

    def mark_clearing(self, cause: int, at: float) -> None:
        """We hang up: the first cause and end time stand (a far-end clearing may have set
        them already)."""
        self.state = LegState.CLEARING
        if self.cause is None:
            self.cause = int(cause)
        if self.ended_at is None:
            self.ended_at = at

    def mark_cleared(self, at: float) -> None:
        """All signalling done, the channel is free; ``cleared`` is reported once."""
        self.handle = None
        if self.state is LegState.CLEARED:
            return
        self.state = LegState.CLEARED
        if self.ended_at is None:
            self.ended_at = at
        self._emit("cleared", at, self.cause)

    # -- actions (delegated to the trunk) ---------------------------------------------------
    def proceeding(self) -> None:
        self.trunk.leg_proceeding(self)

    def progress(self, inband: bool = True) -> None:
        """Early media: PROGRESS with in-band information; audio flows, nobody is charged."""
        self.trunk.leg_progress(self, inband)

    def reject(self, cause: int = Cause.NORMAL_CLEARING) -> None:
        """Clear an unanswered incoming call (the on-hook rejection)."""
        if self.answered:
            raise RuntimeError(f"leg {self.id} was answered: hang up instead of rejecting")
        self.trunk.leg_hangup(self, cause)

    def answer(self) -> None:
        self.trunk.leg_answer(self)

    def hangup(self, cause: int = Cause.NORMAL_CLEARING) -> None:
        self.trunk.leg_hangup(self, cause)


class Trunk(Protocol):
    """What call control needs from a signalling span."""

    name: str
    on_incoming: Callable[[CallLeg], None] | None

    def dial(self, number: str, caller_id: str = "", *,
             listener: Callable[[CallLeg, LegEvent], None] | None = None) -> CallLeg: ...

    def free_channels(self) -> int: ...

    def leg_proceeding(self, leg: CallLeg) -> None: ...

    def leg_progress(self, leg: CallLeg, inband: bool) -> None: ...

    def leg_answer(self, leg: CallLeg) -> None: ...

    def leg_hangup(self, leg: CallLeg, cause: int) -> None: ...
