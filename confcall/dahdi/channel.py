"""One DAHDI channel: the fd, its ioctls and its events, owned by one object.

Why a class that owns the fd: a leaked or double-closed fd on a trunk card silently steals a
timeslot. ``Channel`` closes explicitly (``close()`` or ``with``), never in ``__del__``, and
refuses every call once closed with an error that names the channel.
"""
from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any

from ._shim import ffi, lib
from .constants import (ELAST, IOCTL_NAMES, MAX_BLOCKSIZE, Event, Law, alarm_names,
                        sigtype_name)
from .errors import DahdiError

__all__ = ["Channel", "ChannelParams"]


@dataclass(frozen=True)
class ChannelParams:
    """What DAHDI_GET_PARAMS says about a channel."""

    channo: int
    spanno: int
    chanpos: int
    sigtype: int
    curlaw: int
    rxbits: int
    txbits: int
    name: str
    alarms: int

    @property
    def sigtype_name(self) -> str:
        return sigtype_name(self.sigtype)

    @property
    def alarm_names(self) -> tuple[str, ...]:
        return alarm_names(self.alarms)


class Channel:
    """An open DAHDI channel (``/dev/dahdi/channel`` + DAHDI_SPECIFY)."""

    def __init__(self, channo: int) -> None:
        if not isinstance(channo, int) or isinstance(channo, bool) or channo < 1:
            raise DahdiError(errno.EINVAL, "open", channel=channo,
                             detail=f"channel number must be a positive integer, got {channo!r}")
        self.channo = channo
        fd = lib.dshim_open_channel(channo)
        if fd < 0:
            raise DahdiError(-fd, "open+DAHDI_SPECIFY", channel=channo)
        self._fd = fd
        self._int = ffi.new("int *")

    # -- lifetime -------------------------------------------------------------------------
    def close(self) -> None:
        """Release the channel. Closing twice is harmless."""
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            rc = lib.dshim_close(fd)
            if rc < 0:
                raise DahdiError(-rc, "close", channel=self.channo)

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def fileno(self) -> int:
        self._check_open("fileno")
        return self._fd

    def __enter__(self) -> "Channel":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Channel {self.channo} fd={self._fd}>"

    # -- ioctls ---------------------------------------------------------------------------
    def _check_open(self, op: str) -> None:
        if self._fd < 0:
            raise DahdiError(errno.EBADF, op, channel=self.channo, detail="channel is closed")

    def _ioctl(self, request: int, arg: Any) -> int:
        self._check_open(IOCTL_NAMES.get(request, hex(request)))
        rc = lib.dshim_ioctl(self._fd, request, arg)
        if rc < 0:
            raise DahdiError(-rc, IOCTL_NAMES.get(request, hex(request)), channel=self.channo)
        return rc

    def _ioctl_int(self, request: int, value: int = 0) -> int:
        self._int[0] = value
        self._ioctl(request, self._int)
        return int(self._int[0])

    def params(self) -> ChannelParams:
        p = ffi.new("struct dahdi_params *")
        p.channo = 0  # 0: the channel this fd is specified to
        self._ioctl(lib.DAHDI_GET_PARAMS, p)
        return ChannelParams(channo=p.channo, spanno=p.spanno, chanpos=p.chanpos,
                             sigtype=p.sigtype, curlaw=p.curlaw, rxbits=p.rxbits,
                             txbits=p.txbits, name=ffi.string(p.name).decode(errors="replace"),
                             alarms=p.chan_alarms)

    def set_blocksize(self, samples: int) -> None:
        if not 16 <= samples <= MAX_BLOCKSIZE:
            raise DahdiError(errno.EINVAL, "DAHDI_SET_BLOCKSIZE", channel=self.channo,
                             detail=f"block size {samples} outside 16..{MAX_BLOCKSIZE}")
        self._ioctl_int(lib.DAHDI_SET_BLOCKSIZE, samples)

    def blocksize(self) -> int:
        return self._ioctl_int(lib.DAHDI_GET_BLOCKSIZE)

    def set_law(self, law: Law) -> None:
        self._ioctl_int(lib.DAHDI_SETLAW, int(law))

    def set_linear(self, linear: bool) -> None:
        self._ioctl_int(lib.DAHDI_SETLINEAR, 1 if linear else 0)

    def set_bufinfo(self, numbufs: int, bufsize: int, *, immediate: bool = True) -> None:
        """Buffering in the driver: numbufs × bufsize; immediate policy for live audio."""
        b = ffi.new("struct dahdi_bufferinfo *")
        policy = lib.DAHDI_POLICY_IMMEDIATE if immediate else lib.DAHDI_POLICY_WHEN_FULL
        b.txbufpolicy = b.rxbufpolicy = policy
        b.numbufs, b.bufsize = numbufs, bufsize
        self._ioctl(lib.DAHDI_SET_BUFINFO, b)

    def bufinfo(self) -> dict[str, int]:
        b = ffi.new("struct dahdi_bufferinfo *")
        self._ioctl(lib.DAHDI_GET_BUFINFO, b)
        return {k: getattr(b, k) for k in ("txbufpolicy", "rxbufpolicy", "numbufs", "bufsize",
                                           "readbufs", "writebufs")}

    def flush(self, what: int = lib.DAHDI_FLUSH_ALL) -> None:
        self._ioctl_int(lib.DAHDI_FLUSH, what)

    def set_audiomode(self, audio: bool) -> None:
        self._ioctl_int(lib.DAHDI_AUDIOMODE, 1 if audio else 0)

    def disable_echocancel(self) -> None:
        """Turn the kernel/hardware canceller off: confcall's own runs in dsp/."""
        ec = ffi.new("struct dahdi_echocanparams *")
        ec.tap_length = 0
        ec.param_count = 0
        self._ioctl(lib.DAHDI_ECHOCANCEL_PARAMS, ec)

    def enable_echocancel(self, taps: int = 128) -> None:
        """Turn the card's (or a kernel module's) echo canceller on with ``taps`` taps (8 per
        ms of echo tail); the span config chose it instead of confcall's own."""
        ec = ffi.new("struct dahdi_echocanparams *")
        ec.tap_length = taps
        ec.param_count = 0
        self._ioctl(lib.DAHDI_ECHOCANCEL_PARAMS, ec)

    def get_event(self) -> int:
        """The next queued event, or Event.NONE."""
        return self._ioctl_int(lib.DAHDI_GETEVENT)

    def drain_events(self) -> list[Event | int]:
        events: list[Event | int] = []
        while (ev := self.get_event()) != Event.NONE:
            events.append(Event(ev) if ev in Event._value2member_map_ else ev)
        return events

    def rx_bits(self) -> int:
        """CAS: the received ABCD bits."""
        return self._ioctl_int(lib.DAHDI_GETRXBITS)

    def set_tx_bits(self, bits: int) -> None:
        """CAS: the ABCD bits we send."""
        if not 0 <= bits <= 0xF:
            raise DahdiError(errno.EINVAL, "DAHDI_SETTXBITS", channel=self.channo,
                             detail=f"ABCD bits must be 0..15, got {bits}")
        self._ioctl_int(lib.DAHDI_SETTXBITS, bits)

    # -- data -----------------------------------------------------------------------------
    def read(self, size: int = MAX_BLOCKSIZE) -> bytes:
        """One block (or one HDLC frame). Empty bytes when nothing is ready.

        Raises DahdiError with errno ELAST when an event must be fetched first.
        """
        self._check_open("read")
        buf = ffi.new("char[]", size)
        rc = lib.dshim_read(self._fd, buf, size)
        if rc == -errno.EAGAIN:
            return b""
        if rc < 0:
            raise DahdiError(-rc, "read", channel=self.channo)
        return ffi.buffer(buf, rc)[:]

    def write(self, data: bytes) -> int:
        self._check_open("write")
        rc = lib.dshim_write(self._fd, data, len(data))
        if rc < 0:
            raise DahdiError(-rc, "write", channel=self.channo)
        return rc

    @staticmethod
    def event_pending_error(exc: BaseException) -> bool:
        return isinstance(exc, DahdiError) and exc.errno == ELAST
