"""The initiator's keypad grammar, as a pure state machine (keys and timeouts in, actions out).

Key map (DESIGN.md "Call flows"):
- Right after the callback answers the initiator is *inviting*: ``number #`` invites that number;
  then ``*`` asks for one more (``* number #``), ``#`` on its own — or a pause — ends inviting and
  the conversation starts. Numbers may also follow each other directly: ``B # C #``.
- In the conversation: ``* number #`` invites (the others hear waiting music meanwhile),
  ``** seat #`` hangs up the participant in that seat, ``*#`` cancels what is being typed
  (``*`` in the middle of an entry starts it over), ``0`` says how many are in the call and who,
  ``9`` toggles background music. Other single digits do nothing.

Timeouts: while typing, ``entry_timeout_s`` without a key cancels the entry; after an invitation
while inviting, ``finish_timeout_s`` without a key ends inviting.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Keypad", "KeyState", "Invite", "Drop", "Cancel", "FinishInviting", "StartEntry",
           "ListMembers", "ToggleMusic", "Action", "BadEntry"]


class KeyState(enum.Enum):
    IDLE = "idle"  # talking; a lone digit is a quick command
    NUMBER = "number"  # typing a number to invite
    SEAT = "seat"  # typing a seat to hang up
    AFTER_INVITE = "after_invite"  # inviting: waiting for * (more) or # (done)


@dataclass(frozen=True)
class Invite:
    number: str


@dataclass(frozen=True)
class Drop:
    seat: int


@dataclass(frozen=True)
class Cancel:
    reason: str  # "key" | "timeout"


@dataclass(frozen=True)
class FinishInviting:
    pass


@dataclass(frozen=True)
class StartEntry:
    """The initiator began typing an invitation: the others should hear waiting music."""


@dataclass(frozen=True)
class ListMembers:
    pass


@dataclass(frozen=True)
class ToggleMusic:
    pass


@dataclass(frozen=True)
class BadEntry:
    reason: str  # "empty_seat" | "too_long"


Action = Invite | Drop | Cancel | FinishInviting | StartEntry | ListMembers | ToggleMusic | BadEntry

MAX_DIGITS = 24


class Keypad:
    """``feed(key)`` / ``timeout()`` → actions. ``inviting`` tells the session whether the others
    should be hearing waiting music; ``setup`` is the first inviting round after the callback."""

    def __init__(self, *, entry_timeout_s: float = 10.0, finish_timeout_s: float = 6.0) -> None:
        self.setup = True
        self.inviting = True
        self.state = KeyState.NUMBER
        self.buffer = ""
        self.invited = 0  # invitations in the current inviting round
        self.entry_timeout_s = entry_timeout_s
        self.finish_timeout_s = finish_timeout_s

    @property
    def timeout_s(self) -> float | None:
        """How long the current state waits for a key (None: forever)."""
        if self.state is KeyState.AFTER_INVITE:
            return self.finish_timeout_s
        if self.state in (KeyState.NUMBER, KeyState.SEAT):
            return self.entry_timeout_s
        return None

    def preset_invited(self, count: int) -> None:
        """``count`` invitations were made for the initiator (a booked conference's
        participants): wait as after keyed ones — ``*`` for more, ``#`` or a pause to talk."""
        if count > 0 and self.setup:
            self.invited += count
            self.buffer = ""
            self.state = KeyState.AFTER_INVITE

    def feed(self, key: str) -> list[Action]:
        if len(key) != 1 or key not in "0123456789*#ABCD":
            raise ValueError(f"not a keypad key: {key!r}")
        if key in "ABCD":
            return []
        handler = {KeyState.IDLE: self._idle, KeyState.NUMBER: self._number,
                   KeyState.SEAT: self._seat, KeyState.AFTER_INVITE: self._after}[self.state]
        return handler(key)

    def timeout(self) -> list[Action]:
        if self.state is KeyState.AFTER_INVITE:
            return self._finish()
        if self.state is KeyState.NUMBER and not self.buffer and self.invited:
            return self._finish()
        if self.state in (KeyState.NUMBER, KeyState.SEAT):
            self._back()
            return [Cancel("timeout")]
        return []

    # -- transitions --------------------------------------------------------------------------
    def _back(self) -> None:
        """Abandon the entry: back to typing (setup round) or to the conversation."""
        self.buffer = ""
        if self.setup:
            self.state = KeyState.AFTER_INVITE if self.invited else KeyState.NUMBER
        else:
            self.state = KeyState.AFTER_INVITE if self.invited else KeyState.IDLE
            self.inviting = bool(self.invited)

    def _finish(self) -> list[Action]:
        self.setup = self.inviting = False
        self.invited = 0
        self.buffer = ""
        self.state = KeyState.IDLE
        return [FinishInviting()]

    def _idle(self, key: str) -> list[Action]:
        if key == "*":
            self.state, self.buffer, self.inviting = KeyState.NUMBER, "", True
            return [StartEntry()]
        if key == "0":
            return [ListMembers()]
        if key == "9":
            return [ToggleMusic()]
        return []

    def _number(self, key: str) -> list[Action]:
        if key.isdigit():
            if len(self.buffer) >= MAX_DIGITS:
                self._back()
                return [BadEntry("too_long")]
            self.buffer += key
            return []
        if key == "#":
            if not self.buffer:
                if self.invited:
                    return self._finish()
                self._back()
                return [Cancel("key")]
            number, self.buffer = self.buffer, ""
            self.invited += 1
            self.state = KeyState.AFTER_INVITE
            return [Invite(number)]
        if not self.buffer:  # "**": a seat follows
            self.state = KeyState.SEAT
            return []
        self.buffer = ""  # "*" in the middle of a number: start it over
        return []

    def _seat(self, key: str) -> list[Action]:
        if key.isdigit():
            if len(self.buffer) >= 3:
                self._back()
                return [BadEntry("too_long")]
            self.buffer += key
            return []
        if key == "#" and self.buffer:
            seat = int(self.buffer)
            self._back()
            return [Drop(seat)]
        self._back()  # "#" with no seat, or "*": cancel
        return [Cancel("key")]

    def _after(self, key: str) -> list[Action]:
        if key == "*":
            self.state, self.buffer = KeyState.NUMBER, ""
            return []
        if key == "#":
            return self._finish()
        self.state, self.buffer = KeyState.NUMBER, ""  # a digit: the next number, directly
        return self._number(key)
