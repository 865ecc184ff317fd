"""An MFC/R2 span (China No. 1 by default) as a ``Trunk`` of ``CallLeg``s, like ``PriTrunk``.

What it adds to ``R2Link`` (OpenR2): channel ownership (which leg holds which timeslot, which
timeslots the far end blocked or a fault took out of service), outbound channel selection from
the top of the span (the carrier seizes from the bottom) with double-seizure handling (both
sides back off; our call is placed again on another channel), the mapping of R2 signals to the
leg events and Q.850 causes call control already knows from PRI, the audio hand-over to the
media engine, and line faults (alarms clear every call with cause 38; a seizure that is never
acknowledged takes the channel out of service for a while; a call whose register signalling
stalls is cleared).

Rejecting without charge: on R2 a clear-back before answer carries the same bits as the
seize-acknowledge, so the caller's exchange cannot see it. A call is refused for free either
with a Group-B signal before it is accepted (mode a: ``reject = busy | unallocated``: nothing
can be announced) or by accepting it "subscriber free, no charge" (Group B), announcing, then
answering and clearing back (mode b: ``reject = no_charge``: free where the carrier honours the
no-charge signal). For call control this is the PRI flow: ``progress()`` opens the in-band path
(mode b: accept without charge; mode a: none, so ``has_media`` stays false and the rejector
clears at once), ``reject()`` clears; the leg is never reported answered.

Audio ownership: OpenR2 reads and writes a channel while it signals; when the compelled MF
exchange ends (the call is accepted, either direction) OpenR2 stops reading at once and the
channel goes to the media engine's batch at its next tick; when the call ends it comes back,
and OpenR2 reads it again only once the batch has let go (``BChannelBatch.owned_by_media``).
"""
from __future__ import annotations

import enum
import logging
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._shim import lib
from .legs import CallLeg, Cause, LegEvent, LegState, Presentation
from .r2 import CATEGORIES, VARIANTS, GroupB, R2Event, R2Kind, R2Link
from .span import Span

__all__ = ["AudioOwner", "ChanState", "R2Options", "R2Trunk", "RejectMode"]

log = logging.getLogger("confcall.r2")

_DIGITS = re.compile(r"^[0-9]{1,30}$")  # R2 register signals carry 0-9 only
_RELEASE_TIMEOUT_S = 40.0
_ANSWER_HOLD_S = 0.2  # the answer bits must persist before clear-back, or nobody sees them
_OUT_OF_SERVICE_S = 60.0  # a channel whose seizure was never acknowledged
_RELEASE_GUARD_S = 0.2  # a channel back to idle is not seized again before this (its far end
#                         may still be finishing its own release)

# OpenR2's reasons for a far-end disconnect, as the Q.850 causes PRI would report
_CAUSES = {
    lib.OR2_CAUSE_BUSY_NUMBER: Cause.USER_BUSY,
    lib.OR2_CAUSE_NETWORK_CONGESTION: Cause.CONGESTION,
    lib.OR2_CAUSE_UNALLOCATED_NUMBER: Cause.UNALLOCATED,
    lib.OR2_CAUSE_OUT_OF_ORDER: Cause.DESTINATION_OUT_OF_ORDER,
    lib.OR2_CAUSE_UNSPECIFIED: Cause.NORMAL_UNSPECIFIED,
    lib.OR2_CAUSE_NO_ANSWER: Cause.NO_ANSWER,
    lib.OR2_CAUSE_NORMAL_CLEARING: Cause.NORMAL_CLEARING,
    lib.OR2_CAUSE_COLLECT_CALL_REJECTED: Cause.CALL_REJECTED,
    lib.OR2_CAUSE_FORCED_RELEASE: Cause.NORMAL_CLEARING,
    lib.OR2_CAUSE_NUMBER_CHANGED: Cause.NUMBER_CHANGED,
}
_TIMEOUTS = {lib.OR2_BACK_MF_TIMEOUT, lib.OR2_SEIZE_TIMEOUT, lib.OR2_FWD_SAFETY_TIMEOUT,
             lib.OR2_ANSWER_TIMEOUT}


class RejectMode(enum.Enum):
    """How this trunk refuses an incoming call without charging the caller."""

    BUSY = "busy"                # (a) Group-B "busy": truly free, nothing announced
    UNALLOCATED = "unallocated"  # (a) Group-B "unallocated number"
    NO_CHARGE = "no_charge"      # (b) accept "free, no charge", announce, answer, clear

    @property
    def group_b(self) -> GroupB:
        return GroupB.UNALLOCATED if self is RejectMode.UNALLOCATED else GroupB.BUSY


class ChanState(enum.Enum):
    """One channel's call, as this trunk follows it (OpenR2 keeps the R2 detail)."""

    IDLE = "idle"
    SEIZED = "seized"          # incoming: the far end seized; its register is sending
    OFFERED = "offered"        # incoming: offered to call control, not yet accepted
    ACCEPTING = "accepting"    # incoming: our Group-B acceptance is on the line
    DIALING = "dialing"        # outgoing: seized; our register is sending
    ACCEPTED = "accepted"      # the MF exchange is over: an in-band path, not answered
    ANSWERED = "answered"
    RELEASING = "releasing"    # cleared; waiting for OpenR2 to report the channel idle

    @property
    def accepted(self) -> bool:
        return self in (ChanState.ACCEPTED, ChanState.ANSWERED)


class AudioOwner(enum.Enum):
    SIGNALLING = "signalling"  # OpenR2 reads (and during MF writes) the channel
    MEDIA = "media"            # the media engine's batch
    RETURNING = "returning"    # handed back; OpenR2 resumes once the batch let go


@dataclass(frozen=True)
class R2Options:
    variant: str = "CN"
    reject: RejectMode = RejectMode.BUSY
    category: str = "national_subscriber"
    max_ani: int = 20
    max_dnis: int = 20
    answer_timeout_s: float = 60.0   # an accepted outgoing call nobody answers: cause 19
    setup_timeout_s: float = 30.0    # register signalling that never completes
    numbers: tuple[str, ...] = ()    # our dialled numbers: DNIS collection stops at them

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"R2 variant {self.variant!r}; known: {', '.join(VARIANTS)}")
        if self.category not in CATEGORIES:
            raise ValueError(f"R2 category {self.category!r}; known: {', '.join(CATEGORIES)}")


@dataclass(eq=False)
class R2Channel:
    chanpos: int
    channo: int
    index: int  # in the R2Link
    fd: int
    row: int | None = None  # in the media batch
    leg: CallLeg | None = None
    state: ChanState = ChanState.IDLE
    blocked_far: bool = False
    blocked_here: bool = False
    alarm: bool = False
    out_of_service_until: float = 0.0
    idle_since: float = -1.0
    audio: AudioOwner = AudioOwner.SIGNALLING
    answer_pending: bool = False          # answer once the acceptance completes
    hangup_pending: int | None = None     # clear (with this cause) once it completes
    guard: Any = None
    timers: list[Any] = field(default_factory=list)


class R2Trunk:
    """Our side of one MFC/R2 span."""

    def __init__(self, span: Span, reactor: Any, *, options: R2Options = R2Options(),
                 name: str = "", on_incoming: Callable[[CallLeg], None] | None = None,
                 on_status: Callable[[str], None] | None = None) -> None:
        if not span.cas:
            raise ValueError(f"span {span.spanno}: no CAS channel open, cannot run MFC/R2")
        self.span = span
        self.reactor = reactor
        self.options = options
        self.name = name or f"r2_{span.spanno}"
        self.on_incoming = on_incoming
        self.on_status = on_status
        self.signalling = "r2"
        self.legs: dict[int, CallLeg] = {}
        self.alarmed = False
        self.status_log: deque[tuple[float, str]] = deque(maxlen=1000)
        self.batch: Any = None
        chans = [(ch, ch.params()) for ch in span.cas]
        self.chans = [R2Channel(p.chanpos, p.channo, i, ch.fileno())
                      for i, (ch, p) in enumerate(chans)]
        self.by_pos = {c.chanpos: c for c in self.chans}
        self.bchans = {c.chanpos: ch for c, (ch, _) in zip(self.chans, chans, strict=False)}
        self.link = R2Link([c.fd for c in self.chans], variant=options.variant,
                           reactor=reactor, on_event=self._on_event, max_ani=options.max_ani,
                           max_dnis=options.max_dnis, numbers=options.numbers,
                           timers_ms={"r2_answer": int(options.answer_timeout_s * 1000)},
                           name=self.name)

    # -- wiring --------------------------------------------------------------------------------
    def attach_media(self, batch: Any) -> None:
        """The media engine's batch (its rows for our channels start lent to signalling)."""
        self.batch = batch
        for ch in self.chans:
            ch.row = batch.row_of(ch.channo)

    def start_reading(self) -> None:
        """Production: the daemon runs ``service`` every 20 ms (nothing to register)."""

    def stop(self) -> None:
        for ch in self.chans:
            self._cancel(ch)
        self.link.stop()

    # -- state -----------------------------------------------------------------------------------
    @property
    def up(self) -> bool:
        return not self.alarmed

    def _now(self) -> float:
        return float(self.reactor.seconds())

    def _usable(self, ch: R2Channel) -> bool:
        return (ch.state is ChanState.IDLE and not ch.blocked_far and not ch.blocked_here
                and not ch.alarm and ch.audio is AudioOwner.SIGNALLING
                and ch.out_of_service_until <= self._now()
                and self._now() - ch.idle_since >= _RELEASE_GUARD_S)

    def free_channels(self) -> int:
        return sum(1 for ch in self.chans if self._usable(ch)) if self.up else 0

    def _report(self, text: str) -> None:
        self.status_log.append((self._now(), text))
        log.info("%s: %s", self.name, text)
        if self.on_status is not None:
            self.on_status(f"{self.name}: {text}")

    def status(self) -> dict[str, Any]:
        """What the NOC sees of this trunk (the control socket's span_status)."""
        return {"trunk": self.name, "signalling": "r2", "variant": self.options.variant,
                "reject": self.options.reject.value, "up": self.up, "alarm": self.alarmed,
                "free_channels": self.free_channels(),
                "blocked_by_far_end": sorted(c.chanpos for c in self.chans if c.blocked_far),
                "blocked_here": sorted(c.chanpos for c in self.chans if c.blocked_here),
                "out_of_service": sorted(c.chanpos for c in self.chans
                                         if c.out_of_service_until > self._now())}

    def service(self) -> None:
        for ch in self.chans:  # hand-backs the media engine has completed: OpenR2 reads again
            if ch.audio is AudioOwner.RETURNING and not self._media_owns(ch):
                ch.audio = AudioOwner.SIGNALLING
                self.link.set_reading(ch.index, True)
        self.link.service()

    # -- audio ------------------------------------------------------------------------------------
    def _media_owns(self, ch: R2Channel) -> bool:
        return self.batch is not None and ch.row is not None and \
            self.batch.owned_by_media(ch.row)

    def _to_media(self, ch: R2Channel) -> None:
        self.link.set_reading(ch.index, False)  # the glue already stopped it on accept
        if self.batch is not None and ch.row is not None:
            self.batch.hand_to_media(ch.row)
        ch.audio = AudioOwner.MEDIA

    def _to_signalling(self, ch: R2Channel) -> None:
        if ch.audio is AudioOwner.MEDIA:
            if self.batch is not None and ch.row is not None:
                self.batch.hand_to_signalling(ch.row)
            ch.audio = AudioOwner.RETURNING
        elif ch.audio is AudioOwner.SIGNALLING:
            self.link.set_reading(ch.index, True)

    # -- outbound ----------------------------------------------------------------------------------
    def dial(self, number: str, caller_id: str = "", *,
             listener: Callable[[CallLeg, LegEvent], None] | None = None) -> CallLeg:
        """Seize a channel and send the number (and our number, when the far end asks)."""
        if not _DIGITS.match(number):
            raise ValueError(f"cannot dial {number!r} on R2: 1 to 30 digits 0-9 expected")
        if caller_id and not _DIGITS.match(caller_id):
            raise ValueError(f"bad caller id {caller_id!r}: digits 0-9 only on R2")
        leg = CallLeg(self, "out", number, caller_id=caller_id, state=LegState.DIALING,
                      seized_at=self._now(), listener=listener)
        self.legs[leg.id] = leg
        self._setup(leg, retries=2)
        return leg

    def _setup(self, leg: CallLeg, retries: int) -> None:
        leg.retries = retries
        if not self.up:
            self.reactor.callLater(0, self._fail_local, leg, Cause.NETWORK_OUT_OF_ORDER)
            return
        for ch in sorted(self.chans, key=lambda c: -c.chanpos):
            if not self._usable(ch):
                continue
            rc = self.link.make_call(ch.index, leg.caller_id, leg.number, self.options.category)
            if rc != 0:  # the far end seized it meanwhile, or its bits are not idle
                continue
            self._bind(leg, ch, ChanState.DIALING)
            ch.guard = self.reactor.callLater(self.options.setup_timeout_s,
                                              self._setup_timed_out, ch, leg)
            return
        self.reactor.callLater(0, self._fail_local, leg, Cause.CONGESTION)

    def _bind(self, leg: CallLeg, ch: R2Channel, state: ChanState) -> None:
        ch.leg, ch.state = leg, state
        ch.answer_pending, ch.hangup_pending = False, None
        leg.handle = ch
        leg.chanpos, leg.channo = ch.chanpos, ch.channo
        self.legs[leg.id] = leg

    def _fail_local(self, leg: CallLeg, cause: int) -> None:
        self.legs.pop(leg.id, None)
        leg.mark_failed_locally(cause, self._now())

    def _setup_timed_out(self, ch: R2Channel, leg: CallLeg) -> None:
        ch.guard = None
        if ch.leg is not leg or ch.state is not ChanState.DIALING or not leg.active:
            return
        self._report(f"B{ch.chanpos}: call to {leg.number}: register signalling did not "
                     f"complete in {self.options.setup_timeout_s:.0f} s: cleared")
        self._far_end_cleared(leg, Cause.RECOVERY_ON_TIMER_EXPIRE)
        leg.state = LegState.CLEARING
        ch.state = ChanState.RELEASING
        self.link.disconnect(ch.index)
        self._guard_release(ch, leg)

    # -- leg actions -------------------------------------------------------------------------------
    def leg_proceeding(self, leg: CallLeg) -> None:
        if leg.active and leg.state is LegState.OFFERED:
            leg.state = LegState.PROCEEDING

    def leg_progress(self, leg: CallLeg, inband: bool) -> None:
        """Open an in-band path before answer. On R2 that is "accept, subscriber free, no
        charge" (Group B); a trunk set to reject with a Group-B signal (mode a) opens none."""
        ch = leg.handle
        if (not leg.active or ch is None or ch.state is not ChanState.OFFERED or not inband
                or self.options.reject is not RejectMode.NO_CHARGE):
            return
        if self.link.accept(ch.index, charge=False) == 0:
            ch.state = ChanState.ACCEPTING
            leg.state = LegState.EARLY_MEDIA

    def leg_answer(self, leg: CallLeg) -> None:
        ch = leg.handle
        if not leg.active or ch is None or leg.direction != "in":
            raise RuntimeError(f"leg {leg.id} cannot be answered in state {leg.state.value}")
        if ch.state is ChanState.ACCEPTED:
            if self.link.answer(ch.index) == 0:
                ch.state = ChanState.ANSWERED
                self._answered(leg)
            return
        ch.answer_pending = True
        if ch.state is ChanState.OFFERED and self.link.accept(ch.index, charge=True) == 0:
            ch.state = ChanState.ACCEPTING

    def leg_hangup(self, leg: CallLeg, cause: int) -> None:
        if not leg.active:
            return
        leg.mark_clearing(cause, self._now())
        ch = leg.handle
        if ch is None:
            self._cleared(leg)
            return
        self._cancel(ch)
        was, ch.state = ch.state, ChanState.RELEASING
        if leg.direction == "out" or was is ChanState.ANSWERED:
            self.link.disconnect(ch.index)  # clear-forward / clear-back
        elif was is ChanState.ACCEPTED:  # accepted without charge: answer, then clear back
            self.link.answer(ch.index)
            ch.timers.append(self.reactor.callLater(_ANSWER_HOLD_S, self._clear_back, ch))
        elif was is ChanState.ACCEPTING:
            ch.state, ch.hangup_pending = was, int(cause)  # finish accepting first
        else:  # OFFERED: refused with a Group-B signal
            self.link.disconnect(ch.index, self._group_b(int(cause)))
        self._guard_release(ch, leg)

    def _clear_back(self, ch: R2Channel) -> None:
        if ch.leg is not None and ch.state is ChanState.RELEASING:
            self.link.disconnect(ch.index)

    def _group_b(self, cause: int) -> GroupB:
        if cause == Cause.UNALLOCATED:
            return GroupB.UNALLOCATED
        if cause in (Cause.CONGESTION, Cause.SWITCH_CONGESTION, Cause.REQUESTED_CHAN_UNAVAIL,
                     Cause.TEMPORARY_FAILURE):
            return GroupB.CONGESTION
        if cause in (Cause.DESTINATION_OUT_OF_ORDER, Cause.NETWORK_OUT_OF_ORDER):
            return GroupB.OUT_OF_ORDER
        if cause == Cause.USER_BUSY:
            return GroupB.BUSY
        return self.options.reject.group_b  # the rejection: 16 / 21 on the access number

    def _guard_release(self, ch: R2Channel, leg: CallLeg) -> None:
        if ch.guard is not None and ch.guard.active():
            ch.guard.cancel()
        ch.guard = self.reactor.callLater(_RELEASE_TIMEOUT_S, self._force_clear, ch, leg)

    def _force_clear(self, ch: R2Channel, leg: CallLeg) -> None:
        """The far end never completed the release: idle the channel ourselves."""
        ch.guard = None
        if ch.leg is leg and leg.state is not LegState.CLEARED:
            self._report(f"B{ch.chanpos}: release never completed, channel reset to idle")
            self.link.set_idle(ch.index)
            self._channel_idle(ch)

    # -- bookkeeping -------------------------------------------------------------------------------
    def _cancel(self, ch: R2Channel) -> None:
        if ch.guard is not None and ch.guard.active():
            ch.guard.cancel()
        ch.guard = None
        for t in ch.timers:
            if t.active():
                t.cancel()
        ch.timers.clear()

    def _cleared(self, leg: CallLeg) -> None:
        self.legs.pop(leg.id, None)
        leg.mark_cleared(self._now())

    def _answered(self, leg: CallLeg) -> None:
        leg.mark_answered(self._now())

    def _far_end_cleared(self, leg: CallLeg, cause: int) -> None:
        leg.mark_far_end_cleared(cause, self._now())

    def _channel_idle(self, ch: R2Channel) -> None:
        """OpenR2 has the channel idle again: the call (if any) is over, the audio comes back."""
        self._cancel(ch)
        ch.idle_since = self._now()
        leg, ch.leg, ch.state = ch.leg, None, ChanState.IDLE
        ch.answer_pending, ch.hangup_pending = False, None
        self._to_signalling(ch)
        if leg is not None:
            self._cleared(leg)

    # -- OpenR2 events -----------------------------------------------------------------------------
    def _on_event(self, ev: R2Event) -> None:
        ch = self.chans[ev.chan]
        k = ev.kind
        if k is R2Kind.CALL_INIT:
            ch.state = ChanState.SEIZED
            ch.guard = self.reactor.callLater(self.options.setup_timeout_s,
                                              self._seizure_timed_out, ch)
        elif k is R2Kind.CALL_OFFERED:
            self._offered(ch, ev)
        elif k is R2Kind.CALL_ACCEPTED:
            self._accepted(ch)
        elif k is R2Kind.CALL_ANSWERED:
            if ch.state is ChanState.ACCEPTED:
                ch.state = ChanState.ANSWERED
            if ch.leg is not None and not ch.leg.answered:
                self._answered(ch.leg)
        elif k is R2Kind.CALL_DISCONNECT:
            self._disconnected(ch, ev.arg)
        elif k is R2Kind.CALL_END:
            self._channel_idle(ch)
        elif k is R2Kind.PROTOCOL_ERROR:
            self._protocol_error(ch, ev)
        elif k is R2Kind.HW_ALARM:
            self._alarm(ch, bool(ev.arg))
        elif k is R2Kind.LINE_BLOCKED:
            if not ch.blocked_far:
                ch.blocked_far = True
                self._report(f"B{ch.chanpos} blocked by the far end")
        elif k is R2Kind.LINE_IDLE:
            if ch.blocked_far:
                ch.blocked_far = False
                self._report(f"B{ch.chanpos} unblocked by the far end")
        elif k is R2Kind.OS_ERROR:
            self._report(f"B{ch.chanpos}: device error {ev.arg}")

    def _seizure_timed_out(self, ch: R2Channel) -> None:
        ch.guard = None
        if ch.state is ChanState.SEIZED:
            self._report(f"B{ch.chanpos}: seized by the far end but no digits in "
                         f"{self.options.setup_timeout_s:.0f} s: channel reset to idle")
            self.link.set_idle(ch.index)
            self._channel_idle(ch)

    def _offered(self, ch: R2Channel, ev: R2Event) -> None:
        self._cancel(ch)
        pres = (Presentation.ALLOWED if ev.ani else Presentation.RESTRICTED if ev.restricted
                else Presentation.UNAVAILABLE)
        leg = CallLeg(self, "in", ev.ani, dnis=ev.dnis, presentation=pres,
                      seized_at=self._now())
        self._bind(leg, ch, ChanState.OFFERED)
        ch.guard = self.reactor.callLater(self.options.setup_timeout_s,
                                          self._undecided_timed_out, ch, leg)
        if self.on_incoming is None:
            leg.reject(Cause.CALL_REJECTED)
            return
        self.on_incoming(leg)

    def _undecided_timed_out(self, ch: R2Channel, leg: CallLeg) -> None:
        """Call control neither accepted nor refused an offered call in time."""
        ch.guard = None
        if ch.leg is leg and leg.active and ch.state is ChanState.OFFERED:
            self._report(f"B{ch.chanpos}: call from {leg.ani or 'withheld'} undecided: refused")
            leg.reject(Cause.TEMPORARY_FAILURE)

    def _accepted(self, ch: R2Channel) -> None:
        if ch.state in (ChanState.DIALING, ChanState.ACCEPTING):
            ch.state = ChanState.ACCEPTED
        if ch.guard is not None and ch.guard.active() and ch.leg is not None \
                and ch.leg.direction == "out":
            ch.guard.cancel()
            ch.guard = None
        self._to_media(ch)
        leg = ch.leg
        if leg is None:
            return
        now = self._now()
        if leg.direction == "out":
            leg.state = LegState.RINGING
            leg._emit("proceeding", now)
            leg._emit("ringing", now)
        if not leg.has_media:
            leg.has_media = True
            leg._emit("media", now)
        if ch.hangup_pending is not None:
            cause, ch.hangup_pending = ch.hangup_pending, None
            leg.state = LegState.EARLY_MEDIA
            self.leg_hangup(leg, cause)
        elif ch.answer_pending:
            ch.answer_pending = False
            if self.link.answer(ch.index) == 0:
                ch.state = ChanState.ANSWERED
                self._answered(leg)

    def _disconnected(self, ch: R2Channel, r2cause: int) -> None:
        """The far end cleared (or refused with a Group-B/A signal); we complete the release."""
        leg = ch.leg
        cause = _CAUSES.get(r2cause, Cause.NORMAL_UNSPECIFIED)
        if ch.state is ChanState.DIALING and leg is not None \
                and r2cause == lib.OR2_CAUSE_FORCED_RELEASE and leg.retries > 0:
            self._double_seizure(ch, leg)
            return
        if leg is not None:
            self._far_end_cleared(leg, cause)
            leg.state = LegState.CLEARING
        ch.state = ChanState.RELEASING
        self._cancel(ch)
        self.link.disconnect(ch.index)
        if leg is not None and leg.state is not LegState.CLEARED and ch.leg is leg:
            self._guard_release(ch, leg)

    def _double_seizure(self, ch: R2Channel, leg: CallLeg) -> None:
        """Our seizure met theirs on one channel: both back off; ours goes elsewhere."""
        self._cancel(ch)
        ch.leg, ch.state = None, ChanState.RELEASING  # held until OpenR2 idles it
        self.legs.pop(leg.id, None)
        leg.handle = None
        self.link.disconnect(ch.index)
        self._report(f"double seizure on B{ch.chanpos}: call to {leg.number} placed again on "
                     f"another channel")
        leg._emit("retry", self._now(), Cause.REQUESTED_CHAN_UNAVAIL)
        self._setup(leg, leg.retries - 1)

    def _protocol_error(self, ch: R2Channel, ev: R2Event) -> None:
        """OpenR2 gave up on the channel's signalling and idled it."""
        leg = ch.leg
        err = ev.arg
        self._report(f"B{ch.chanpos}: {ev.describe()}")
        if err == lib.OR2_SEIZE_TIMEOUT:
            ch.out_of_service_until = self._now() + _OUT_OF_SERVICE_S
            self._report(f"B{ch.chanpos}: seizure never acknowledged: out of service for "
                         f"{_OUT_OF_SERVICE_S:.0f} s")
            if leg is not None and leg.direction == "out" and leg.retries > 0 and leg.active:
                self._cancel(ch)
                ch.leg = None
                self.legs.pop(leg.id, None)
                leg.handle = None
                self._channel_idle(ch)
                leg._emit("retry", self._now(), Cause.TEMPORARY_FAILURE)
                self._setup(leg, leg.retries - 1)
                return
        if leg is not None:
            cause = (Cause.TEMPORARY_FAILURE if err == lib.OR2_SEIZE_TIMEOUT
                     else Cause.RECOVERY_ON_TIMER_EXPIRE if err in _TIMEOUTS
                     else Cause.PROTOCOL_ERROR)
            self._far_end_cleared(leg, cause)
        self._channel_idle(ch)

    # -- line faults -------------------------------------------------------------------------------
    def _alarm(self, ch: R2Channel, raised: bool) -> None:
        ch.alarm = raised
        if raised and not self.alarmed:
            self.alarmed = True
            st = self.span.status()
            self._report(f"span alarm {'/'.join(st.alarm_names) or '?'}")
            self._clear_all(Cause.NETWORK_OUT_OF_ORDER, "span alarm")
        elif not raised and self.alarmed and not any(c.alarm for c in self.chans):
            self.alarmed = False
            self._report("span alarm cleared")
            for c in self.chans:
                self.link.handle_cas(c.index)  # the far end may be blocked or seizing

    def _clear_all(self, cause: int, why: str) -> None:
        busy = [c for c in self.chans if c.state is not ChanState.IDLE]
        legs = [c.leg for c in busy if c.leg is not None and c.leg.active]
        if legs:
            self._report(f"{why}: clearing {len(legs)} call(s) with cause {cause} "
                         f"({Cause.describe(cause)})")
        for ch in busy:
            if ch.leg is not None:
                self._far_end_cleared(ch.leg, cause)
            self.link.set_idle(ch.index)
            self._channel_idle(ch)

    # -- maintenance -------------------------------------------------------------------------------
    def block(self, chanpos: int) -> None:
        """Take an idle channel out of service towards the far end (blocking signal)."""
        ch = self.by_pos[chanpos]
        if ch.state is not ChanState.IDLE:
            raise RuntimeError(f"B{chanpos} carries a call: block it when idle")
        self.link.set_blocked(ch.index)
        ch.blocked_here = True
        self._report(f"B{chanpos} blocked here")

    def unblock(self, chanpos: int) -> None:
        ch = self.by_pos[chanpos]
        if ch.blocked_here:
            self.link.set_idle(ch.index)
            self.link.handle_cas(ch.index)
            ch.blocked_here = False
            self._report(f"B{chanpos} unblocked here")
