"""A DAHDI span: its status (SPANSTAT) and the channels confcall opened on it.

Why here and not in the signaling code: alarms and error counters are facts about the line
(the E1/T1 itself) that an operator needs whichever protocol runs over it.
"""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from ._shim import ffi, lib
from .channel import Channel
from .constants import Alarm, SigType, alarm_names, event_name
from .errors import DahdiError

__all__ = ["Span", "SpanStatus", "ChannelEvent", "span_status"]


@dataclass(frozen=True)
class SpanStatus:
    """DAHDI_SPANSTAT, decoded: what `confcall span status` shows."""

    spanno: int
    name: str
    desc: str
    alarms: int
    bpv: int
    crc4: int
    ebit: int
    fas: int
    syncsrc: int
    numchans: int
    totalchans: int
    totalspans: int
    lbo: int
    lineconfig: int
    spantype: str
    manufacturer: str
    devicetype: str
    location: str

    @property
    def alarm_names(self) -> tuple[str, ...]:
        return alarm_names(self.alarms)

    @property
    def ok(self) -> bool:
        return not self.alarms & (Alarm.RED | Alarm.BLUE | Alarm.YELLOW | Alarm.LOOPBACK |
                                  Alarm.LOS |
                                  Alarm.LFA | Alarm.LMFA | Alarm.NOTOPEN)

    def as_dict(self) -> dict[str, object]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["alarm_names"] = list(self.alarm_names)
        d["ok"] = self.ok
        return d


@dataclass(frozen=True)
class ChannelEvent:
    channo: int
    event: int

    @property
    def name(self) -> str:
        return event_name(self.event)


def _s(c: object) -> str:
    return ffi.string(c).decode(errors="replace")  # type: ignore[arg-type]


def span_status(spanno: int) -> SpanStatus:
    """SPANSTAT through /dev/dahdi/ctl (no channel need be open)."""
    if spanno < 1:
        raise DahdiError(errno.EINVAL, "DAHDI_SPANSTAT", span=spanno,
                         detail=f"span numbers start at 1, got {spanno}")
    fd = lib.dshim_open(b"/dev/dahdi/ctl", os.O_RDWR)
    if fd < 0:
        raise DahdiError(-fd, "open /dev/dahdi/ctl", span=spanno)
    try:
        s = ffi.new("struct dahdi_spaninfo *")
        s.spanno = spanno
        rc = lib.dshim_ioctl(fd, lib.DAHDI_SPANSTAT, s)
        if rc < 0:
            raise DahdiError(-rc, "DAHDI_SPANSTAT", span=spanno)
        return SpanStatus(spanno=s.spanno, name=_s(s.name), desc=_s(s.desc), alarms=s.alarms,
                          bpv=s.bpvcount, crc4=s.crc4count, ebit=s.ebitcount, fas=s.fascount,
                          syncsrc=s.syncsrc, numchans=s.numchans, totalchans=s.totalchans,
                          totalspans=s.totalspans,
                          lbo=s.lbo, lineconfig=s.lineconfig, spantype=_s(s.spantype),
                          manufacturer=_s(s.manufacturer), devicetype=_s(s.devicetype),
                          location=_s(s.location))
    finally:
        lib.dshim_close(fd)


@dataclass
class Span:
    """The channels of one span that confcall holds open, plus its status.

    ``Span.open(spanno, channels)`` opens each listed channel, checks DAHDI agrees it belongs
    to this span, and sorts them into bearer (B) channels, the D-channel and CAS channels by
    their signalling type. A channel that fails to open is reported in ``failed`` and the
    others still work: one broken timeslot must not take a trunk down.

    ``echo_taps``: 0 turns the card's (or kernel's) echo canceller off on the voice channels
    (confcall's own runs in dsp/); > 0 turns it on with that many taps (DAHDI_ECHOCANCEL_PARAMS),
    for spans whose span config says ``echo_canceller = "hw"`` (or a kernel module).
    """

    spanno: int
    bchannels: list[Channel] = field(default_factory=list)
    dchannel: Channel | None = None
    cas: list[Channel] = field(default_factory=list)
    failed: dict[int, DahdiError] = field(default_factory=dict)
    echo_taps: int = 0  # the card's echo canceller on the B-channels (0 = off)

    @classmethod
    def open(cls, spanno: int, channels: Iterable[int], *, blocksize: int = 160,
             echo_taps: int = 0) -> "Span":
        span = cls(spanno)
        span.echo_taps = echo_taps
        for channo in channels:
            try:
                ch = Channel(channo)
            except DahdiError as e:
                span.failed[channo] = e
                continue
            try:
                span._adopt(ch, blocksize, echo_taps)
            except DahdiError as e:
                ch.close()
                span.failed[channo] = e
        return span

    def _adopt(self, ch: Channel, blocksize: int, echo_taps: int = 0) -> None:
        p = ch.params()
        if p.spanno != self.spanno:
            raise DahdiError(errno.EINVAL, "open", channel=ch.channo,
                             detail=f"channel belongs to span {p.spanno}, not {self.spanno}")
        sig = p.sigtype
        if sig in (SigType.HDLCFCS, SigType.HDLCNET, SigType.HARDHDLC, SigType.HDLCRAW):
            ch.set_bufinfo(numbufs=32, bufsize=1024)
            self.dchannel = ch
            return
        if sig == SigType.CAS:
            self.cas.append(ch)
        elif sig != SigType.CLEAR:
            raise DahdiError(errno.EINVAL, "open", channel=ch.channo,
                             detail=f"unsupported signalling type {p.sigtype_name}")
        else:
            self.bchannels.append(ch)
        ch.set_blocksize(blocksize)
        ch.set_bufinfo(numbufs=4, bufsize=blocksize)
        ch.set_audiomode(True)
        if echo_taps and sig == SigType.CLEAR:
            ch.enable_echocancel(echo_taps)
        else:
            ch.disable_echocancel()
        ch.flush()

    def status(self) -> SpanStatus:
        return span_status(self.spanno)

    def channels(self) -> Iterator[Channel]:
        if self.dchannel is not None:
            yield self.dchannel
        yield from self.bchannels
        yield from self.cas

    def poll_events(self, timeout_ms: int = 0) -> list[ChannelEvent]:
        """Fetch every pending DAHDI event (POLLPRI) on this span's channels."""
        chans = [c for c in self.channels() if not c.closed]
        if not chans:
            return []
        fds = ffi.new("struct pollfd[]", len(chans))
        for i, c in enumerate(chans):
            fds[i].fd = c.fileno()
            fds[i].events = lib.POLLPRI
        rc = lib.dshim_poll(fds, len(chans), timeout_ms)
        if rc < 0:
            raise DahdiError(-rc, "poll", span=self.spanno)
        out: list[ChannelEvent] = []
        for i, c in enumerate(chans):
            if fds[i].revents & lib.POLLPRI:
                out.extend(ChannelEvent(c.channo, int(ev)) for ev in c.drain_events())
        return out

    def close(self) -> None:
        for ch in list(self.channels()):
            ch.close()

    def __enter__(self) -> "Span":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

