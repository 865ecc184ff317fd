"""The simulated carrier switch: libpri in NET mode on the span's D-channel, and its subscribers.

What it does: routes calls between confcall (the CPE on the other end of the span) and
simulated phones by number; each phone answers after N s, is busy, never answers (the switch's
ring timer clears with cause 19), is unreachable (cause 20) or unknown (cause 1), and may hang up
after N s. For every call it keeps a ``CallRecord``: the Q.931 messages seen, whether CONNECT was
ever sent or received (the proof that a rejected caller pays nothing), the clearing cause and who
cleared, and the audio that crossed the B-channel towards the phone (before and after answer).

How to use it: ``SimSwitch(span, reactor, switchtype="euroisdn_e1")``, ``add_phone(SimPhone(
"13800138000"))``; call ``service()`` once per tick (``VirtualMediaClock.add_hook``);
``place_call(from, to)`` makes a phone call confcall.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Callable

from confcall.dahdi._shim import ffi, lib
from confcall.dahdi.constants import Law
from confcall.dahdi.pri import PriEvent, PriLink

from .span import SimSpan
from .voice import Voice

__all__ = ["SimSwitch", "SimPhone", "CallRecord"]


@dataclass(eq=False)
class SimPhone:
    """A subscriber line. ``behaviour``: answer | busy | no_answer | unreachable | reject."""

    number: str
    behaviour: str = "answer"
    answer_after: float = 2.0
    hangup_after: float | None = None
    reject_cause: int = 21
    speak: Callable[[int], bytes] | None = None
    voice_hz: float | None = None
    talk_on_answer: bool = False
    calls: list["CallRecord"] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.behaviour not in ("answer", "busy", "no_answer", "unreachable", "reject"):
            raise ValueError(f"phone {self.number}: unknown behaviour {self.behaviour!r}")
        self.voice = Voice(voice_hz=self.voice_hz)

    def press(self, keys: str, **kwargs: float) -> None:
        """Key DTMF into the line (real dual tones; see voice.Voice.press)."""
        self.voice.press(keys, **kwargs)

    def talk(self, on: bool = True) -> None:
        self.voice.talking = on

    @property
    def last(self) -> "CallRecord":
        return self.calls[-1]


_ids = itertools.count(1)


@dataclass(eq=False)
class CallRecord:
    """Everything the switch saw of one call."""

    direction: str  # "to_confcall" | "from_confcall"
    calling: str
    called: str
    chanpos: int
    started_at: float
    messages: list[tuple[float, str]] = field(default_factory=list)
    connected: bool = False  # CONNECT sent or received: the call is charged
    progress_inband: bool = False
    cause: int | None = None
    cleared_by: str | None = None  # "confcall" | "switch"
    answered_at: float | None = None
    ended_at: float | None = None
    audio: bytearray = field(default_factory=bytearray)  # towards the phone, whole call
    early_audio: bytearray = field(default_factory=bytearray)  # towards the phone, before CONNECT
    id: int = field(default_factory=lambda: next(_ids))
    keep_audio: bool = True  # False: what crosses the line is not kept (soak runs)
    handle: Any = None
    phone: SimPhone | None = None
    _timers: list[Any] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def saw(self, name: str) -> bool:
        return any(m == name or m.startswith(name + "(") for _, m in self.messages)

    def hear(self, data: bytes) -> None:
        if not self.keep_audio:
            return
        self.audio += data
        if not self.connected:
            self.early_audio += data


def _key(call: Any) -> int:
    return int(ffi.cast("uintptr_t", call))


class SimSwitch:
    """The network side of one simulated PRI span."""

    def __init__(self, span: SimSpan, reactor: Any, *, switchtype: str = "euroisdn_e1",
                 ring_timeout: float = 60.0, network: bool = True) -> None:
        """``network=False``: the switch plays the CPE side (confcall runs ``pri_net``)."""
        if span.dchannel_peer is None:
            raise ValueError(f"span {span.spanno} is not a PRI span")
        self.span = span
        self.reactor = reactor
        self.ring_timeout = ring_timeout
        self.phones: dict[str, SimPhone] = {}
        self.records: list[CallRecord] = []
        self._by_call: dict[int, CallRecord] = {}
        self._busy: dict[int, CallRecord] = {}
        self._attached: dict[int, CallRecord] = {}  # chanpos -> the call its audio belongs to
        self.blocked: set[int] = set()  # channels the exchange holds busy (refused with 44)
        self.keep_audio = True  # False: calls do not record their audio (hours-long runs)
        self.restarts: list[tuple[float, int]] = []  # (time, channel or -1): RESTARTs received
        self.law = Law.ALAW if span.line == "E1" else Law.MULAW
        self.link = PriLink(span.dchannel_peer.fileno(), network=network, switchtype=switchtype,
                            reactor=reactor, on_event=self._on_event,
                            name=f"switch{span.spanno}")

    # -- set-up ---------------------------------------------------------------------------------
    def add_phone(self, phone: SimPhone) -> SimPhone:
        self.phones[phone.number] = phone
        return phone

    def block(self, chanpos: int, blocked: bool = True) -> None:
        """The exchange holds this B-channel busy (a maintenance block; a RESTART does not
        lift it): confcall's SETUPs for it are refused with cause 44."""
        if blocked:
            self.blocked.add(chanpos)
        else:
            self.blocked.discard(chanpos)

    def restart_interface(self) -> None:
        """The exchange restarts the whole interface (RESTART, channel -1): every call on the
        span is over at its end at once."""
        for rec in list(self._busy.values()):
            self._end_by_restart(rec, "switch")
        self.link.call(lib.pri_reset, -1)

    def _end_by_restart(self, rec: CallRecord, by: str) -> None:
        self._log(rec, "RESTART")
        if rec.cleared_by is None:
            rec.cleared_by, rec.cause = by, 41
        self._finish(rec)
        if rec.handle is not None:  # its call reference is free again at both ends
            self.link.call(lib.pri_destroycall, rec.handle)
            rec.handle = None

    def service(self) -> None:
        self.link.service()

    @property
    def up(self) -> bool:
        return self.link.up

    def _now(self) -> float:
        return float(self.reactor.seconds())

    def _log(self, rec: CallRecord, msg: str) -> None:
        rec.messages.append((self._now(), msg))

    # -- B-channel audio -------------------------------------------------------------------------
    def _attach(self, rec: CallRecord) -> None:
        ch = self.span.channel(rec.chanpos)
        self._attached[rec.chanpos] = rec
        ch.sink = rec.hear if rec.keep_audio else None  # a record that keeps nothing hears nothing
        ch.source = None
        if rec.phone is not None:
            rec.phone.voice.law = int(self.law)
            ch.source = rec.phone.speak or rec.phone.voice.produce

    def _detach(self, rec: CallRecord) -> None:
        ch = self.span.channel(rec.chanpos)
        if self._attached.get(rec.chanpos) is rec:
            del self._attached[rec.chanpos]
            ch.sink = None
            ch.source = None

    # -- a phone calls confcall -----------------------------------------------------------------
    def place_call(self, calling: str, called: str, *, presentation: str = "allowed",
                   chanpos: int | None = None) -> CallRecord:
        """A subscriber dials ``called`` on confcall's trunk; returns the call's record."""
        if chanpos is None:
            chanpos = next((c.chanpos for c in self.span.bchannels()
                            if c.chanpos not in self._busy and c.chanpos not in self.blocked),
                           None)
            if chanpos is None:
                raise RuntimeError("switch: no free B-channel towards confcall")
        phone = self.phones.get(calling)
        rec = CallRecord("to_confcall", calling, called, chanpos, self._now(), phone=phone)
        call = self.link.call(lib.pri_new_call)
        rec.handle = call
        pres = {"allowed": lib.PRES_ALLOWED_USER_NUMBER_NOT_SCREENED,
                "restricted": lib.PRES_PROHIB_USER_NUMBER_NOT_SCREENED,
                "unavailable": lib.PRES_NUMBER_NOT_AVAILABLE}[presentation]
        number = "" if presentation == "unavailable" else calling
        if self.link.setup(call, chanpos, self.law == Law.ALAW, called, number, pres) != 0:
            raise RuntimeError("switch: libpri refused the SETUP")
        self._track(rec)
        self._log(rec, "SETUP")
        self._attach(rec)
        return rec

    def hangup(self, rec: CallRecord, cause: int = 16) -> None:
        """The phone (or the network) clears the call."""
        if rec.ended or rec.cleared_by is not None:
            return
        rec.cleared_by = "switch"
        rec.cause = cause
        self._log(rec, f"DISCONNECT({cause})")
        self.link.call(lib.pri_hangup, rec.handle, cause)

    def _track(self, rec: CallRecord) -> None:
        rec.keep_audio = self.keep_audio
        self.records.append(rec)
        self._by_call[_key(rec.handle)] = rec
        self._busy[rec.chanpos] = rec
        if rec.phone is not None:
            rec.phone.calls.append(rec)

    def _finish(self, rec: CallRecord, forget: bool = True) -> None:
        if forget and self._by_call.get(_key(rec.handle)) is rec:
            del self._by_call[_key(rec.handle)]
        if rec.ended:
            return
        rec.ended_at = self._now()
        for t in rec._timers:
            if t.active():
                t.cancel()
        self._detach(rec)
        if self._busy.get(rec.chanpos) is rec:
            del self._busy[rec.chanpos]

    # -- libpri events ---------------------------------------------------------------------------
    def _on_event(self, ev: PriEvent) -> None:
        if ev.kind == lib.PRI_EVENT_RING:
            self._from_confcall(ev)
            return
        if ev.kind == lib.PRI_EVENT_RESTART:
            self._restarted(ev.channel)
            return
        if ev.kind in (lib.PRI_EVENT_DCHAN_UP, lib.PRI_EVENT_DCHAN_DOWN):
            return
        rec = self._by_call.get(_key(ev.call)) if ev.call is not None else None
        if rec is None:
            return
        k = ev.kind
        if k == lib.PRI_EVENT_PROCEEDING:
            self._log(rec, "CALL PROCEEDING")
        elif k == lib.PRI_EVENT_PROGRESS:
            rec.progress_inband = rec.progress_inband or ev.inband
            self._log(rec, "PROGRESS(inband)" if ev.inband else "PROGRESS")
        elif k == lib.PRI_EVENT_RINGING:
            self._log(rec, "ALERTING")
        elif k == lib.PRI_EVENT_ANSWER:
            rec.connected = True
            rec.answered_at = self._now()
            self._log(rec, "CONNECT")
        elif k == lib.PRI_EVENT_HANGUP_REQ:
            if rec.ended:
                return
            if rec.cleared_by is None:
                rec.cleared_by, rec.cause = "confcall", ev.cause
                self._log(rec, f"DISCONNECT({ev.cause})")
            self.link.call(lib.pri_hangup, rec.handle, ev.cause)
        elif k == lib.PRI_EVENT_HANGUP:
            if rec.ended:
                self.link.call(lib.pri_hangup, rec.handle, ev.cause)
                self._finish(rec)
                return
            if rec.cleared_by is None:
                rec.cleared_by, rec.cause = "confcall", ev.cause
                self._log(rec, f"RELEASE({ev.cause})")
            self.link.call(lib.pri_hangup, rec.handle, ev.cause)
            self._finish(rec)
        elif k == lib.PRI_EVENT_HANGUP_ACK:
            self._log(rec, "RELEASE COMPLETE")
            self._finish(rec)

    def _restarted(self, channel: int) -> None:
        """RESTART from confcall, as an exchange takes it (libpri has acknowledged it): the
        calls on that channel (-1: every channel) are over, unbilled from now, and the
        channel is free again."""
        self.restarts.append((self._now(), channel))
        chans = [channel] if channel > 0 else list(self._busy)
        for chanpos in chans:
            rec = self._busy.get(chanpos)
            if rec is None:
                continue
            self._end_by_restart(rec, "confcall")

    def _from_confcall(self, ev: PriEvent) -> None:
        phone = self.phones.get(ev.called)
        rec = CallRecord("from_confcall", ev.calling, ev.called, ev.channel, self._now(),
                         phone=phone, handle=ev.call)
        self._log(rec, "SETUP")
        if ev.channel in self._busy or ev.channel in self.blocked:
            self.records.append(rec)
            self._by_call[_key(rec.handle)] = rec
            self._refuse(rec, 44)  # glare or a channel the network already uses
            return
        self._track(rec)
        if phone is None:
            self._refuse(rec, 1)
            return
        if phone.behaviour == "busy":
            self._refuse(rec, 17)
            return
        if phone.behaviour == "unreachable":
            self._refuse(rec, 20)
            return
        if phone.behaviour == "reject":
            self._refuse(rec, phone.reject_cause)
            return
        self.link.call(lib.pri_proceeding, ev.call, ev.channel, 0)
        self._log(rec, "CALL PROCEEDING")
        self.link.call(lib.pri_acknowledge, ev.call, ev.channel, 1)
        self._log(rec, "ALERTING")
        self._attach(rec)
        if phone.behaviour == "answer":
            rec._timers.append(self.reactor.callLater(phone.answer_after, self._answer, rec))
        rec._timers.append(self.reactor.callLater(self.ring_timeout, self._ring_timeout, rec))

    def _refuse(self, rec: CallRecord, cause: int) -> None:
        # As exchanges do: CALL PROCEEDING first, then DISCONNECT with the cause. (libpri in
        # NET mode also sends nothing for a hang-up straight from the Call Present state.)
        rec.cleared_by, rec.cause = "switch", cause
        self.link.call(lib.pri_proceeding, rec.handle, rec.chanpos, 0)
        self._log(rec, "CALL PROCEEDING")
        self._log(rec, f"DISCONNECT({cause})")
        self.link.call(lib.pri_hangup, rec.handle, cause)
        # Depending on the cause libpri answers with RELEASE COMPLETE and forgets the call at
        # once (1, 44, ...) or waits for RELEASE; either way the switch is done with it.
        self._finish(rec, forget=False)

    def _answer(self, rec: CallRecord) -> None:
        if rec.ended or rec.cleared_by is not None:
            return
        self.link.call(lib.pri_answer, rec.handle, rec.chanpos, 0)
        rec.connected = True
        rec.answered_at = self._now()
        self._log(rec, "CONNECT")
        phone = rec.phone
        if phone is not None and phone.talk_on_answer:
            phone.talk(True)
        if phone is not None and phone.hangup_after is not None:
            rec._timers.append(self.reactor.callLater(phone.hangup_after, self.hangup, rec, 16))

    def _ring_timeout(self, rec: CallRecord) -> None:
        if not rec.connected and not rec.ended and rec.cleared_by is None:
            self.hangup(rec, 19)
