"""An ISDN PRI span (CPE side, towards the carrier) as a ``Trunk`` of ``CallLeg``s.

What it adds to ``PriLink``: B-channel ownership (which leg holds which timeslot), outbound
channel selection from the top of the span (the network picks from the bottom, so glare is rare)
with glare handling (the network's SETUP wins; our call is retried on another channel), the
mapping of libpri events to leg events, and line faults: a DAHDI alarm (RED, the line is
gone) clears every call at once with cause 38 and reports it; a D-channel going down with the
line up (a Q.921 reset: SABME, FRMR, an N(R) error) keeps the answered calls, as exchanges do,
and libpri clears them with cause 27 only if the link is not back within T309; when the link
returns, the channels that were in use are RESTARTed so both sides agree they are idle.
"""
from __future__ import annotations

import logging
from collections import deque
import re
from typing import Any, Callable

from ._shim import ffi, lib
from .constants import Event, Law
from .legs import CallLeg, Cause, LegEvent, LegState, Presentation
from .pri import PriEvent, PriLink, cause_text
from .span import Span

__all__ = ["PriTrunk"]

log = logging.getLogger("confcall.pri")

_DIGITS = re.compile(r"^[0-9*#]{1,31}$")
_RELEASE_GUARD_S = 40.0  # libpri's own T305+T308 are shorter; this only catches a lost link
_RESTART_WAIT_S = 10.0  # start-up RESTARTs unacknowledged this long: take calls anyway
# Answered calls outlive a D-channel that went down: libpri first tries to re-establish Q.921
# for REESTABLISH_S after it reports the link down (N200 + 1 SABMEs, T200 apart: 4 x 1 s with
# its defaults), and only then starts T309 ([pri] t309_ms,
# T309_MIN_MS..T309_MAX_MS; libpri's default T309_DEFAULT_MS, ITU-T Q.931 suggests 90 s);
# when that runs out too it clears them with cause 27. So with the defaults the calls end
# T309_S after the link was reported down.
REESTABLISH_S = 4.0
T309_DEFAULT_MS = 6_000
T309_MIN_MS = 1_000  # shorter would clear calls on a link blip the exchange rides out
T309_MAX_MS = 300_000  # longer keeps a dead call's credit hold and channel for minutes
T309_S = REESTABLISH_S + T309_DEFAULT_MS / 1000


def _key(call: Any) -> int:
    return int(ffi.cast("uintptr_t", call))


class PriTrunk:
    """Our side of one PRI span."""

    def __init__(self, span: Span, reactor: Any, *, switchtype: str, name: str = "",
                 on_incoming: Callable[[CallLeg], None] | None = None,
                 on_status: Callable[[str], None] | None = None,
                 network: bool = False, t309_ms: int | None = None) -> None:
        """``network``: run the network side of Q.921/Q.931 (span config ``pri_net``: we
        are the exchange, e.g. towards a PBX); the default is the CPE side. ``t309_ms``:
        how long answered calls outlive a D-channel that went down (``[pri] t309_ms``;
        None: libpri's default, ``T309_S``)."""
        if t309_ms is not None and not T309_MIN_MS <= t309_ms <= T309_MAX_MS:
            raise ValueError(f"t309_ms: {t309_ms} is outside {T309_MIN_MS}..{T309_MAX_MS}")
        if span.dchannel is None:
            raise ValueError(f"span {span.spanno}: no D-channel open, cannot run PRI on it")
        self.span = span
        self.reactor = reactor
        self.name = name or f"pri{span.spanno}"
        self.on_incoming = on_incoming
        self.on_status = on_status
        self.bchans = {ch.params().chanpos: ch for ch in span.bchannels}
        self.law = Law(span.bchannels[0].params().curlaw) if span.bchannels else Law.ALAW
        self.owner: dict[int, CallLeg] = {}
        self.legs: dict[int, CallLeg] = {}
        self.alarmed = False
        self.status_log: deque[tuple[float, str]] = deque(maxlen=1000)
        self._restart_when_up: set[int] = set()
        self.out_of_service: dict[int, str] = {}  # chanpos -> why (its media channel failed)
        self._ever_up = False  # the first DCHAN_UP restarts every idle channel
        self._restarting: set[int] = set()  # start-up RESTARTs not acknowledged yet
        self._refused: dict[int, frozenset[int]] = {}  # leg id -> channels refused (cause 44)
        self._guards: dict[int, Any] = {}
        self.link = PriLink(span.dchannel.fileno(), network=network, switchtype=switchtype,
                            reactor=reactor, on_event=self._on_event,
                            on_fd_event=self._on_dahdi_event, name=self.name,
                            timers=None if t309_ms is None else {"T309": t309_ms})
        self.t309_s = self.link.timer("T309") / 1000.0  # as libpri has it
        self.reestablish_s = self.link.timer("T200") * (self.link.timer("N200") + 1) / 1000.0

    # -- state ------------------------------------------------------------------------------------
    @property
    def up(self) -> bool:
        """Able to take and place calls: link up, no alarm, start-up RESTARTs acknowledged
        (a call placed on a channel whose RESTART is still on its way would be cleared by
        it at the exchange)."""
        return self.link.up and not self.alarmed and not self._restarting

    def free_channels(self) -> int:
        if not self.up:
            return 0
        return sum(1 for c in self.bchans if c not in self.owner and c not in self.out_of_service)

    def take_out_of_service(self, channo: int, why: str) -> None:
        """The media side lost this channel (ENODEV …): no new call is placed on it, and a
        SETUP for it is refused with cause 44."""
        for chanpos, ch in self.bchans.items():
            if ch.channo == channo and chanpos not in self.out_of_service:
                self.out_of_service[chanpos] = why
                self._report(f"B{chanpos} (channel {channo}) out of service: {why}")

    def status(self) -> dict[str, Any]:
        """What the NOC sees of this trunk (the control socket's span_status)."""
        return {"trunk": self.name, "signalling": "pri", "d_channel_up": self.link.up,
                "alarm": self.alarmed, "free_channels": self.free_channels(),
                "out_of_service": sorted(self.out_of_service)}

    def _now(self) -> float:
        return float(self.reactor.seconds())

    def _report(self, text: str) -> None:
        self.status_log.append((self._now(), text))
        log.info("%s: %s", self.name, text)
        if self.on_status is not None:
            self.on_status(f"{self.name}: {text}")

    def service(self) -> None:
        self.link.service()

    # -- outbound ---------------------------------------------------------------------------------
    def dial(self, number: str, caller_id: str = "", *,
             listener: Callable[[CallLeg, LegEvent], None] | None = None) -> CallLeg:
        """Place a call. The result arrives as leg events (failed with cause 34 when full)."""
        if not _DIGITS.match(number):
            raise ValueError(f"cannot dial {number!r}: 1 to 31 digits (0-9, * and #) expected")
        if caller_id and not _DIGITS.match(caller_id):
            raise ValueError(f"bad caller id {caller_id!r}: digits only")
        leg = CallLeg(self, "out", number, caller_id=caller_id, state=LegState.DIALING,
                      seized_at=self._now(), listener=listener)
        self._setup(leg, retries=2)
        return leg

    def _pick_channel(self, avoid: frozenset[int] = frozenset()) -> int | None:
        """The highest free channel (the network picks from the bottom), not one in
        ``avoid`` (channels the far end has just refused this call)."""
        for chanpos in sorted(self.bchans, reverse=True):
            if (chanpos not in self.owner and chanpos not in self.out_of_service
                    and chanpos not in avoid):
                return chanpos
        return None

    def _setup(self, leg: CallLeg, retries: int) -> None:
        avoid = self._refused.get(leg.id, frozenset())
        chanpos = self._pick_channel(avoid) if self.up else None
        if chanpos is None:
            cause = Cause.CONGESTION if self.up else Cause.NETWORK_OUT_OF_ORDER
            self.reactor.callLater(0, self._fail_local, leg, cause)
            return
        leg.retries = retries
        call = self.link.call(lib.pri_new_call)
        if call == ffi.NULL:
            self.reactor.callLater(0, self._fail_local, leg, Cause.TEMPORARY_FAILURE)
            return
        self._bind(leg, chanpos, call)
        rc = self.link.setup(call, chanpos, self.law == Law.ALAW, leg.number, leg.caller_id)
        if rc != 0:
            self._unbind(leg)
            self.reactor.callLater(0, self._fail_local, leg, Cause.TEMPORARY_FAILURE)

    def _fail_local(self, leg: CallLeg, cause: int) -> None:
        self._refused.pop(leg.id, None)
        leg.mark_failed_locally(cause, self._now())

    # -- leg actions ------------------------------------------------------------------------------
    def leg_proceeding(self, leg: CallLeg) -> None:
        if leg.active and leg.handle is not None:
            self.link.call(lib.pri_proceeding, leg.handle, leg.chanpos, 0)
            leg.state = LegState.PROCEEDING

    def leg_progress(self, leg: CallLeg, inband: bool) -> None:
        if leg.active and leg.handle is not None:
            self.link.call(lib.pri_progress, leg.handle, leg.chanpos, 1 if inband else 0)
            leg.state = LegState.EARLY_MEDIA
            if inband and not leg.has_media:
                leg.has_media = True
                leg._emit("media", self._now())

    def leg_answer(self, leg: CallLeg) -> None:
        if not leg.active or leg.handle is None or leg.direction != "in":
            raise RuntimeError(f"leg {leg.id} cannot be answered in state {leg.state.value}")
        self.link.call(lib.pri_answer, leg.handle, leg.chanpos, 0)
        self._answered(leg)

    def leg_hangup(self, leg: CallLeg, cause: int) -> None:
        if not leg.active:
            return
        leg.mark_clearing(cause, self._now())
        if leg.handle is None:
            self._cleared(leg)
            return
        self.link.call(lib.pri_hangup, leg.handle, int(cause))
        self._guards[leg.id] = self.reactor.callLater(_RELEASE_GUARD_S, self._force_clear, leg)

    def _force_clear(self, leg: CallLeg) -> None:
        """The far end never completed the release (link lost): free the channel ourselves."""
        self._guards.pop(leg.id, None)
        if leg.state is not LegState.CLEARED:
            self._report(f"leg {leg.id} on B{leg.chanpos}: release never completed, forced")
            if leg.handle is not None:
                self.link.call(lib.pri_destroycall, leg.handle)
            self._restart_when_up.add(leg.chanpos or 0)
            self._cleared(leg)

    # -- bookkeeping ------------------------------------------------------------------------------
    def _bind(self, leg: CallLeg, chanpos: int, call: Any) -> None:
        leg.handle = call
        leg.chanpos = chanpos
        leg.channo = self.bchans[chanpos].channo
        self.owner[chanpos] = leg
        self.legs[_key(call)] = leg

    def _unbind(self, leg: CallLeg) -> None:
        if leg.handle is not None:
            self.legs.pop(_key(leg.handle), None)
        if leg.chanpos is not None and self.owner.get(leg.chanpos) is leg:
            del self.owner[leg.chanpos]

    def _cleared(self, leg: CallLeg) -> None:
        self._refused.pop(leg.id, None)
        guard = self._guards.pop(leg.id, None)
        if guard is not None and guard.active():
            guard.cancel()
        self._unbind(leg)
        leg.mark_cleared(self._now())

    def _answered(self, leg: CallLeg) -> None:
        leg.mark_answered(self._now())

    def _far_end_cleared(self, leg: CallLeg, cause: int) -> None:
        """DISCONNECT/RELEASE from the network: report once, then release our side."""
        leg.mark_far_end_cleared(cause, self._now())

    # -- libpri events ----------------------------------------------------------------------------
    def _on_event(self, ev: PriEvent) -> None:
        k = ev.kind
        if k == lib.PRI_EVENT_DCHAN_UP:
            kept = self._answered_count()
            self._report("D-channel up" + (f": {kept} answered call(s) carried through"
                                           if kept else ""))
            if not self._ever_up:
                self._ever_up = True
                self._restart_idle_channels()
            else:
                for chanpos in sorted(self._restart_when_up):
                    if chanpos in self.bchans and chanpos not in self.owner:
                        self.link.call(lib.pri_reset, chanpos)
            self._restart_when_up.clear()
            return
        if k == lib.PRI_EVENT_DCHAN_DOWN:
            self._report("D-channel down")
            # Q.931 5.8.9 / T309: answered calls are kept (their B-channels carry on) and
            # cleared by libpri with cause 27 only if the link is not back within T309; calls
            # still being set up cannot complete and are cleared now
            self._clear_all(Cause.NETWORK_OUT_OF_ORDER, "D-channel down", keep_answered=True)
            kept = self._answered_count()
            if kept:
                self._report(f"{kept} answered call(s) kept while the link re-establishes "
                             f"(cleared with cause 27 if it is not back within "
                             f"{self.reestablish_s + self.t309_s:g} s: T309 {self.t309_s:g} s "
                             f"after {self.reestablish_s:g} s of re-establishment)")
            return
        if k == lib.PRI_EVENT_RING:
            self._incoming(ev)
            return
        if k in (lib.PRI_EVENT_RESTART, lib.PRI_EVENT_RESTART_ACK):
            if k == lib.PRI_EVENT_RESTART:
                self._restarted_by_network(ev.channel)
            elif self._restarting:
                self._restarting.discard(ev.channel)
                if not self._restarting:
                    self._report("start-up RESTARTs acknowledged: taking calls")
            return
        leg = self.legs.get(_key(ev.call)) if ev.call is not None else None
        if leg is None:
            if k not in (lib.PRI_EVENT_HANGUP_ACK, lib.PRI_EVENT_CONFIG_ERR):
                log.debug("%s: %s for a call we do not hold", self.name, ev.name)
            if k == lib.PRI_EVENT_CONFIG_ERR:
                self._report(f"libpri configuration error: {ev.text}")
            return
        self._leg_event(leg, ev)

    def _leg_event(self, leg: CallLeg, ev: PriEvent) -> None:
        k, now = ev.kind, self._now()
        if k == lib.PRI_EVENT_PROCEEDING:
            leg.state = LegState.PROCEEDING if leg.state is LegState.DIALING else leg.state
            leg._emit("proceeding", now)
            self._media_if_inband(leg, ev)
        elif k == lib.PRI_EVENT_PROGRESS:
            leg._emit("progress", now)
            self._media_if_inband(leg, ev)
        elif k == lib.PRI_EVENT_RINGING:
            leg.state = LegState.RINGING
            leg._emit("ringing", now)
            self._media_if_inband(leg, ev)
        elif k == lib.PRI_EVENT_ANSWER:
            self._answered(leg)
        elif k == lib.PRI_EVENT_HANGUP_REQ:
            if self._retry_after_glare(leg, ev.cause):
                return
            self._far_end_cleared(leg, ev.cause)
            leg.state = LegState.CLEARING
            self.link.call(lib.pri_hangup, leg.handle, ev.cause)
        elif k == lib.PRI_EVENT_HANGUP:
            if self._retry_after_glare(leg, ev.cause):
                return
            if not self.link.up and ev.cause == Cause.DESTINATION_OUT_OF_ORDER:
                self._t309_ran_out(leg)
                return
            self._far_end_cleared(leg, ev.cause)
            self.link.call(lib.pri_hangup, leg.handle, ev.cause)
            self._cleared(leg)
        elif k == lib.PRI_EVENT_HANGUP_ACK:
            self._cleared(leg)

    def _t309_ran_out(self, first: CallLeg) -> None:
        """libpri's T309 ran out with the D-channel still down (cause 27). It was started for
        every answered call when the link went down, so they all end now: each leg carries
        cause 27 before any event goes out (a conference whose initiator's leg ends first
        hangs its participants up, and their records must still say 27, not 16)."""
        legs = [first] + [leg for leg in self.legs.values()
                          if leg is not first and leg.state is LegState.ANSWERED]
        cause, now = Cause.DESTINATION_OUT_OF_ORDER, self._now()
        for leg in legs:
            if leg.active:
                leg.cause = cause
                leg.ended_at = now
        self._report(f"D-channel not back within T309 ({self.t309_s:g} s): {len(legs)} "
                     f"answered call(s) cleared with cause {cause} ({cause_text(cause)})")
        for leg in legs:
            if leg.state is LegState.CLEARED:
                continue
            self._far_end_cleared(leg, cause)
            if leg.handle is not None:  # libpri releases it at the exchange when the link is back
                self.link.call(lib.pri_hangup, leg.handle, cause)
            self._cleared(leg)

    def _restarted_by_network(self, channel: int) -> None:
        """RESTART from the network: for one B-channel, or (channel -1: the restart indicator
        'all interfaces' / 'single interface') for every channel. libpri has already sent
        RESTART ACKNOWLEDGE; the calls there are gone at the exchange, so they end here."""
        if channel > 0:
            legs = [leg for leg in (self.owner.get(channel),) if leg is not None]
            what = f"B{channel}"
        else:
            legs = [leg for leg in self.legs.values() if leg.state is not LegState.CLEARED]
            what = "the whole interface"
        self._report(f"network restarted {what}: {len(legs)} call(s) cleared with cause 41")
        for leg in legs:
            self._far_end_cleared(leg, Cause.TEMPORARY_FAILURE)
            self._cleared(leg)

    def _restart_idle_channels(self) -> None:
        """First link-up: RESTART every idle B-channel, so calls a crash left up at the
        exchange (it still bills them, and refuses their channels with cause 44) end."""
        idle = [c for c in sorted(self.bchans) if c not in self.owner]
        self._restarting = set(idle)
        for chanpos in idle:
            self.link.call(lib.pri_reset, chanpos)
        self._report(f"link up for the first time: {len(idle)} idle B-channel(s) restarted")
        self.reactor.callLater(_RESTART_WAIT_S, self._restarts_overdue)

    def _restarts_overdue(self) -> None:
        """An exchange that never acknowledges (some ignore RESTART for idle channels) must
        not keep the span out of service."""
        if self._restarting:
            self._report(f"no RESTART ACKNOWLEDGE for {len(self._restarting)} channel(s) in "
                         f"{_RESTART_WAIT_S:g} s: taking calls anyway")
            self._restarting.clear()

    def _media_if_inband(self, leg: CallLeg, ev: PriEvent) -> None:
        if ev.inband and not leg.has_media:
            leg.has_media = True
            leg._emit("media", self._now())

    def _retry_after_glare(self, leg: CallLeg, cause: int) -> bool:
        """Our SETUP lost the channel to the network's: place it again on another one."""
        retries = leg.retries
        if (leg.direction != "out" or leg.answered or retries <= 0
                or cause != Cause.REQUESTED_CHAN_UNAVAIL or leg.state is LegState.CLEARING):
            return False
        old = leg.chanpos
        if old is not None:
            self._refused[leg.id] = self._refused.get(leg.id, frozenset()) | {old}
        self.link.call(lib.pri_hangup, leg.handle, cause)
        self.legs.pop(_key(leg.handle), None)
        if old is not None and self.owner.get(old) is leg:
            del self.owner[old]
        leg.handle = None
        self._report(f"glare on B{old}: call to {leg.number} retried on another channel")
        leg._emit("retry", self._now(), cause)
        self._setup(leg, retries - 1)
        return True

    # -- incoming ---------------------------------------------------------------------------------
    def _incoming(self, ev: PriEvent) -> None:
        restriction = ev.calling_pres & lib.PRI_PRES_RESTRICTION
        pres = (Presentation.ALLOWED if restriction == lib.PRI_PRES_ALLOWED
                else Presentation.RESTRICTED if restriction == lib.PRI_PRES_RESTRICTED
                else Presentation.UNAVAILABLE)
        leg = CallLeg(self, "in", ev.calling, dnis=ev.called, presentation=pres,
                      seized_at=self._now())
        chanpos = ev.channel if ev.channel > 0 else self._pick_channel()
        if chanpos is None or chanpos not in self.bchans:
            self._report(f"SETUP for B{ev.channel} which this span does not carry: refused")
            self.link.call(lib.pri_hangup, ev.call, Cause.REQUESTED_CHAN_UNAVAIL)
            return
        if chanpos in self.out_of_service:
            self._report(f"SETUP for out-of-service B{chanpos}: refused with cause 44")
            self.link.call(lib.pri_hangup, ev.call, Cause.REQUESTED_CHAN_UNAVAIL)
            return
        holder = self.owner.get(chanpos)
        if holder is not None:
            if holder.direction == "out" and holder.state is LegState.DIALING:
                holder.retries = max(holder.retries, 1)
                self.owner.pop(chanpos)  # the network wins the glare
            else:
                self._report(f"SETUP for busy B{chanpos}: refused with cause 44")
                self.link.call(lib.pri_hangup, ev.call, Cause.REQUESTED_CHAN_UNAVAIL)
                return
        self._bind(leg, chanpos, ev.call)
        if self.on_incoming is None:
            leg.reject(Cause.CALL_REJECTED)
            return
        self.on_incoming(leg)

    # -- line faults ------------------------------------------------------------------------------
    def _on_dahdi_event(self) -> None:
        assert self.span.dchannel is not None
        for ev in self.span.dchannel.drain_events():
            if ev == Event.ALARM:
                if not self.alarmed:
                    self.alarmed = True
                    self._report(f"span alarm {self._alarm_names()}")
                    self._clear_all(Cause.NETWORK_OUT_OF_ORDER, "span alarm")
            elif ev == Event.NOALARM:
                if self.alarmed:
                    self.alarmed = False
                    self._report("span alarm cleared")

    def _answered_count(self) -> int:
        return sum(1 for leg in self.legs.values() if leg.state is LegState.ANSWERED)

    def _alarm_names(self) -> str:
        """The span's alarms for the report; a failing SPANSTAT must not keep the calls of a
        dead line up, so it only makes the names unknown."""
        try:
            return "/".join(self.span.status().alarm_names) or "?"
        except OSError as e:
            log.error("%s: SPANSTAT failed while an alarm was raised: %s", self.name, e)
            return "? (SPANSTAT failed)"

    def _clear_all(self, cause: int, why: str, keep_answered: bool = False) -> None:
        legs = [leg for leg in list(self.legs.values()) if leg.state is not LegState.CLEARED
                and not (keep_answered and leg.state is LegState.ANSWERED)]
        if legs:
            self._report(f"{why}: clearing {len(legs)} call(s) with cause "
                         f"{cause} ({cause_text(cause)})")
        now = self._now()
        for leg in legs:
            # every leg carries the line's cause before any event goes out: a conference
            # whose initiator hears "hangup" first hangs its participants up (cause 16), and
            # their records must still say why they really ended
            if leg.active:
                leg.cause = cause
                leg.ended_at = now
        for leg in legs:
            if leg.state is LegState.CLEARED:
                continue
            was_active = leg.active
            self._far_end_cleared(leg, cause)
            if was_active and leg.state is not LegState.CLEARED and leg.handle is not None:
                # libpri finishes the call itself (T305/T308, or the RESTART when the link
                # returns); destroying it right after pri_hangup freed a call its own timers
                # still pointed at
                self.link.call(lib.pri_hangup, leg.handle, cause)
            if leg.chanpos is not None:
                self._restart_when_up.add(leg.chanpos)
            self._cleared(leg)
