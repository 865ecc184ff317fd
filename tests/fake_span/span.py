"""Simulated E1/T1 spans: timeslots, signalling types, alarms, counters and the far end.

What it models (DAHDI's view of a digital span):
- E1: 31 timeslots, A-law; PRI puts the HDLC D-channel on timeslot 16, MFC/R2 (CAS) leaves
  16 unconfigured (it carries the ABCD bits). T1: 24 timeslots, μ-law, PRI D-channel on 24.
- Alarms (RED/LOS, BLUE/AIS, YELLOW/RAI, LOOPBACK) raise DAHDI_EVENT_ALARM on every open
  channel of the span and DAHDI_EVENT_NOALARM when they clear, as dahdi_alarm_notify does.
- Error counters (BPV, CRC4, E-bit, FAS) that SPANSTAT reports.
- The far end of each B-channel: a ``source`` producing the audio confcall receives and a
  ``sink`` getting the audio confcall sends, once per 20 ms tick. The D-channel is relayed
  frame by frame between confcall's fd and the carrier side's fd (``dchannel_peer``), and the
  relay stops while the line is down.
"""
from __future__ import annotations

import errno
import socket
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from confcall.dahdi import device
from confcall.dahdi._shim import ffi, lib
from confcall.dahdi.constants import Alarm, Event, Law, SigType

__all__ = ["SimSpan", "SimChannel", "LineType", "SAMPLES_PER_TICK"]

SAMPLES_PER_TICK = 160  # 20 ms at 8 kHz
_HEARD_CAP = 8000 * 120  # keep the last two minutes of what confcall sent per channel

LineType = str  # "E1" | "T1"
_LINE_DOWN = Alarm.RED | Alarm.BLUE | Alarm.LOS | Alarm.LFA


@dataclass
class SimChannel:
    """One timeslot as DAHDI presents it, plus the simulated far end of its wire."""

    channo: int
    span: "SimSpan"
    chanpos: int
    sigtype: int
    law: Law
    blocksize: int = SAMPLES_PER_TICK
    linear: bool = False
    audiomode: bool = False
    ec_taps: int = 128
    bufinfo: tuple[int, int] = (4, SAMPLES_PER_TICK)
    rxbits: int = 0x9  # CAS towards us: R2 idle (AB = 10; CD = 01 as ITU, China uses 11)
    txbits: int = 0x9
    txbits_set: bool = False
    fd: int = -1
    far: socket.socket | None = None
    events: deque[int] = field(default_factory=deque)
    source: Callable[[int], bytes] | None = None
    sink: Callable[[bytes], None] | None = None
    heard: bytearray = field(default_factory=bytearray)
    _due: int = 0
    overruns: int = 0
    _blocks_sent: int = 0  # see blocks_sent
    # every change of the ABCD bits confcall sends, in order: the far end samples the line
    # every frame, so even a state held for less than a tick is seen (e.g. a double seizure)
    tx_changes: deque[int] = field(default_factory=lambda: deque(maxlen=64))

    @property
    def is_open(self) -> bool:
        return self.fd >= 0

    @property
    def is_dchannel(self) -> bool:
        return SigType(self.sigtype).is_dchannel

    @property
    def blocks_sent(self) -> int:
        """Blocks delivered towards confcall's fd since it was opened."""
        return self._blocks_sent + self.span.batched_blocks_sent(self)

    @property
    def idle_code(self) -> int:
        return self.law.idle_code

    def name(self) -> str:
        return f"{self.span.name}/{self.chanpos}"

    # -- events ---------------------------------------------------------------------------
    def queue_event(self, event: int) -> None:
        if not self.is_open:
            return
        self.events.append(event)
        device.set_event_pending(self.fd, True)

    def pop_event(self) -> int:
        ev = self.events.popleft() if self.events else Event.NONE
        if not self.events and self.fd >= 0:
            device.set_event_pending(self.fd, False)
        return int(ev)

    def set_rx_bits(self, bits: int) -> None:
        """The far end changes the ABCD bits it sends (CAS)."""
        if bits != self.rxbits:
            self.rxbits = bits & 0xF
            self.queue_event(Event.BITSCHANGED)

    # -- the 20 ms tick -------------------------------------------------------------------
    def tick(self, line_down: bool) -> None:
        assert self.far is not None
        self._due += SAMPLES_PER_TICK
        while self._due >= self.blocksize:
            self._due -= self.blocksize
            if line_down or self.source is None:
                block = bytes([self.idle_code]) * self.blocksize
            else:
                block = self.source(self.blocksize)
            try:
                self.far.send(block)
                self._blocks_sent += 1
            except BlockingIOError:
                self.overruns += 1  # confcall is not reading: the driver would drop too
        if self.sigtype == SigType.CAS:
            self._carry_one_block(line_down)
            return
        while True:
            try:
                data = self.far.recv(65536)
            except BlockingIOError:
                break
            if not data or line_down:
                continue
            if self.sink is not None:
                self.sink(data)
            if self.span.keep_heard:
                self.heard += data
                if len(self.heard) > _HEARD_CAP:
                    del self.heard[: len(self.heard) - _HEARD_CAP]

    def _carry_one_block(self, line_down: bool) -> None:
        """A CAS timeslot as the span paces it: one written block leaves per 20 ms tick (the
        rest wait in the channel's buffers, which is what DAHDI_IOMUX's WRITE reports), and
        when nothing was written the line carries idle. OpenR2 writes its MF tones ahead, so
        the pacing matters here; PRI B-channels are written once a tick by the media engine."""
        try:
            data = self.far.recv(65536)
        except BlockingIOError:
            data = b""
        if not data or line_down:
            data = bytes([self.idle_code]) * self.blocksize
        if self.sink is not None:
            self.sink(data)
        self.heard += data
        if len(self.heard) > _HEARD_CAP:
            del self.heard[: len(self.heard) - _HEARD_CAP]

    def attach(self, fd: int, far: socket.socket) -> None:
        self.span.channels_changed()
        self.fd, self.far = fd, far
        self._due = 0
        self._blocks_sent = 0
        self.events.clear()

    def detach(self) -> None:
        self.span.channels_changed()
        if self.fd >= 0:
            device.set_event_pending(self.fd, False)
        self.fd, self.far = -1, None
        self.events.clear()
        self.txbits_set = False


class SimSpan:
    """A simulated digital span with global channel numbers starting at ``basechan``."""

    def __init__(self, spanno: int, line: LineType = "E1", signalling: str = "pri", *,
                 basechan: int = 1, name: str | None = None, crc4: bool = True,
                 syncsrc: int = 0) -> None:
        if line not in ("E1", "T1"):
            raise ValueError(f"span {spanno}: line type must be E1 or T1, got {line!r}")
        if signalling not in ("pri", "cas"):
            raise ValueError(f"span {spanno}: signalling must be pri or cas, got {signalling!r}")
        from confcall.dahdi.r2 import line_signalling_error
        why = line_signalling_error(line, signalling)
        if why:
            raise ValueError(f"span {spanno}: {why}")
        self.spanno = spanno
        self.line = line
        self.signalling = signalling
        self.basechan = basechan
        self.name = name or f"SIM/0/{spanno}"
        self.desc = f"Simulated {line} {signalling.upper()} span {spanno}"
        self.crc4 = crc4 and line == "E1"
        self.syncsrc = syncsrc
        self.alarms = 0
        self.counters = {"bpv": 0, "crc4": 0, "ebit": 0, "fas": 0}
        law = Law.ALAW if line == "E1" else Law.MULAW
        total = 31 if line == "E1" else 24
        dpos = 16 if line == "E1" else 24
        self.channels: list[SimChannel] = []
        for pos in range(1, total + 1):
            if pos == dpos:
                sig = SigType.HDLCFCS if signalling == "pri" else SigType.NONE
            else:
                sig = SigType.CLEAR if signalling == "pri" else SigType.CAS
            self.channels.append(SimChannel(basechan + pos - 1, self, pos, int(sig), law))
        # The carrier side of the D-channel: a SOCK_SEQPACKET pair relayed at each tick.
        self._dpeer_near: socket.socket | None = None
        self.dchannel_peer: socket.socket | None = None
        if signalling == "pri":
            self._dpeer_near, self.dchannel_peer = socket.socketpair(
                socket.AF_UNIX, socket.SOCK_SEQPACKET)
            self._dpeer_near.setblocking(False)
            self.dchannel_peer.setblocking(False)
        self.dframes_dropped = 0
        self.dchannel_cut = False  # frames lost both ways while the line itself stays up
        self.keep_heard = True  # False: channels do not keep what confcall sent (soak runs)
        self._dchannel = next((c for c in self.channels if c.is_dchannel), None)
        self._batch: _Batch | None = None
        self._slow: list[SimChannel] = []
        self._rows_dirty = True

    def channels_changed(self) -> None:
        """A channel was opened or closed or changed its block size: the next tick re-sorts
        the open channels into the batched path and the per-channel one."""
        if self._batch is not None:
            self._batch.fold_counts()
        self._rows_dirty = True

    def batched_blocks_sent(self, ch: SimChannel) -> int:
        return self._batch.sent_of(ch) if self._batch is not None else 0

    def _sort_rows(self) -> None:
        self.channels_changed()
        self._rows_dirty = False
        live = [ch for ch in self.channels
                if ch.is_open and not ch.is_dchannel and ch.sigtype != SigType.NONE]
        fast = [ch for ch in live
                if ch.sigtype == SigType.CLEAR and ch.blocksize == SAMPLES_PER_TICK]
        self._slow = [ch for ch in live if ch not in fast]
        self._batch = _Batch(fast) if fast else None

    def cut_dchannel(self, cut: bool = True) -> None:
        """Lose every D-channel frame (both ways) until called with False: a Q.921 link
        failure with no alarm on the line (a faulty HDLC controller, a cross-connect)."""
        self.dchannel_cut = cut

    # -- facts ----------------------------------------------------------------------------
    @property
    def totalchans(self) -> int:
        return len(self.channels)

    @property
    def numchans(self) -> int:
        return sum(1 for c in self.channels if c.sigtype != SigType.NONE)

    @property
    def line_down(self) -> bool:
        return bool(self.alarms & _LINE_DOWN)

    @property
    def dchannel(self) -> SimChannel | None:
        return self._dchannel

    def bchannels(self) -> list[SimChannel]:
        return [c for c in self.channels if c.sigtype in (SigType.CLEAR, SigType.CAS)]

    def channel(self, chanpos: int) -> SimChannel:
        return self.channels[chanpos - 1]

    # -- what a test (or the demo) does to the line -----------------------------------------
    def raise_alarm(self, *alarms: str) -> None:
        """E.g. raise_alarm("RED", "LOS"): the line went down; every open channel hears it."""
        self._set_alarms(self.alarms | _parse_alarms(alarms))

    def clear_alarm(self, *alarms: str) -> None:
        """Clear the named alarms (all when none named)."""
        bits = _parse_alarms(alarms) if alarms else self.alarms
        self._set_alarms(self.alarms & ~bits)

    def _set_alarms(self, bits: int) -> None:
        before, self.alarms = self.alarms, bits
        if before == bits:
            return
        event = Event.ALARM if bits & ~Alarm.RECOVER else Event.NOALARM
        for ch in self.channels:
            ch.queue_event(event)

    def add_errors(self, *, bpv: int = 0, crc4: int = 0, ebit: int = 0, fas: int = 0) -> None:
        for key, n in (("bpv", bpv), ("crc4", crc4), ("ebit", ebit), ("fas", fas)):
            if n < 0:
                raise ValueError(f"error counts only grow, got {key}={n}")
            self.counters[key] += n

    # -- the 20 ms tick -------------------------------------------------------------------
    def tick(self) -> None:
        down = self.line_down
        if self._rows_dirty:
            self._sort_rows()
        if self._batch is not None:
            self._batch.tick(down, self.keep_heard)
        for ch in self._slow:
            ch.tick(down)
        self.pump_dchannel()

    def pump_dchannel(self) -> None:
        """Relay whole HDLC frames both ways; while the line is down they are lost."""
        d = self.dchannel
        if d is None or self._dpeer_near is None:
            return
        down = self.line_down or self.dchannel_cut
        if d.is_open and d.far is not None:
            _relay(d.far, self._dpeer_near, down, self)
            _relay(self._dpeer_near, d.far, down, self)
        else:
            _relay(self._dpeer_near, None, True, self)

    def close(self) -> None:
        for s in (self._dpeer_near, self.dchannel_peer):
            if s is not None:
                s.close()


class _Batch:
    """The far ends of a span's open clear-channel timeslots (PRI B-channels with 20 ms
    blocks), served with one C call each way per tick (the shim's ``dshim_write_blocks`` /
    ``dshim_read_blocks``, the calls confcall's media batch makes on its side): what
    ``SimChannel.tick`` does channel by channel, without 2 x 30 Python socket calls per span
    per tick, so hours of fully loaded spans can be simulated. Sources and sinks are still
    called per channel, in channel order."""

    def __init__(self, channels: list[SimChannel]) -> None:
        n = len(channels)
        bs = SAMPLES_PER_TICK
        self.channels = channels
        self.rows = {ch.channo: i for i, ch in enumerate(channels)}
        self.fds = np.array([ch.far.fileno() if ch.far is not None else -1 for ch in channels],
                            dtype=np.int32)
        self.again = np.full(n, -1, dtype=np.int32)  # rows to read once more (draining)
        self.idle = np.array([ch.idle_code for ch in channels], dtype=np.uint8)
        self.idle_rows = np.repeat(self.idle, bs).tobytes()
        self.tx = bytearray(self.idle_rows)
        self.txv = memoryview(self.tx)
        self.rx = np.zeros(n * bs, dtype=np.uint8)
        self.wst = np.zeros(n, dtype=np.int32)
        self.rst = np.zeros(n, dtype=np.int32)
        self.sent = np.zeros(n, dtype=np.int64)
        self._p = (ffi.cast("int *", self.fds.ctypes.data), ffi.from_buffer(self.tx),
                   ffi.cast("int *", self.wst.ctypes.data),
                   ffi.cast("int *", self.again.ctypes.data),
                   ffi.cast("uint8_t *", self.rx.ctypes.data),
                   ffi.cast("uint8_t *", self.idle.ctypes.data),
                   ffi.cast("int *", self.rst.ctypes.data))

    def sent_of(self, ch: SimChannel) -> int:
        i = self.rows.get(ch.channo)
        return int(self.sent[i]) if i is not None and self.channels[i] is ch else 0

    def fold_counts(self) -> None:
        for ch, k in zip(self.channels, self.sent.tolist(), strict=True):
            ch._blocks_sent += k
        self.sent[:] = 0

    def tick(self, line_down: bool, keep_heard: bool) -> None:
        bs = SAMPLES_PER_TICK
        n = len(self.channels)
        p_fds, p_tx, p_wst, p_again, p_rx, p_idle, p_rst = self._p
        tx = self.txv
        tx[:] = self.idle_rows
        odd: list[tuple[SimChannel, bytes]] = []
        if not line_down:
            for i, ch in enumerate(self.channels):
                src = ch.source
                if src is None:
                    continue
                block = src(bs)
                if len(block) == bs:
                    tx[i * bs:(i + 1) * bs] = block
                else:  # a source that sends other sizes goes out as it is, below
                    odd.append((ch, block))
        if odd:
            self.fds[[self.rows[ch.channo] for ch, _ in odd]] = -1
        lib.dshim_write_blocks(n, p_fds, p_tx, bs, bs, p_wst)
        for ch, block in odd:
            self.fds[self.rows[ch.channo]] = ch.far.fileno()  # type: ignore[union-attr]
            self.wst[self.rows[ch.channo]] = bs
            try:
                ch.far.send(block)  # type: ignore[union-attr]
            except BlockingIOError:
                self.wst[self.rows[ch.channo]] = -errno.EAGAIN
        full = self.wst == bs
        self.sent += full
        if not full.all():
            for i in np.flatnonzero(~full).tolist():
                err = -int(self.wst[i])
                if err in (errno.EAGAIN, errno.EWOULDBLOCK):
                    self.channels[i].overruns += 1  # confcall is not reading
                elif err != errno.EBADF:
                    raise OSError(err, f"{self.channels[i].name()}: send failed")
        # what confcall sent: every waiting block, in order, to the sink
        p_read = p_fds
        while True:
            lib.dshim_read_blocks(n, p_read, p_rx, bs, bs, p_idle, p_rst)
            got = np.flatnonzero(self.rst > 0)
            if got.size == 0:
                break
            if not line_down:
                for i in got.tolist():
                    ch = self.channels[i]
                    if ch.sink is None and not keep_heard:
                        continue
                    data = self.rx[i * bs:i * bs + int(self.rst[i])].tobytes()
                    if ch.sink is not None:
                        ch.sink(data)
                    if keep_heard:
                        ch.heard += data
                        if len(ch.heard) > _HEARD_CAP:
                            del ch.heard[: len(ch.heard) - _HEARD_CAP]
            self.again[:] = -1
            self.again[got] = self.fds[got]
            p_read = p_again


def _relay(src: socket.socket, dst: socket.socket | None, drop: bool, span: SimSpan) -> None:
    while True:
        try:
            frame = src.recv(65536)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno in (errno.EBADF, errno.ENOTCONN):
                return
            raise
        if drop or dst is None:
            span.dframes_dropped += 1
            continue
        try:
            dst.send(frame)
        except BlockingIOError:
            span.dframes_dropped += 1


_ALARM_NAMES = {"RED": Alarm.RED, "LOS": Alarm.LOS, "BLUE": Alarm.BLUE, "AIS": Alarm.BLUE,
                "YELLOW": Alarm.YELLOW, "RAI": Alarm.YELLOW, "LOOPBACK": Alarm.LOOPBACK,
                "LFA": Alarm.LFA, "LMFA": Alarm.LMFA, "RECOVER": Alarm.RECOVER}


def _parse_alarms(names: tuple[str, ...]) -> int:
    bits = 0
    for n in names:
        try:
            bits |= _ALARM_NAMES[n.upper()]
        except KeyError:
            raise ValueError(f"unknown alarm {n!r}; known: {', '.join(sorted(_ALARM_NAMES))}") \
                from None
    return bits
