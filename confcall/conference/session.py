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
timeouts from the reactor), commands out (dial, hang up, play, join/leave the mix). This class
keeps the life cycle and the initiator's keys; each concern lives in its own part:

- ``members.Roster``: who is in, seats, admission rules;
- ``invites.Invitations``: hold credit, dial, follow each participant's call;
- ``music.ConferenceMusic``: waiting and background music;
- ``settlement.Settlement``: a cleared leg's record and money, the conference record.

Money goes through ``MoneyPort`` (credit per leg, rating at the end); records through
``RecordPort`` (``ports.py``). Nothing here blocks: every DB step returns a Deferred.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confcall.clock import cancel_pending
from confcall.dahdi.legs import CallLeg, Cause, LegEvent
from confcall.dsp.engine import DigitEvent
from confcall.ids import new_ref

from .context import ConferenceContext
from .invites import Invitations
from .keypad import (
    BadEntry,
    Cancel,
    Drop,
    FinishInviting,
    Invite,
    Keypad,
    ListMembers,
    StartEntry,
    ToggleMusic,
)
from .media import MediaService
from .members import Member, MemberState, Roster, same_number
from .music import ConferenceMusic
from .ports import LegMoney, MoneyPort, RecordPort, Refusal
from .settlement import Settlement
from .trunkgroup import TrunkGroup

__all__ = [
    "ConferenceSession",
    "LegMoney",
    "Member",
    "MemberState",
    "MoneyPort",
    "RecordPort",
    "Refusal",
    "SessionConfig",
    "same_number",
]



@dataclass(frozen=True)
class SessionConfig:
    max_participants: int = 8
    entry_timeout_s: float = 10.0
    finish_timeout_s: float = 6.0
    reprompts: int = 3
    waiting_music: str = "waiting_music"
    background_music: str = "background_music"


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
    on_end: Callable[[ConferenceSession], None] | None = None
    reference: str = ""

    def __post_init__(self) -> None:
        # box id + ULID: unique across boxes sharing a database and across restarts
        self.reference = self.reference or new_ref("conf")
        assert self.initiator_leg.channo is not None
        self.conf = self.media.conference_id(self.initiator_leg.channo)
        self.ctx = ConferenceContext(self.reactor, self.media, self.reference, self.payer,
                                     self.initiator_leg, self.conf, self.say,
                                     started_at=float(self.reactor.seconds()))
        self.initiator = Member(self.initiator_leg.number, "initiator", self.initiator_leg,
                                seat=1, state=MemberState.JOINED, money=self.initiator_money,
                                ref=self.initiator_ref or f"{self.reference}/0")
        self.roster = Roster(self.initiator)
        self.keypad = Keypad(entry_timeout_s=self.config.entry_timeout_s,
                             finish_timeout_s=self.config.finish_timeout_s)
        self.music = ConferenceMusic(self.ctx, self.roster,
                                     waiting=self.config.waiting_music,
                                     background=self.config.background_music)
        self.settlement = Settlement(self.ctx, self.roster, self.money, self.records,
                                     on_closed=self._closed)
        self.invitations = Invitations(
            self.ctx, self.roster, money=self.money, records=self.records, trunks=self.trunks,
            music=self.music, settlement=self.settlement, caller_id=self.caller_id,
            max_participants=self.config.max_participants,
            on_credit_warning=self._credit_warning, on_credit_exhausted=self._credit_exhausted)
        self._timer: Any = None
        self._reprompts = 0

    # -- what others read ----------------------------------------------------------------------
    @property
    def members(self) -> list[Member]:
        """The invited participants, in invitation order (the initiator is ``initiator``)."""
        return self.roster.members

    @property
    def started_at(self) -> float:
        return self.ctx.started_at

    @property
    def ended_at(self) -> float | None:
        return self.ctx.ended_at

    @property
    def ended(self) -> bool:
        return self.ctx.ended

    @property
    def log(self) -> list[tuple[float, str]]:
        return self.ctx.log

    # -- life cycle ---------------------------------------------------------------------------
    def start(self, welcome: tuple[str, ...] = ("welcome_callback", "enter_number"),
              booked: int = 0) -> None:
        """``booked``: that many booked participants are about to be dialled (web mode): the
        keypad waits as after keyed invitations (``*`` for more, ``#`` or a pause to talk)."""
        leg = self.initiator_leg
        leg.listener = self._initiator_event
        assert leg.channo is not None
        self.media.digit_listeners[leg.channo] = self._digit
        self.ctx.note(f"initiator {leg.number} answered on channel {leg.channo}")
        if booked:
            self.keypad.preset_invited(booked)
        self.ctx.tell(list(welcome))
        self._arm()

    def end(self, why: str) -> None:
        """Clear every leg: the initiator left, ran out of credit, or the box shuts down."""
        if self.ended:
            return
        self.ctx.ended_at = self.ctx.now()
        self.ctx.note(f"conference ends: {why}")
        self._disarm()
        for m in self.members:
            if m.leg is not None and m.leg.active:
                m.leg.hangup(Cause.NORMAL_CLEARING)
        if self.initiator_leg.active:
            self.initiator_leg.hangup(Cause.NORMAL_CLEARING)
        self.music.stop()
        self.settlement.maybe_close()

    def _closed(self) -> None:
        if self.on_end is not None:
            self.on_end(self)

    def invite_booked(self, number: str,
                      on_outcome: Callable[[str, int | None], None] | None = None) -> None:
        """A booked participant (web mode): dialled at once, as if the initiator keyed it.
        ``on_outcome(kind, cause)``: "answered", "failed" (with its cause) or "refused"."""
        self.invitations.invite(number, on_outcome=on_outcome)
        self.music.update(self.keypad.inviting)

    # -- the initiator --------------------------------------------------------------------------
    def _initiator_event(self, leg: CallLeg, ev: LegEvent) -> None:
        if ev.kind in ("hangup", "failed"):
            self.ctx.note(f"initiator hung up (cause {ev.cause})")
            self.end("initiator hung up")
        elif ev.kind == "cleared":
            self.settlement.leg_done(self.initiator)
            self.end("initiator leg cleared")
            # end() did nothing if the hang-up already ended the conference: the record is
            # closed once every leg has cleared, which may be only now
            self.settlement.maybe_close()

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
                self.invitations.invite(a.number)
            elif isinstance(a, Drop):
                self.invitations.drop(a.seat)
            elif isinstance(a, Cancel):
                self._cancelled(a.reason)
            elif isinstance(a, FinishInviting):
                self._finish_inviting()
            elif isinstance(a, StartEntry):
                self._start_entry()
            elif isinstance(a, ListMembers):
                self._list()
            elif isinstance(a, ToggleMusic):
                self.music.toggle_background()
            elif isinstance(a, BadEntry):
                self.ctx.tell(["invalid_number"])
        self.music.update(self.keypad.inviting)

    def _cancelled(self, reason: str) -> None:
        if reason == "timeout" and self.keypad.setup:
            self._reprompts += 1
            if self._reprompts > self.config.reprompts:
                self.ctx.tell(["goodbye"])
                self.end("nothing entered")
                return
            self.ctx.tell(["enter_number"])
            return
        self.ctx.tell(["cancelled"])

    def _start_entry(self) -> None:
        assert self.initiator_leg.channo is not None
        self.media.leave(self.initiator_leg.channo)
        self.ctx.tell(["enter_more"])

    def _finish_inviting(self) -> None:
        assert self.initiator_leg.channo is not None
        self.ctx.note("inviting finished: the conversation starts")
        self.media.join(self.initiator_leg.channo, self.conf)
        self.ctx.tell(["participants_count", *self.say(len(self.roster.joined()))])

    def _list(self) -> None:
        joined = self.roster.joined()
        sounds = ["participants_count", *self.say(len(joined))]
        for m in joined:
            sounds += ["seat", *self.say(m.seat or 0)]
        self.ctx.tell(sounds)

    # -- credit -------------------------------------------------------------------------------
    def _credit_warning(self, leg_ref: str, seconds_left: int) -> None:
        self.ctx.note(f"credit warning for {leg_ref}: {seconds_left} s left")
        self.ctx.tell(["credit_warning"])

    def _credit_exhausted(self, leg_ref: str) -> None:
        self.ctx.note(f"credit exhausted for {leg_ref}")
        if leg_ref == self.initiator.ref:
            self.end("credit exhausted")
            return
        self.invitations.cut(leg_ref)
