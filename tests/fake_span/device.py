"""A user-space stand-in for /dev/dahdi: DAHDI's open/ioctl semantics over real sockets.

How it works: the shim (native/dahdi_shim.c) calls ``open``/``ioctl``/``close`` here through
its ops table with the real request numbers and the real structs from <dahdi/user.h>; this
class fills those structs as the DAHDI kernel module would. Every open hands out one end of a
``SOCK_SEQPACKET`` socketpair, so one read is one audio block or one HDLC frame and ``poll()``,
libpri and Twisted work on the fd unchanged. Reads and writes never come here: they go to the
kernel's socket code, at C speed.

How to use it: ``FakeDahdi(card).install()`` (or use ``SimCard.install()``), then open channels
with ``confcall.dahdi.Channel`` as in production; ``uninstall()`` restores libc.
"""
from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from confcall.dahdi import device
from confcall.dahdi._shim import ffi, lib
from confcall.dahdi.constants import Law, SigType

from .span import SimChannel

if TYPE_CHECKING:
    from .card import SimCard

__all__ = ["FakeDahdi"]

_CHANNEL_PATH = "/dev/dahdi/channel"
_CTL_PATH = "/dev/dahdi/ctl"


@dataclass
class _Open:
    """One open file on the fake device."""

    near: socket.socket
    far: socket.socket
    kind: str  # "channel" | "ctl"
    channel: SimChannel | None = None


class FakeDahdi:
    """The device: a registry of fds over the spans of a ``SimCard``."""

    def __init__(self, card: "SimCard") -> None:
        self.card = card
        self._files: dict[int, _Open] = {}
        self.ioctl_log: list[tuple[int, str]] = []  # (fd, ioctl name): what was really asked
        self._handlers = {
            lib.DAHDI_SPECIFY: self._specify,
            lib.DAHDI_GET_PARAMS: self._get_params,
            lib.DAHDI_GET_BLOCKSIZE: self._get_blocksize,
            lib.DAHDI_SET_BLOCKSIZE: self._set_blocksize,
            lib.DAHDI_SETLAW: self._setlaw,
            lib.DAHDI_SETLINEAR: self._setlinear,
            lib.DAHDI_GET_BUFINFO: self._get_bufinfo,
            lib.DAHDI_SET_BUFINFO: self._set_bufinfo,
            lib.DAHDI_FLUSH: self._flush,
            lib.DAHDI_AUDIOMODE: self._audiomode,
            lib.DAHDI_ECHOCANCEL_PARAMS: self._echocancel_params,
            lib.DAHDI_GETEVENT: self._getevent,
            lib.DAHDI_SPANSTAT: self._spanstat,
            lib.DAHDI_GETRXBITS: self._getrxbits,
            lib.DAHDI_SETTXBITS: self._settxbits,
            # what OpenR2 asks of a CAS channel besides the above (DAHDI_IOMUX is answered by
            # the shim itself, in C: native/dahdi_shim.c)
            lib.DAHDI_CHANNO: self._channo,
            lib.DAHDI_SETGAINS: self._setgains,
            lib.DAHDI_ECHOCANCEL: self._echocancel,
        }
        from confcall.dahdi.constants import IOCTL_NAMES
        self._names = IOCTL_NAMES
        # injected faults: ioctl name -> [errno, times left (-1: until cleared), channo or None]
        self._faults: dict[str, list[Any]] = {}

    # -- fault injection (tests) ----------------------------------------------------------
    def fail_ioctl(self, name: str, err: int, *, times: int = 1,
                   channo: int | None = None) -> None:
        """Make the ioctl ``name`` (e.g. "DAHDI_GETEVENT") fail with ``err`` the next ``times``
        times (-1: until ``clear_faults``), on channel ``channo`` only when given — what a
        driver does when a card is pulled (ENODEV) or a span misbehaves (EIO)."""
        if name not in self._names.values():
            raise ValueError(f"unknown ioctl {name!r}")
        self._faults[name] = [err, times, channo]

    def clear_faults(self) -> None:
        self._faults.clear()

    def _injected(self, f: _Open, name: str) -> int:
        fault = self._faults.get(name)
        if fault is None:
            return 0
        err, times, channo = fault
        if channo is not None and (f.channel is None or f.channel.channo != channo):
            return 0
        if times > 0:
            fault[1] -= 1
            if fault[1] == 0:
                del self._faults[name]
        return -err

    def install(self) -> "FakeDahdi":
        device.use_userspace(self)
        return self

    def uninstall(self) -> None:
        for fd in list(self._files):
            self.close(fd)
        device.use_libc()

    @property
    def open_fds(self) -> list[int]:
        return list(self._files)

    # -- the three emulated system calls ----------------------------------------------------
    def open(self, path: str, flags: int) -> int:
        if path not in (_CHANNEL_PATH, _CTL_PATH):
            return -errno.ENOENT
        near, far = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        far.setblocking(False)
        if flags & os.O_NONBLOCK:
            near.setblocking(False)
        fd = near.fileno()
        self._files[fd] = _Open(near, far, "channel" if path == _CHANNEL_PATH else "ctl")
        return fd

    def close(self, fd: int) -> int:
        f = self._files.pop(fd, None)
        if f is None:
            return -errno.EBADF
        if f.channel is not None:
            f.channel.detach()
        f.far.close()
        f.near.close()
        return 0

    def ioctl(self, fd: int, request: int, arg: Any) -> int:
        f = self._files.get(fd)
        if f is None:
            return -errno.EBADF
        handler = self._handlers.get(request)
        name = self._names.get(request, hex(request))
        self.ioctl_log.append((fd, name))
        if handler is None:
            return -errno.ENOTTY
        if self._faults:
            injected = self._injected(f, name)
            if injected:
                return injected
        return handler(f, arg)

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _int(arg: Any) -> Any:
        return ffi.cast("int *", arg)

    @staticmethod
    def _need_channel(f: _Open) -> SimChannel | int:
        if f.channel is None:
            return -errno.EINVAL  # DAHDI: channel ioctls on an unspecified fd
        return f.channel

    # -- ioctls -----------------------------------------------------------------------------
    def _specify(self, f: _Open, arg: Any) -> int:
        channo = self._int(arg)[0]
        if f.kind != "channel" or f.channel is not None:
            return -errno.EINVAL
        if not 1 <= channo <= 1024:
            return -errno.EINVAL
        ch = self.card.channel(channo)
        if ch is None or ch.sigtype == SigType.NONE:
            return -errno.ENXIO
        if ch.is_open:
            return -errno.EBUSY
        f.channel = ch
        ch.attach(f.near.fileno(), f.far)
        return 0

    def _get_params(self, f: _Open, arg: Any) -> int:
        p = ffi.cast("struct dahdi_params *", arg)
        # as dahdi-base.c: the fd's own channel wins; channo only names one on an unbound fd
        # (OpenR2 leaves channo uninitialised on its channel fds)
        ch = f.channel if f.channel is not None else self.card.channel(p.channo)
        if ch is None:
            return -errno.EINVAL
        span = ch.span
        p.channo, p.spanno, p.chanpos = ch.channo, span.spanno, ch.chanpos
        p.sigtype = p.sigcap = ch.sigtype
        p.rxbits, p.txbits = ch.rxbits, ch.txbits
        p.curlaw = int(ch.law)
        p.idlebits = 0x1
        p.rxisoffhook = 0
        p.chan_alarms = span.alarms
        name = ch.name().encode()[:39]
        ffi.memmove(p.name, name + b"\0", len(name) + 1)
        return 0

    def _get_blocksize(self, f: _Open, arg: Any) -> int:
        ch = self._need_channel(f)
        if isinstance(ch, int):
            return ch
        self._int(arg)[0] = ch.blocksize
        return 0

    def _set_blocksize(self, f: _Open, arg: Any) -> int:
        ch = self._need_channel(f)
        if isinstance(ch, int):
            return ch
        size = self._int(arg)[0]
        if not 16 <= size <= lib.DAHDI_MAX_BLOCKSIZE:
            return -errno.EINVAL
        ch.blocksize = size
        ch.span.channels_changed()
        return 0

    def _setlaw(self, f: _Open, arg: Any) -> int:
        ch = self._need_channel(f)
        if isinstance(ch, int):
            return ch
        law = self._int(arg)[0]
        if law not in (Law.DEFAULT, Law.MULAW, Law.ALAW):
            return -errno.EINVAL
        ch.law = Law(law) if law != Law.DEFAULT else (
            Law.ALAW if ch.span.line == "E1" else Law.MULAW)
        return 0

    def _setlinear(self, f: _Open, arg: Any) -> int:
        ch = self._need_channel(f)
        if isinstance(ch, int):
            return ch
        ch.linear = bool(self._int(arg)[0])
        return 0

    def _get_bufinfo(self, f: _Open, arg: Any) -> int:
        ch = self._need_channel(f)
        if isinstance(ch, int):
            return ch
        b = ffi.cast("struct dahdi_bufferinfo *", arg)
        b.numbufs, b.bufsize = ch.bufinfo
        b.txbufpolicy = b.rxbufpolicy = lib.DAHDI_POLICY_IMMEDIATE
        b.readbufs = b.writebufs = 0
        return 0

    def _set_bufinfo(self, f: _Open, arg: Any) -> int:
        ch = self._need_channel(f)
        if isinstance(ch, int):
            return ch
        b = ffi.cast("struct dahdi_bufferinfo *", arg)
        if not 2 <= b.numbufs <= 32 or not 16 <= b.bufsize <= lib.DAHDI_MAX_BLOCKSIZE:
            return -errno.EINVAL
        ch.bufinfo = (b.numbufs, b.bufsize)
        return 0

    def _flush(self, f: _Open, arg: Any) -> int:
        ch = self._need_channel(f)
        if isinstance(ch, int):
            return ch
        what = self._int(arg)[0]
        if what & lib.DAHDI_FLUSH_READ:
            _drain(f.near)
        if what & lib.DAHDI_FLUSH_WRITE:
            _drain(f.far)
        if what & lib.DAHDI_FLUSH_EVENT:
            ch.events.clear()
            ch.pop_event()
        return 0

    def _audiomode(self, f: _Open, arg: Any) -> int:
        ch = self._need_channel(f)
        if isinstance(ch, int):
            return ch
        if ch.is_dchannel:
            return -errno.EINVAL
        ch.audiomode = bool(self._int(arg)[0])
        return 0

    def _echocancel_params(self, f: _Open, arg: Any) -> int:
        ch = self._need_channel(f)
        if isinstance(ch, int):
            return ch
        ec = ffi.cast("struct dahdi_echocanparams *", arg)
        if ec.tap_length not in (0, 32, 64, 128, 256, 512, 1024):
            return -errno.EINVAL
        ch.ec_taps = ec.tap_length
        return 0

    def _getevent(self, f: _Open, arg: Any) -> int:
        ch = self._need_channel(f)
        if isinstance(ch, int):
            return ch
        self._int(arg)[0] = ch.pop_event()
        return 0

    def _spanstat(self, f: _Open, arg: Any) -> int:
        s = ffi.cast("struct dahdi_spaninfo *", arg)
        spanno = s.spanno
        if spanno == 0:
            if f.channel is None:
                return -errno.EINVAL
            spanno = f.channel.span.spanno
        span = self.card.span(spanno)
        if span is None:
            return -errno.EINVAL
        s.spanno = span.spanno
        _put(s.name, span.name, 20)
        _put(s.desc, span.desc, 40)
        s.alarms = span.alarms
        s.bpvcount, s.crc4count = span.counters["bpv"], span.counters["crc4"]
        s.ebitcount, s.fascount = span.counters["ebit"], span.counters["fas"]
        s.syncsrc = span.syncsrc
        s.numchans, s.totalchans = span.numchans, span.totalchans
        s.totalspans = len(self.card.spans)
        s.lbo = 0
        _put(s.lboname, "0 db (CSU)/0-133 feet (DSX-1)" if span.line == "T1" else "E1", 40)
        s.lineconfig = _lineconfig(span)
        _put(s.location, self.card.location, 40)
        _put(s.manufacturer, self.card.manufacturer, 40)
        _put(s.devicetype, self.card.devicetype, 40)
        _put(s.spantype, span.line, 6)
        return 0

    def _getrxbits(self, f: _Open, arg: Any) -> int:
        ch = self._need_channel(f)
        if isinstance(ch, int):
            return ch
        if ch.sigtype != SigType.CAS:
            return -errno.EINVAL
        self._int(arg)[0] = ch.rxbits
        return 0

    def _settxbits(self, f: _Open, arg: Any) -> int:
        ch = self._need_channel(f)
        if isinstance(ch, int):
            return ch
        if ch.sigtype != SigType.CAS:
            return -errno.EINVAL
        bits = self._int(arg)[0] & 0xF
        if bits != ch.txbits:
            ch.tx_changes.append(bits)
        ch.txbits = bits
        if not ch.txbits_set:
            # Field note: OpenR2 waits for a bits-changed event after its first SETTXBITS.
            ch.txbits_set = True
            ch.queue_event(lib.DAHDI_EVENT_BITSCHANGED)
        return 0


    def _channo(self, f: _Open, arg: Any) -> int:
        ch = self._need_channel(f)
        if isinstance(ch, int):
            return ch
        self._int(arg)[0] = ch.channo
        return 0

    def _setgains(self, f: _Open, arg: Any) -> int:
        ch = self._need_channel(f)
        return ch if isinstance(ch, int) else 0  # a flat gain table: audio passes unchanged

    def _echocancel(self, f: _Open, arg: Any) -> int:
        """The old-style echo canceller switch: the tap count, 0 = off."""
        ch = self._need_channel(f)
        if isinstance(ch, int):
            return ch
        taps = self._int(arg)[0]
        if taps not in (0, 32, 64, 128, 256, 512, 1024):
            return -errno.EINVAL
        ch.ec_taps = taps
        return 0


def _put(field_: Any, text: str, size: int) -> None:
    data = text.encode()[: size - 1] + b"\0"
    ffi.memmove(field_, data, len(data))


def _lineconfig(span: Any) -> int:
    if span.line == "E1":
        bits = lib.DAHDI_CONFIG_HDB3
        if span.signalling == "pri":
            bits |= lib.DAHDI_CONFIG_CCS  # CAS spans: no CCS bit, timeslot 16 carries ABCD
        return bits | lib.DAHDI_CONFIG_CRC4 if span.crc4 else bits
    return lib.DAHDI_CONFIG_B8ZS | lib.DAHDI_CONFIG_ESF


def _drain(sock: socket.socket) -> None:
    blocking = sock.getblocking()
    sock.setblocking(False)
    try:
        while True:
            try:
                sock.recv(65536)
            except BlockingIOError:
                return
    finally:
        sock.setblocking(blocking)
