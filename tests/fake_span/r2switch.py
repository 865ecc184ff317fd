"""The simulated carrier on an MFC/R2 (China No. 1) E1 span: line signalling and compelled MF.

What it does: the exchange on the far side of confcall's CAS channels. It signals with real
ABCD bits (it sets what confcall reads with DAHDI_GETRXBITS and reads what confcall set with
DAHDI_SETTXBITS) and real MF tones in the timeslot's audio, generated and detected by its own
code (r2mf.py), never by OpenR2. As the calling side it is its own forward MF sender with the
calling number (OpenR2's China table cannot send one; see native/r2_glue.c); as the called side
it collects category, calling number and digits the China way and answers with a Group-B
signal chosen by the called phone's behaviour. Every call leaves an ``R2CallRecord``: the line
and register signals seen, the Group-B signal, whether an answer signal ever crossed the line,
whether the call is charged, who cleared, and the audio that reached the far end.

Line signals (China, ABCD with CD = 11): forward idle/clear-forward 10, seize 00; backward
idle 10, seize-acknowledge 11, answer 01, clear-back 11, blocking 11. A clear-back before
answer looks exactly like the seize-acknowledge: that is why an R2 call can only be refused
for free with a Group-B signal, and why "accept without charge" needs an answer to clear.

Faults a test can cause: ``block``/``unblock`` a channel, ``deafen`` one (seizures are never
acknowledged), ``stall`` one (acknowledged, then no register signal ever), ``seize_only`` (the
carrier seizes and sends no digits), double seizure (``place_call`` on the channel confcall is
seizing), and line alarms through the span itself.

How to use it: ``SimR2Switch(span, reactor)``; ``add_phone(SimPhone(...))``; call
``service()`` once per tick; ``place_call(calling, called)`` makes a phone call confcall.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from confcall.dahdi.constants import Law
from confcall.dsp import g711

from .r2mf import MfDetector, MfGenerator
from .span import SimChannel, SimSpan
from .switch import CallRecord, SimPhone

__all__ = ["GROUP_B", "R2CallRecord", "SimR2Switch"]

# AB bits (CD are 11 on China's lines)
FWD_IDLE, FWD_SEIZE = 0x8, 0x0
BWD_IDLE, BWD_SEIZE_ACK, BWD_ANSWER, BWD_CLEAR_BACK, BWD_BLOCK = 0x8, 0xC, 0x4, 0xC, 0xC
BWD_FORCED_RELEASE = 0x0
CD_BITS = 0x3

# China's Group-B signals as OpenR2 1.3.3's CN table sends them (B-7 is its ITU default)
GROUP_B = {"1": "accept_charge", "7": "accept_no_charge", "2": "busy", "3": "busy",
           "4": "congestion", "5": "unallocated", "8": "out_of_order"}
_REJECT_CAUSE = {"busy": 17, "congestion": 34, "unallocated": 1, "out_of_order": 27}
_CAUSE_TO_B = {17: "2", 1: "5", 34: "4", 42: "4", 27: "8"}
_CATEGORY = "1"  # KA / KD: an ordinary subscriber
_MF_TIMEOUT_S = 15.0
_SEIZE_ACK_TIMEOUT_S = 5.0
_RELEASE_GUARD_S = 0.2  # a released circuit stays idle this long before it is seized again


class Line(enum.Enum):
    IDLE = "idle"
    BLOCKED = "blocked"
    OUT_SEIZING = "out_seizing"    # the carrier seized towards confcall
    OUT_MF = "out_mf"
    OUT_ACCEPTED = "out_accepted"
    IN_MF = "in_mf"                # confcall seized towards the carrier
    IN_ACCEPTED = "in_accepted"
    CLEARING = "clearing"          # waiting for confcall's idle / clear-forward


@dataclass(eq=False)
class R2CallRecord(CallRecord):
    """A ``CallRecord`` plus what R2 adds: the register exchange and its Group-B verdict."""

    group_b: str | None = None      # accept_charge | accept_no_charge | busy | ...
    answer_seen: bool = False       # the answer line signal crossed the line
    ani: str = ""                   # the calling number as it was signalled
    category: str | None = None
    mf_cycles: int = 0              # compelled cycles (one forward signal, one backward each)
    accepted_at: float | None = None  # the Group-B acceptance ended the register exchange

    @property
    def charged(self) -> bool:
        return self.connected


@dataclass(eq=False)
class _Chan:
    sim: SimChannel
    line: Line = Line.IDLE
    rec: R2CallRecord | None = None
    gen: MfGenerator | None = None
    det: MfDetector | None = None
    heard_tone: str | None = None   # the far (confcall) tone detected in the last block
    seen: str | None = None         # backward tone recognised while we are silent (forward)
    handled: str | None = None      # forward tone already answered (backward)
    group: str = "A"
    step: str = ""                  # backward: dnis_first | ka | ani | dnis | kd | done
    digits: str = ""
    dnis_idx: int = 0
    ani_phase: bool = False
    ani_idx: int = 0
    decision: str | None = None     # backward: the Group-B code sent
    last_mf_at: float = 0.0
    seized_at: float = 0.0
    idle_since: float = -1.0
    deaf: bool = False              # fault: seizures are never acknowledged
    stall_mf: bool = False          # fault: acknowledged, then no register signal
    stalled: bool = False           # this call's register is silent
    timers: list[Any] = field(default_factory=list)


class SimR2Switch:
    """The network side of one simulated E1 MFC/R2 span."""

    def __init__(self, span: SimSpan, reactor: Any, *, ring_timeout: float = 60.0,
                 answer_bits_hold_s: float = 0.0) -> None:
        if span.signalling != "cas":
            raise ValueError(f"span {span.spanno} is not an MFC/R2 (cas) span")
        self.span = span
        self.reactor = reactor
        self.ring_timeout = ring_timeout  # kept for the harness; R2 cannot clear unanswered
        self.law = int(Law.ALAW)
        self.phones: dict[str, SimPhone] = {}
        self.records: list[R2CallRecord] = []
        self.chans = {c.chanpos: _Chan(c) for c in span.bchannels()}
        for ch in self.chans.values():
            self._send_bits(ch, BWD_IDLE)

    # -- set-up ---------------------------------------------------------------------------------
    def add_phone(self, phone: SimPhone) -> SimPhone:
        self.phones[phone.number] = phone
        return phone

    @property
    def up(self) -> bool:
        return not self.span.line_down

    def _now(self) -> float:
        return float(self.reactor.seconds())

    def _log(self, rec: R2CallRecord | None, msg: str) -> None:
        if rec is not None:
            rec.messages.append((self._now(), msg))

    # -- bits --------------------------------------------------------------------------------------
    @staticmethod
    def _send_bits(ch: _Chan, ab: int) -> None:
        ch.sim.set_rx_bits(ab | CD_BITS)

    @staticmethod
    def _their_bits(ch: _Chan) -> int:
        return ch.sim.txbits & 0xC

    # -- audio -------------------------------------------------------------------------------------
    def _mf_audio(self, ch: _Chan, forward: bool) -> None:
        """The timeslot carries our MF generator and feeds the detector (and the record)."""
        ch.gen = MfGenerator(forward=forward, law=self.law)
        ch.det = MfDetector(forward=not forward, law=self.law)
        rec = ch.rec

        def sink(data: bytes) -> None:
            assert ch.det is not None
            ch.heard_tone = ch.det.detect(data) if len(data) >= 80 else None
            if rec is not None:
                rec.hear(data)

        ch.sim.source = ch.gen.block
        ch.sim.sink = sink

    def _voice_audio(self, ch: _Chan) -> None:
        """After the Group-B acceptance the timeslot is a speech path: ringback, then the
        phone's voice; everything confcall sends is recorded."""
        rec = ch.rec
        assert rec is not None
        phone = rec.phone
        ring = _Ringback(self.law)

        def source(n: int) -> bytes:
            if rec.answered_at is None and rec.direction == "from_confcall":
                return ring.block(n)
            if phone is not None:
                return (phone.speak or phone.voice.produce)(n)
            return bytes([Law(self.law).idle_code]) * n

        if phone is not None:
            phone.voice.law = self.law
        ch.sim.source = source
        ch.sim.sink = rec.hear
        ch.gen = ch.det = None

    @staticmethod
    def _silence(ch: _Chan) -> None:
        ch.sim.source = None
        ch.sim.sink = None
        ch.gen = ch.det = None

    # -- a phone calls confcall (the carrier is the forward side) ---------------------------------
    def place_call(self, calling: str, called: str, *, presentation: str = "allowed",
                   chanpos: int | None = None) -> R2CallRecord:
        if chanpos is None:
            now = self._now()
            chanpos = next((p for p in sorted(self.chans)
                            if self.chans[p].line is Line.IDLE
                            and self._their_bits(self.chans[p]) == FWD_IDLE
                            and now - self.chans[p].idle_since >= _RELEASE_GUARD_S), None)
            if chanpos is None:
                raise RuntimeError("switch: no idle R2 channel towards confcall")
        ch = self.chans[chanpos]
        if ch.line is not Line.IDLE:
            raise RuntimeError(f"switch: channel {chanpos} is {ch.line.value}")
        phone = self.phones.get(calling)
        rec = R2CallRecord("to_confcall", calling, called, chanpos, self._now(), phone=phone,
                           ani="" if presentation != "allowed" else calling)
        self.records.append(rec)
        if phone is not None:
            phone.calls.append(rec)
        ch.rec, ch.line, ch.seized_at = rec, Line.OUT_SEIZING, self._now()
        ch.group, ch.dnis_idx, ch.ani_phase, ch.ani_idx, ch.seen = "A", 0, False, 0, None
        ch.digits, ch.stalled = called, False
        self._mf_audio(ch, forward=True)
        self._send_bits(ch, FWD_SEIZE)
        self._log(rec, "SEIZE")
        return rec

    def seize_only(self, chanpos: int) -> R2CallRecord:
        """Seize towards confcall and never send a digit (a broken register)."""
        rec = self.place_call("", "", chanpos=chanpos)
        self.chans[chanpos].stalled = True
        return rec

    def hangup(self, rec: CallRecord, cause: int = 16) -> None:
        """The phone clears: clear-forward (we called) or clear-back (confcall called)."""
        ch = self.chans[rec.chanpos]
        if ch.rec is not rec or rec.ended or rec.cleared_by is not None:
            return
        rec.cleared_by, rec.cause = "switch", cause
        if rec.direction == "to_confcall":
            self._send_bits(ch, FWD_IDLE)
            self._log(rec, "CLEAR FORWARD")
        else:
            self._send_bits(ch, BWD_CLEAR_BACK if rec.answer_seen else BWD_FORCED_RELEASE)
            self._log(rec, "CLEAR BACK" if rec.answer_seen else "FORCED RELEASE")
        self._silence(ch)
        ch.line = Line.CLEARING

    def stop(self) -> None:
        """No more timers (the harness's close)."""
        for ch in self.chans.values():
            for t in ch.timers:
                if t.active():
                    t.cancel()
            ch.timers.clear()

    # -- faults --------------------------------------------------------------------------------
    def block(self, chanpos: int) -> None:
        ch = self.chans[chanpos]
        if ch.line is not Line.IDLE:
            raise RuntimeError(f"channel {chanpos} is {ch.line.value}: block an idle one")
        ch.line = Line.BLOCKED
        self._send_bits(ch, BWD_BLOCK)

    def unblock(self, chanpos: int) -> None:
        ch = self.chans[chanpos]
        if ch.line is Line.BLOCKED:
            ch.line = Line.IDLE
            self._send_bits(ch, BWD_IDLE)

    def deafen(self, chanpos: int, on: bool = True) -> None:
        """Seizures on this channel are never acknowledged."""
        self.chans[chanpos].deaf = on

    def stall(self, chanpos: int, on: bool = True) -> None:
        """Seizures are acknowledged, then no register signal is ever sent."""
        self.chans[chanpos].stall_mf = on

    # -- the tick --------------------------------------------------------------------------------
    def service(self) -> None:
        if self.span.line_down:
            self._line_lost()
            return
        for ch in self.chans.values():
            self._step(ch)

    def _line_lost(self) -> None:
        """The exchange drops every call on a span that lost its line (cause 38), and idles."""
        for ch in self.chans.values():
            ch.sim.tx_changes.clear()
            if ch.rec is not None:
                self._log(ch.rec, "LINE DOWN")
                if ch.rec.cleared_by is None:
                    ch.rec.cleared_by, ch.rec.cause = "network", 38
                self._send_bits(ch, BWD_IDLE)
                self._finish(ch)

    def _step(self, ch: _Chan) -> None:
        """Every bit change confcall made since the last tick, in order (then the current
        state once more, which runs the timers)."""
        changes = ch.sim.tx_changes
        while changes:
            self._step_bits(ch, changes.popleft() & 0xC)
        self._step_bits(ch, self._their_bits(ch))

    def _step_bits(self, ch: _Chan, theirs: int) -> None:
        line = ch.line
        if line is Line.IDLE:
            if theirs == FWD_SEIZE and not ch.deaf:
                self._incoming(ch)
        elif line is Line.OUT_SEIZING:
            self._out_seizing(ch, theirs)
        elif line is Line.OUT_MF:
            if theirs == BWD_IDLE:
                self._clear_done(ch, "confcall", 16)
            else:
                self._forward_mf(ch)
        elif line is Line.OUT_ACCEPTED:
            self._out_accepted(ch, theirs)
        elif line is Line.IN_MF:
            if theirs == FWD_IDLE:
                self._released_by_confcall(ch)
            else:
                self._backward_mf(ch)
        elif line is Line.IN_ACCEPTED:
            if theirs == FWD_IDLE:
                self._released_by_confcall(ch)
        elif line is Line.CLEARING:
            self._clearing(ch, theirs)

    # -- forward (we called confcall) --------------------------------------------------------------
    def _out_seizing(self, ch: _Chan, theirs: int) -> None:
        rec = ch.rec
        assert rec is not None
        if theirs == BWD_SEIZE_ACK:
            self._log(rec, "SEIZE ACK")
            ch.line = Line.OUT_MF
            ch.last_mf_at = self._now()
            if not ch.stalled and ch.digits:
                self._fwd_send(ch, ch.digits[0])
        elif theirs == FWD_SEIZE:  # confcall seized the same channel: double seizure
            self._log(rec, "DOUBLE SEIZURE")
            rec.cause = 44
            self._send_bits(ch, FWD_IDLE)
            self._silence(ch)
            ch.line = Line.CLEARING
            rec.cleared_by = "switch"
        elif self._now() - ch.seized_at > _SEIZE_ACK_TIMEOUT_S:
            self._log(rec, "NO SEIZE ACK")
            self._send_bits(ch, FWD_IDLE)
            rec.cause, rec.cleared_by = 102, "switch"
            self._silence(ch)
            ch.line = Line.CLEARING

    def _fwd_send(self, ch: _Chan, code: str) -> None:
        assert ch.gen is not None
        ch.gen.set(code)
        ch.last_mf_at = self._now()

    def _forward_mf(self, ch: _Chan) -> None:
        """Compelled, forward side: our tone stays on until the backward tone starts; we act on
        a backward signal when it stops."""
        assert ch.gen is not None and ch.rec is not None
        heard = ch.heard_tone
        if heard is not None:
            if ch.gen.code is not None:
                ch.gen.set(None)
            ch.seen = heard
            ch.last_mf_at = self._now()
            return
        if ch.seen is not None and ch.gen.code is None:
            sig, ch.seen = ch.seen, None
            self._fwd_act(ch, sig)
            return
        if self._now() - ch.last_mf_at > _MF_TIMEOUT_S and not ch.stalled:
            self._log(ch.rec, "MF TIMEOUT")
            ch.rec.cause, ch.rec.cleared_by = 102, "switch"
            self._clear_forward(ch)

    def _fwd_act(self, ch: _Chan, sig: str) -> None:
        rec = ch.rec
        assert rec is not None
        rec.mf_cycles += 1
        if ch.group == "B":
            name = GROUP_B.get(sig)
            rec.group_b = name or f"B-{sig}"
            self._log(rec, f"GROUP-B({rec.group_b})")
            if name in ("accept_charge", "accept_no_charge"):
                ch.line = Line.OUT_ACCEPTED
                rec.accepted_at = self._now()
                self._voice_audio(ch)
            else:
                rec.cause, rec.cleared_by = _REJECT_CAUSE.get(name or "", 31), "confcall"
                self._clear_forward(ch)
            return
        if sig == "1":
            if ch.ani_phase:
                if rec.ani and ch.ani_idx < len(rec.ani):
                    self._fwd_send(ch, rec.ani[ch.ani_idx])
                    ch.ani_idx += 1
                else:  # I-15: end of the calling number (I-12 when withheld)
                    ch.ani_phase = False
                    self._fwd_send(ch, "F" if rec.ani else "C")
                return
            ch.dnis_idx += 1
            if ch.dnis_idx < len(ch.digits):
                self._fwd_send(ch, ch.digits[ch.dnis_idx])
            # else: no more digits; China has no end-of-digits signal: the far end times out
        elif sig in "278":
            back = {"2": 1, "7": 2, "8": 3}[sig]
            ch.dnis_idx = max(0, ch.dnis_idx - back)
            self._fwd_send(ch, ch.digits[ch.dnis_idx])
        elif sig == "6":
            ch.ani_phase, ch.ani_idx = True, 0
            self._fwd_send(ch, _CATEGORY)  # KA
        elif sig == "3":
            ch.group = "B"
            self._fwd_send(ch, _CATEGORY)  # KD
        elif sig in "45":
            rec.cause, rec.cleared_by = (34 if sig == "4" else 1), "confcall"
            self._log(rec, f"GROUP-A({sig})")
            self._clear_forward(ch)
        else:
            self._log(rec, f"UNEXPECTED A-{sig}")
            rec.cause, rec.cleared_by = 111, "switch"
            self._clear_forward(ch)

    def _out_accepted(self, ch: _Chan, theirs: int) -> None:
        rec = ch.rec
        assert rec is not None
        if theirs == BWD_ANSWER and not rec.answer_seen:
            rec.answer_seen = True
            rec.answered_at = self._now()
            rec.connected = rec.group_b == "accept_charge"
            self._log(rec, "ANSWER")
        elif theirs == BWD_CLEAR_BACK and rec.answer_seen:
            self._log(rec, "CLEAR BACK")
            if rec.cleared_by is None:
                rec.cleared_by, rec.cause = "confcall", 16
            self._clear_forward(ch)
        elif theirs == BWD_FORCED_RELEASE:
            self._log(rec, "FORCED RELEASE")
            if rec.cleared_by is None:
                rec.cleared_by, rec.cause = "confcall", 16
            self._clear_forward(ch)

    def _clear_forward(self, ch: _Chan) -> None:
        self._send_bits(ch, FWD_IDLE)
        self._log(ch.rec, "CLEAR FORWARD")
        self._silence(ch)
        ch.line = Line.CLEARING

    # -- backward (confcall called us) -------------------------------------------------------------
    def _incoming(self, ch: _Chan) -> None:
        rec = R2CallRecord("from_confcall", "", "", ch.sim.chanpos, self._now())
        self.records.append(rec)
        ch.rec, ch.line, ch.seized_at = rec, Line.IN_MF, self._now()
        ch.step, ch.digits, ch.handled, ch.decision = "dnis_first", "", None, None
        ch.stalled = ch.stall_mf
        self._log(rec, "SEIZE")
        self._mf_audio(ch, forward=False)
        self._send_bits(ch, BWD_SEIZE_ACK)
        self._log(rec, "SEIZE ACK")
        ch.last_mf_at = self._now()

    def _backward_mf(self, ch: _Chan) -> None:
        """Compelled, backward side: answer each forward signal while it lasts; stop when it
        stops; after the Group-B signal's tone ends, the call is decided."""
        assert ch.gen is not None and ch.rec is not None
        heard = ch.heard_tone
        if ch.stalled:
            return
        if heard is not None and ch.gen.code is None and heard != ch.handled:
            ch.handled = heard
            ch.last_mf_at = self._now()
            reply = self._bwd_reply(ch, heard)
            if reply is not None:
                ch.gen.set(reply)
            return
        if heard is None and ch.gen.code is not None:
            ch.gen.set(None)
            ch.handled = None
            ch.last_mf_at = self._now()
            if ch.step == "done":
                self._decided(ch)
            return
        if heard is None:
            ch.handled = None
        if self._now() - ch.last_mf_at > _MF_TIMEOUT_S:
            self._log(ch.rec, "MF TIMEOUT")
            ch.rec.cause = 102
            self._silence(ch)
            ch.line = Line.IN_ACCEPTED  # wait for confcall to clear forward

    def _bwd_reply(self, ch: _Chan, sig: str) -> str | None:
        rec = ch.rec
        assert rec is not None
        rec.mf_cycles += 1
        if ch.step == "dnis_first":
            ch.digits += _digit(sig)
            ch.step = "ka"
            return "6"  # send your category and calling number
        if ch.step == "ka":
            rec.category = sig
            ch.step = "ani"
            return "1"
        if ch.step == "ani":
            if sig in "FC":
                self._log(rec, f"ANI {rec.ani or '(withheld)'}")
                rec.calling = rec.ani
                return self._more_digits_or_b(ch)
            rec.ani += _digit(sig)
            return "1"
        if ch.step == "dnis":
            ch.digits += _digit(sig)
            return self._more_digits_or_b(ch)
        if ch.step == "kd":
            rec.called = ch.digits
            self._log(rec, f"DNIS {ch.digits}")
            ch.decision = self._verdict(ch)
            rec.group_b = GROUP_B[ch.decision]
            self._log(rec, f"GROUP-B({rec.group_b})")
            ch.step = "done"
            return ch.decision
        return None

    def _more_digits_or_b(self, ch: _Chan) -> str:
        number = ch.digits
        if number in self.phones or not any(p.startswith(number) for p in self.phones) \
                or len(number) >= 15:
            ch.step = "kd"
            return "3"  # address complete, change to Group B
        ch.step = "dnis"
        return "1"

    def _verdict(self, ch: _Chan) -> str:
        phone = self.phones.get(ch.digits)
        rec = ch.rec
        assert rec is not None
        rec.phone = phone
        if phone is None:
            return "5"
        phone.calls.append(rec)
        if phone.behaviour == "busy":
            return "2"
        if phone.behaviour == "unreachable":
            return "8"
        if phone.behaviour == "reject":
            return _CAUSE_TO_B.get(phone.reject_cause, "8")
        return "1"

    def _decided(self, ch: _Chan) -> None:
        rec = ch.rec
        assert rec is not None
        if ch.decision != "1":
            rec.cause = _REJECT_CAUSE.get(rec.group_b or "", 31)
            rec.cleared_by = "switch"
            self._silence(ch)
            ch.line = Line.IN_ACCEPTED  # wait for confcall's clear-forward
            return
        ch.line = Line.IN_ACCEPTED
        rec.accepted_at = self._now()
        self._voice_audio(ch)
        phone = rec.phone
        if phone is not None and phone.behaviour == "answer":
            ch.timers.append(self.reactor.callLater(phone.answer_after, self._answer, ch, rec))

    def _answer(self, ch: _Chan, rec: R2CallRecord) -> None:
        if ch.rec is not rec or ch.line is not Line.IN_ACCEPTED or rec.cleared_by is not None:
            return
        self._send_bits(ch, BWD_ANSWER)
        rec.answer_seen = rec.connected = True
        rec.answered_at = self._now()
        self._log(rec, "ANSWER")
        phone = rec.phone
        if phone is not None and phone.talk_on_answer:
            phone.talk(True)
        if phone is not None and phone.hangup_after is not None:
            ch.timers.append(self.reactor.callLater(phone.hangup_after, self.hangup, rec, 16))

    def _released_by_confcall(self, ch: _Chan) -> None:
        rec = ch.rec
        assert rec is not None
        self._log(rec, "CLEAR FORWARD")
        if rec.cleared_by is None:
            rec.cleared_by, rec.cause = "confcall", 16
        self._send_bits(ch, BWD_IDLE)
        self._log(rec, "IDLE")
        self._finish(ch)

    # -- clearing ----------------------------------------------------------------------------------
    def _clearing(self, ch: _Chan, theirs: int) -> None:
        rec = ch.rec
        if rec is not None and rec.direction == "to_confcall":
            if theirs == BWD_IDLE:  # confcall released the channel
                self._clear_done(ch, None, None)
        elif theirs == FWD_IDLE:  # confcall cleared forward after our clear-back
            self._send_bits(ch, BWD_IDLE)
            self._log(rec, "IDLE")
            self._finish(ch)

    def _clear_done(self, ch: _Chan, by: str | None, cause: int | None) -> None:
        rec = ch.rec
        if rec is not None and rec.cleared_by is None and by is not None:
            rec.cleared_by, rec.cause = by, cause
        self._log(rec, "IDLE")
        self._finish(ch)

    def _finish(self, ch: _Chan) -> None:
        for t in ch.timers:
            if t.active():
                t.cancel()
        ch.timers.clear()
        if ch.rec is not None and ch.rec.ended_at is None:
            ch.rec.ended_at = self._now()
        self._silence(ch)
        ch.rec = None
        ch.line = Line.IDLE
        ch.idle_since = self._now()
        ch.stalled = False
        ch.seen = ch.handled = None


def _digit(code: str) -> str:
    return code if code in "0123456789" else "?"


class _Ringback:
    """China's ringback: 450 Hz, 1 s on, 4 s off, at -10 dBm0."""

    def __init__(self, law: int) -> None:
        self.law = law
        self.t = 0

    def block(self, n: int) -> bytes:
        t = np.arange(self.t, self.t + n)
        self.t += n
        on = (t % 40000) < 8000
        amp = 32768.0 * 10 ** (-3.14 / 20) * 10 ** (-10 / 20)
        pcm = np.where(on, amp * np.sin(2 * np.pi * 450 * t / 8000), 0.0)
        enc = g711.alaw_encode if self.law == g711.LAW_ALAW else g711.ulaw_encode
        return enc(np.round(pcm).astype(np.int16)).tobytes()
