"""One conference, from the moment the initiator answers the callback until the last leg clears.

What the initiator lives through: a welcome and "enter the number…"; each ``number #`` is
checked (format, own number, duplicate, size, credit and blocked destinations) and dialled at
once on the trunk group while they keep keying; they hear how each call goes (ringing, joined
with its seat, busy, no answer, failed). Those who joined hear waiting music until inviting
ends; then everyone talks (N-1 mix, every key suppressed). In the call the initiator's keys
invite, drop a seat, cancel, list, toggle background music (``keypad.py``). The initiator
hanging up — or running out of credit — ends everything; a participant leaving is announced,
and the last one leaving too.

How it works: events in (leg events from signalling, digits from the media engine, keypad
timeouts from the reactor), commands out (dial, hang up, play, join/leave the mix). Money goes
through ``MoneyPort`` (credit per leg, rating at the end); records through ``RecordPort``.
Nothing here blocks: every DB step returns a Deferred.
"""
from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from twisted.internet.defer import Deferred, maybeDeferred

from confcall.clock import cancel_pending
from confcall.dahdi.legs import CallLeg, Cause, LegEvent, LegState
from confcall.dsp.engine import DigitEvent

from .keypad import (BadEntry, Cancel, Drop, FinishInviting, Invite, Keypad, ListMembers,
                     StartEntry, ToggleMusic)
from .media import MediaService
from .trunkgroup import TrunkGroup

__all__ = ["ConferenceSession", "Member", "SessionConfig", "MoneyPort", "LegMoney", "Refusal",
           "RecordPort"]

log = logging.getLogger("confcall.conference")

_NUMBER = re.compile(r"^[0-9]{3,20}$")
_refs = itertools.count(1)


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


@dataclass(frozen=True)
class SessionConfig:
    max_participants: int = 8
    entry_timeout_s: float = 10.0
    finish_timeout_s: float = 6.0
    reprompts: int = 3
    waiting_music: str = "waiting_music"
    background_music: str = "background_music"


@dataclass(eq=False)
class Member:
    number: str
    role: str  # "initiator" | "participant"
    leg: CallLeg | None = None
    seat: int | None = None  # join order, announced; the initiator is seat 1
    state: str = "authorizing"  # authorizing | dialing | ringing | joined | left | failed
    money: LegMoney | None = None
    ref: str = ""
    cause: int | None = None
    done: bool = False  # its leg cleared and its money settled


@dataclass(eq=False)
class ConferenceSession:
    reactor: Any
    media: MediaService
    trunks: TrunkGroup
    money: MoneyPort
    records: RecordPort
    payer: str  # the initiator's account number (E.164)
    initiator_leg: CallLeg
    initiator_money: LegMoney | None = None
    initiator_ref: str = ""
    caller_id: str = ""
    config: SessionConfig = field(default_factory=SessionConfig)
    say: Callable[[int], list[str]] = field(default=lambda n: [f"d{c}" for c in str(n)])
    on_end: Callable[["ConferenceSession"], None] | None = None
    reference: str = ""

    def __post_init__(self) -> None:
        self.reference = self.reference or f"conf-{int(self.reactor.seconds() * 1000)}-" \
                                           f"{next(_refs)}"
        self.initiator = Member(self.initiator_leg.number, "initiator", self.initiator_leg,
                                seat=1, state="joined", money=self.initiator_money,
                                ref=self.initiator_ref or f"{self.reference}/0")
        self.members: list[Member] = []
        self.keypad = Keypad(entry_timeout_s=self.config.entry_timeout_s,
                             finish_timeout_s=self.config.finish_timeout_s)
        self.started_at = float(self.reactor.seconds())
        self.ended_at: float | None = None
        self.log: list[tuple[float, str]] = []
        self._timer: Any = None
        self._seats = itertools.count(2)  # the initiator is seat 1
        self._reprompts = 0
        self._music_on = False
        self._background = False
        self._closed = False
        assert self.initiator_leg.channo is not None
        self.conf = self.media.conference_id(self.initiator_leg.channo)

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def _note(self, text: str) -> None:
        self.log.append((float(self.reactor.seconds()), text))
        log.info("%s: %s", self.reference, text)

    def start(self) -> None:
        leg = self.initiator_leg
        leg.listener = self._initiator_event
        assert leg.channo is not None
        self.media.digit_listeners[leg.channo] = self._digit
        self._note(f"initiator {leg.number} answered on channel {leg.channo}")
        self._say_to_initiator(["welcome_callback", "enter_number"])
        self._arm()

    def end(self, why: str) -> None:
        """Clear every leg: the initiator left, ran out of credit, or the box shuts down."""
        if self.ended:
            return
        self.ended_at = float(self.reactor.seconds())
        self._note(f"conference ends: {why}")
        self._disarm()
        for m in self.members:
            if m.leg is not None and m.leg.active:
                m.leg.hangup(Cause.NORMAL_CLEARING)
        if self.initiator_leg.active:
            self.initiator_leg.hangup(Cause.NORMAL_CLEARING)
        if self._music_on:
            self.media.waiting_music(self.conf, None)
        if self._background:
            self.media.background_music(self.conf, None)
        self._maybe_close()

    def _maybe_close(self) -> None:
        """Rate the conference once every leg has cleared and been settled."""
        if not self.ended:
            return
        legs = [m.leg for m in [self.initiator, *self.members] if m.leg is not None]
        if any(leg.state is not LegState.CLEARED for leg in legs):
            return
        if self._closed:
            return
        self._closed = True
        d = self.money.close_conference(self.payer, self.reference, self.started_at,
                                        self.ended_at or float(self.reactor.seconds()))
        d.addErrback(lambda f: log.error("%s: closing the conference record failed: %s",
                                         self.reference, f.getErrorMessage()))
        if self.on_end is not None:
            self.on_end(self)

    # -- the initiator --------------------------------------------------------------------------
    def _say_to_initiator(self, sounds: list[str]) -> None:
        leg = self.initiator_leg
        if leg.active and leg.channo is not None:
            self.media.play_sequence(leg.channo, sounds)

    def _initiator_event(self, leg: CallLeg, ev: LegEvent) -> None:
        if ev.kind in ("hangup", "failed"):
            self._note(f"initiator hung up (cause {ev.cause})")
            self.end("initiator hung up")
        elif ev.kind == "cleared":
            self._leg_done(self.initiator)
            self.end("initiator leg cleared")

    def _digit(self, ev: DigitEvent) -> None:
        if not ev.start or self.ended:
            return
        self._disarm()
        self._apply(self.keypad.feed(ev.digit))
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        t = self.keypad.timeout_s
        if t is not None and not self.ended:
            self._timer = self.reactor.callLater(t, self._timed_out)

    def _disarm(self) -> None:
        cancel_pending(self._timer)
        self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        self._apply(self.keypad.timeout())
        self._arm()

    def _apply(self, actions: list[Any]) -> None:
        for a in actions:
            if isinstance(a, Invite):
                self._invite(a.number)
            elif isinstance(a, Drop):
                self._drop(a.seat)
            elif isinstance(a, Cancel):
                self._cancelled(a.reason)
            elif isinstance(a, FinishInviting):
                self._finish_inviting()
            elif isinstance(a, StartEntry):
                self._start_entry()
            elif isinstance(a, ListMembers):
                self._list()
            elif isinstance(a, ToggleMusic):
                self._toggle_background()
            elif isinstance(a, BadEntry):
                self._say_to_initiator(["invalid_number"])
        self._update_music()

    # -- inviting -------------------------------------------------------------------------------
    def _active_members(self) -> list[Member]:
        return [m for m in self.members if m.state in ("authorizing", "dialing", "ringing",
                                                        "joined")]

    def _check(self, number: str) -> None:
        if not _NUMBER.match(number):
            raise Refusal("invalid_number", f"{number!r} is not 3 to 20 digits")
        if _same_number(number, self.initiator.number) or _same_number(number, self.payer):
            raise Refusal("own_number")
        if any(_same_number(number, m.number) for m in self._active_members()):
            raise Refusal("duplicate_number")
        if len(self._active_members()) >= self.config.max_participants:
            raise Refusal("too_many_participants")
        if self.trunks.free_channels() == 0:
            raise Refusal("no_channel")

    def _invite(self, number: str) -> None:
        try:
            self._check(number)
        except Refusal as r:
            self._note(f"invitation of {number} refused: {r.prompt}")
            self._say_to_initiator([r.prompt])
            return
        m = Member(number, "participant", ref=f"{self.reference}/{len(self.members) + 1}")
        self.members.append(m)
        self._note(f"inviting {number}")
        self._say_to_initiator(["calling"])
        d = maybeDeferred(self.money.authorize, self.payer, self.reference, m.ref, number,
                          on_warning=self._credit_warning, on_exhausted=self._credit_exhausted)
        d.addCallbacks(lambda money: self._dial(m, money), lambda f: self._refused(m, f))

    def invite_booked(self, number: str) -> None:
        """A booked participant (web mode): dialled at once, as if the initiator keyed it."""
        self._invite(number)
        self._update_music()

    def _refused(self, m: Member, failure: Any) -> None:
        m.state = "failed"
        prompt = failure.value.prompt if isinstance(failure.value, Refusal) else "failed"
        self._note(f"invitation of {m.number} refused: {prompt} ({failure.getErrorMessage()})")
        self._say_to_initiator([prompt])

    def _dial(self, m: Member, money: LegMoney) -> None:
        m.money = money
        if self.ended:
            money.failed()
            m.state = "failed"
            return
        m.state = "dialing"
        try:
            m.leg = self.trunks.dial(m.number, self.caller_id,
                                     listener=lambda leg, ev: self._member_event(m, ev))
        except ValueError as e:
            money.failed()
            m.state = "failed"
            self._note(f"cannot dial {m.number}: {e}")
            self._say_to_initiator(["invalid_number"])
            return
        self.records.leg_started(self.reference, m.leg, m.ref, "participant")

    def _member_event(self, m: Member, ev: LegEvent) -> None:
        if ev.kind == "ringing" and m.state == "dialing":
            m.state = "ringing"
            self._say_to_initiator(["ringing"])
        elif ev.kind == "answered":
            self._joined(m)
        elif ev.kind == "failed":
            m.state, m.cause = "failed", ev.cause
            prompt = {Cause.USER_BUSY: "busy", Cause.NO_ANSWER: "no_answer",
                      Cause.NO_USER_RESPONSE: "no_answer",
                      Cause.CONGESTION: "no_channel"}.get(ev.cause or 0, "failed")
            self._note(f"{m.number} failed: cause {Cause.describe(ev.cause or 0)}")
            self._say_to_initiator([prompt])
        elif ev.kind == "hangup":
            self._left(m, ev.cause)
        elif ev.kind == "cleared":
            if m.state == "joined":
                self._left(m, m.leg.cause if m.leg else None)
            self._leg_done(m)
            self._maybe_close()

    def _joined(self, m: Member) -> None:
        if self.ended:
            m.leg.hangup(Cause.NORMAL_CLEARING)  # type: ignore[union-attr]
            return
        m.state = "joined"
        m.seat = next(self._seats)
        if m.money is not None:
            m.money.answered()
        assert m.leg is not None and m.leg.channo is not None
        self.media.join(m.leg.channo, self.conf)
        self.media.hear_music(m.leg.channo, self._music_on or self._background)
        self._note(f"{m.number} joined in seat {m.seat}")
        self._say_to_initiator(["joined", "seat", *self.say(m.seat)])

    def _left(self, m: Member, cause: int | None) -> None:
        if m.state != "joined":
            return
        m.state = "left"
        m.cause = cause
        if m.leg is not None and m.leg.channo is not None:
            self.media.leave(m.leg.channo)
        self._note(f"seat {m.seat} ({m.number}) left")
        if self.ended:
            return
        if any(x.state == "joined" for x in self.members):
            self._say_to_initiator(["participant_left", "seat", *self.say(m.seat or 0)])
        else:
            self._say_to_initiator(["last_participant_left"])

    def _leg_done(self, m: Member) -> None:
        leg = m.leg
        if leg is None or m.done:
            return
        m.done = True
        if leg.channo is not None:
            self.media.release(leg.channo)
        self.records.leg_ended(m.ref, leg)
        if m.money is not None:
            if leg.answered:
                m.money.ended(leg.seized_at, leg.answered_at, leg.ended_at)
            else:
                m.money.failed()

    def _drop(self, seat: int) -> None:
        m = next((x for x in self.members if x.seat == seat and x.state == "joined"), None)
        if m is None or m.leg is None:
            self._say_to_initiator(["no_such_seat"])
            return
        self._note(f"initiator drops seat {seat} ({m.number})")
        m.leg.hangup(Cause.NORMAL_CLEARING)
        self._left(m, Cause.NORMAL_CLEARING)

    def _cancelled(self, reason: str) -> None:
        if reason == "timeout" and self.keypad.setup:
            self._reprompts += 1
            if self._reprompts > self.config.reprompts:
                self._say_to_initiator(["goodbye"])
                self.end("nothing entered")
                return
            self._say_to_initiator(["enter_number"])
            return
        self._say_to_initiator(["cancelled"])

    def _start_entry(self) -> None:
        assert self.initiator_leg.channo is not None
        self.media.leave(self.initiator_leg.channo)
        self._say_to_initiator(["enter_more"])

    def _finish_inviting(self) -> None:
        assert self.initiator_leg.channo is not None
        self._note("inviting finished: the conversation starts")
        self.media.join(self.initiator_leg.channo, self.conf)
        n = sum(1 for m in self.members if m.state == "joined")
        self._say_to_initiator(["participants_count", *self.say(n)])

    def _update_music(self) -> None:
        """Waiting music while inviting; members hear the conference's music (waiting and/or
        background) through their ``hear_music`` flag, the initiator only the background."""
        want = self.keypad.inviting and not self.ended
        if want != self._music_on:
            self._music_on = want
            self.media.waiting_music(self.conf, self.config.waiting_music if want else None)
            if not want and self.initiator_leg.channo is not None:
                self.media.join(self.initiator_leg.channo, self.conf)
        self._music_flags()

    def _music_flags(self) -> None:
        for m in self.members:
            if m.state == "joined" and m.leg is not None and m.leg.channo is not None:
                self.media.hear_music(m.leg.channo, self._music_on or self._background)
        if self.initiator_leg.channo is not None and self.initiator_leg.active:
            self.media.hear_music(self.initiator_leg.channo, self._background)

    def _list(self) -> None:
        joined = [m for m in self.members if m.state == "joined"]
        sounds = ["participants_count", *self.say(len(joined))]
        for m in joined:
            sounds += ["seat", *self.say(m.seat or 0)]
        self._say_to_initiator(sounds)

    def _toggle_background(self) -> None:
        self._background = not self._background
        self.media.background_music(self.conf, self.config.background_music
                                    if self._background else None)
        self._music_flags()
        self._say_to_initiator(["music_on" if self._background else "music_off"])

    # -- credit -------------------------------------------------------------------------------
    def _credit_warning(self, leg_ref: str, seconds_left: int) -> None:
        self._note(f"credit warning for {leg_ref}: {seconds_left} s left")
        self._say_to_initiator(["credit_warning"])

    def _credit_exhausted(self, leg_ref: str) -> None:
        self._note(f"credit exhausted for {leg_ref}")
        if leg_ref == self.initiator.ref:
            self.end("credit exhausted")
            return
        m = next((x for x in self.members if x.ref == leg_ref), None)
        if m is not None and m.leg is not None and m.leg.active:
            self._say_to_initiator(["credit_exhausted"])
            m.leg.hangup(Cause.NORMAL_CLEARING)
            self._left(m, Cause.NORMAL_CLEARING)


def _same_number(a: str, b: str) -> bool:
    """Compare national significant numbers: '013800138000', '+8613800138000', '13800138000'."""
    def nsn(x: str) -> str:
        x = x.lstrip("+")
        if x.startswith("86") and len(x) > 11:
            x = x[2:]
        return x.lstrip("0")
    return bool(a) and bool(b) and nsn(a) == nsn(b)
