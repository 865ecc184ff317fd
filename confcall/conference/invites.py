"""Inviting participants: check the number, hold credit, dial, and follow the call until the
participant joins (a seat, the mix, the music) or fails (busy, no answer, ...), then leaves.

What the initiator hears at each step: "calling", "ringing", "joined, seat N", "busy",
"no answer", "participant left, seat N" / "the last participant left". A refused number is
told with its reason (``Refusal.prompt``) and never dialled.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import maybeDeferred

from confcall.dahdi.legs import Cause, LegEvent

from .context import ConferenceContext
from .members import Member, MemberState, Roster
from .music import ConferenceMusic
from .ports import LegMoney, MoneyPort, RecordPort, Refusal
from .settlement import Settlement
from .trunkgroup import TrunkGroup

__all__ = ["Invitations"]

FAILURE_PROMPTS = {Cause.USER_BUSY: "busy", Cause.NO_ANSWER: "no_answer",
                   Cause.NO_USER_RESPONSE: "no_answer", Cause.CONGESTION: "no_channel"}


class Invitations:
    def __init__(self, ctx: ConferenceContext, roster: Roster, *, money: MoneyPort,
                 records: RecordPort, trunks: TrunkGroup, music: ConferenceMusic,
                 settlement: Settlement, caller_id: str, max_participants: int,
                 on_credit_warning: Callable[[str, int], None],
                 on_credit_exhausted: Callable[[str], None]) -> None:
        self.ctx = ctx
        self.roster = roster
        self.money = money
        self.records = records
        self.trunks = trunks
        self.music = music
        self.settlement = settlement
        self.caller_id = caller_id
        self.max_participants = max_participants
        self.on_credit_warning = on_credit_warning
        self.on_credit_exhausted = on_credit_exhausted
        self._outcomes: dict[str, Callable[[str, int | None], None]] = {}

    def _outcome(self, m: Member, kind: str, cause: int | None) -> None:
        fn = self._outcomes.pop(m.ref, None)
        if fn is not None:
            fn(kind, cause)

    def invite(self, number: str,
               on_outcome: Callable[[str, int | None], None] | None = None) -> None:
        """Check, hold credit, dial. ``on_outcome(kind, cause)`` (booked participants): once,
        "answered", "failed" with the cause, or "refused" (never dialled)."""
        ctx = self.ctx
        try:
            self.roster.check(number, ctx.payer, max_participants=self.max_participants,
                              free_channels=self.trunks.free_channels())
        except Refusal as r:
            ctx.note(f"invitation of {number} refused: {r.prompt}")
            ctx.tell([r.prompt])
            if on_outcome is not None:
                on_outcome("refused", None)
            return
        m = self.roster.add(number, f"{ctx.reference}/{len(self.roster.members) + 1}")
        if on_outcome is not None:
            self._outcomes[m.ref] = on_outcome
        ctx.note(f"inviting {number}")
        ctx.tell(["calling"])
        d = maybeDeferred(self.money.authorize, ctx.payer, ctx.reference, m.ref, number,
                          on_warning=self.on_credit_warning,
                          on_exhausted=self.on_credit_exhausted)
        d.addCallbacks(lambda money: self._dial(m, money), lambda f: self._refused(m, f))

    def _refused(self, m: Member, failure: Any) -> None:
        m.state = MemberState.FAILED
        prompt = failure.value.prompt if isinstance(failure.value, Refusal) else "failed"
        self.ctx.note(f"invitation of {m.number} refused: {prompt} "
                      f"({failure.getErrorMessage()})")
        self.ctx.tell([prompt])
        self._outcome(m, "refused", None)

    def _dial(self, m: Member, money: LegMoney) -> None:
        ctx = self.ctx
        m.money = money
        if ctx.ended:
            money.failed()
            m.state = MemberState.FAILED
            self._outcome(m, "refused", None)
            return
        m.state = MemberState.DIALING
        try:
            m.leg = self.trunks.dial(m.number, self.caller_id,
                                     listener=lambda leg, ev: self._event(m, ev))
        except ValueError as e:
            money.failed()
            m.state = MemberState.FAILED
            ctx.note(f"cannot dial {m.number}: {e}")
            ctx.tell(["invalid_number"])
            self._outcome(m, "refused", None)
            return
        self.records.leg_started(ctx.reference, m.leg, m.ref, "participant")

    def _event(self, m: Member, ev: LegEvent) -> None:
        ctx = self.ctx
        if ev.kind == "ringing" and m.state is MemberState.DIALING:
            m.state = MemberState.RINGING
            ctx.tell(["ringing"])
        elif ev.kind == "answered":
            self._joined(m)
        elif ev.kind == "failed":
            m.state, m.cause = MemberState.FAILED, ev.cause
            ctx.note(f"{m.number} failed: cause {Cause.describe(ev.cause or 0)}")
            ctx.tell([FAILURE_PROMPTS.get(ev.cause or 0, "failed")])
            self._outcome(m, "failed", ev.cause)
        elif ev.kind == "hangup":
            self.left(m, ev.cause)
        elif ev.kind == "cleared":
            if m.state is MemberState.JOINED:
                self.left(m, m.leg.cause if m.leg else None)
            self.settlement.leg_done(m)
            self.settlement.maybe_close()

    def _joined(self, m: Member) -> None:
        ctx = self.ctx
        if ctx.ended:
            m.leg.hangup(Cause.NORMAL_CLEARING)  # type: ignore[union-attr]
            self._outcome(m, "answered", None)
            return
        m.state = MemberState.JOINED
        self._outcome(m, "answered", None)
        seat = self.roster.seat(m)
        if m.money is not None:
            m.money.answered()
        assert m.leg is not None and m.leg.channo is not None
        ctx.media.join(m.leg.channo, ctx.conf)
        ctx.media.hear_music(m.leg.channo, self.music.members_hear)
        ctx.note(f"{m.number} joined in seat {seat}")
        ctx.tell(["joined", "seat", *ctx.say(seat)])

    def left(self, m: Member, cause: int | None) -> None:
        """A joined member is gone from the mix (hung up, dropped, out of credit)."""
        ctx = self.ctx
        if m.state is not MemberState.JOINED:
            return
        m.state = MemberState.LEFT
        m.cause = cause
        if m.leg is not None and m.leg.channo is not None:
            ctx.media.leave(m.leg.channo)
        ctx.note(f"seat {m.seat} ({m.number}) left")
        if ctx.ended:
            return
        if self.roster.joined():
            ctx.tell(["participant_left", "seat", *ctx.say(m.seat or 0)])
        else:
            ctx.tell(["last_participant_left"])

    def drop(self, seat: int) -> None:
        """The initiator's ``** seat #``."""
        m = self.roster.in_seat(seat)
        if m is None or m.leg is None:
            self.ctx.tell(["no_such_seat"])
            return
        self.ctx.note(f"initiator drops seat {seat} ({m.number})")
        m.leg.hangup(Cause.NORMAL_CLEARING)
        self.left(m, Cause.NORMAL_CLEARING)

    def cut(self, leg_ref: str) -> None:
        """A participant's credit ran out: clear that leg only."""
        m = self.roster.by_ref(leg_ref)
        if m is not None and m.leg is not None and m.leg.active:
            self.ctx.tell(["credit_exhausted"])
            m.leg.hangup(Cause.NORMAL_CLEARING)
            self.left(m, Cause.NORMAL_CLEARING)
