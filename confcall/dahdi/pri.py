"""libpri on one D-channel, driven by a Twisted reactor (the real one or a ``task.Clock``).

What it does: owns one ``struct pri`` (CPE towards a carrier, or NET in the simulated switch),
feeds it the D-channel's frames, runs its timers, and turns its events into ``PriEvent`` records
for the owner (``PriTrunk`` on our side, the simulated switch in tests).

How it works: frames pass through the shim's ops table (``dshim_pri_new``), so the D-channel
can be a DAHDI fd or the simulated span's socket. libpri is linked statically with its
``gettimeofday`` wrapped (native/pri_glue.c): before each entry into libpri we set its clock to
``reactor.seconds()``, and schedule its next timer with ``reactor.callLater``. On the real
reactor that is the wall clock; in tests T303/T310/T200 expire in virtual time.

How to use it: ``PriLink(fd, network=False, switchtype="euroisdn_e1", reactor=r,
on_event=f)``; call ``service()`` when the fd is readable (``start_reading()`` registers it with
a real reactor; tests call it from the virtual media clock), and invoke libpri through
``link.call(lib.pri_xxx, args...)`` so the clock and timers stay in step.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

from ._shim import ffi, lib
from .errors import DahdiError

__all__ = ["PriLink", "PriEvent", "SWITCH_TYPES", "PriError", "event_name", "cause_text"]

log = logging.getLogger("confcall.pri")

SWITCH_TYPES: dict[str, int] = {
    "euroisdn_e1": lib.PRI_SWITCH_EUROISDN_E1,
    "euroisdn_t1": lib.PRI_SWITCH_EUROISDN_T1,
    "ni2": lib.PRI_SWITCH_NI2,
    "ni1": lib.PRI_SWITCH_NI1,
    "5ess": lib.PRI_SWITCH_LUCENT5E,
    "4ess": lib.PRI_SWITCH_ATT4ESS,
    "dms100": lib.PRI_SWITCH_DMS100,
    "qsig": lib.PRI_SWITCH_QSIG,
}

_EPOCH_FOR_VIRTUAL = 1_600_000_000.0  # task.Clock starts at 0; libpri expects a plausible time


class PriError(DahdiError):
    """libpri refused an operation (bad switch type, no memory, call already gone)."""


@dataclass(frozen=True)
class PriEvent:
    """One libpri event, copied out of libpri's buffer (which the next call reuses)."""

    kind: int
    call: Any  # q931_call * (opaque), or None
    channel: int = -1  # B-channel number (timeslot on E1), -1 for none/any
    cause: int = 0
    calling: str = ""
    calling_pres: int = 0
    called: str = ""
    progressmask: int = 0
    cref: int = 0
    text: str = ""

    @property
    def name(self) -> str:
        return event_name(self.kind)

    @property
    def inband(self) -> bool:
        return bool(self.progressmask & lib.PRI_PROG_INBAND_AVAILABLE)


def event_name(kind: int) -> str:
    return ffi.string(lib.pri_event2str(kind)).decode()


def cause_text(cause: int) -> str:
    return ffi.string(lib.pri_cause2str(cause)).decode()


def _channel(raw: int) -> int:
    """libpri packs span and flags above the low byte; 0xFF / -1 mean 'any channel'."""
    if raw < 0:
        return -1
    ch = raw & 0xFF
    return -1 if ch == 0xFF else ch


def _s(c: Any) -> str:
    return ffi.string(c).decode(errors="replace")


def _copy(e: Any) -> PriEvent:
    k = e.e
    if k == lib.PRI_EVENT_RING:
        r = e.ring
        return PriEvent(k, r.call, _channel(r.channel), 0, _s(r.callingnum), r.callingpres,
                        _s(r.callednum), r.progressmask, r.cref)
    if k in (lib.PRI_EVENT_HANGUP, lib.PRI_EVENT_HANGUP_REQ, lib.PRI_EVENT_HANGUP_ACK):
        h = e.hangup
        return PriEvent(k, h.call, _channel(h.channel), h.cause, cref=h.cref)
    if k == lib.PRI_EVENT_RINGING:
        r = e.ringing
        return PriEvent(k, r.call, _channel(r.channel), progressmask=r.progressmask, cref=r.cref)
    if k == lib.PRI_EVENT_ANSWER:
        a = e.answer
        return PriEvent(k, a.call, _channel(a.channel), progressmask=a.progressmask, cref=a.cref)
    if k in (lib.PRI_EVENT_PROCEEDING, lib.PRI_EVENT_PROGRESS):
        p = e.proceeding
        return PriEvent(k, p.call, _channel(p.channel), p.cause, progressmask=p.progressmask,
                        cref=p.cref)
    if k in (lib.PRI_EVENT_RESTART, lib.PRI_EVENT_RESTART_ACK):
        return PriEvent(k, None, _channel(e.restart.channel))
    if k == lib.PRI_EVENT_CONFIG_ERR:
        return PriEvent(k, None, text=_s(e.err.err))
    if k == lib.PRI_EVENT_KEYPAD_DIGIT:
        return PriEvent(k, e.digit.call, _channel(e.digit.channel), text=_s(e.digit.digits))
    return PriEvent(k, None)


_loggers_installed = False


@ffi.def_extern()
def _pri_message(pri: Any, text: Any) -> None:
    log.debug("libpri: %s", _s(text).rstrip())


@ffi.def_extern()
def _pri_error(pri: Any, text: Any) -> None:
    log.warning("libpri: %s", _s(text).rstrip())


def _install_loggers() -> None:
    global _loggers_installed
    if not _loggers_installed:
        lib.pri_set_message(lib._pri_message)
        lib.pri_set_error(lib._pri_error)
        _loggers_installed = True


class PriLink:
    """One libpri instance on one D-channel fd."""

    def __init__(self, fd: int, *, network: bool, switchtype: str, reactor: Any,
                 on_event: Callable[[PriEvent], None],
                 on_fd_event: Callable[[], None] | None = None, name: str = "pri",
                 debug: int = 0, timers: dict[str, int] | None = None) -> None:
        """``timers``: libpri timers to set, by Q.921/Q.931 name in milliseconds (e.g.
        ``{"T309": 30000}``); the others keep libpri's defaults for the switch type."""
        if switchtype not in SWITCH_TYPES:
            raise PriError(22, "pri_new", detail=(
                f"unknown switch type {switchtype!r}; known: {', '.join(SWITCH_TYPES)}"))
        _install_loggers()
        self.fd = fd
        self.name = name
        self.network = network
        self.switchtype = switchtype
        self.reactor = reactor
        self.on_event = on_event
        self.on_fd_event = on_fd_event
        self.up = False
        self.frames_in = 0
        self._timer: Any = None
        self._virtual = reactor.seconds() < 1e9
        self._sync()
        self.pri = lib.dshim_pri_new(fd, lib.PRI_NETWORK if network else lib.PRI_CPE,
                                     SWITCH_TYPES[switchtype])
        if self.pri == ffi.NULL:
            raise PriError(12, "pri_new", detail=f"{name}: libpri could not start")
        if debug:
            lib.pri_set_debug(self.pri, debug)
        for timer, ms in (timers or {}).items():
            self.set_timer(timer, ms)
        self._pfd = ffi.new("struct pollfd[1]")
        self._sec = ffi.new("long *")
        self._usec = ffi.new("long *")
        self._reschedule()

    # -- libpri's timers -----------------------------------------------------------------------
    def set_timer(self, timer: str, ms: int) -> None:
        """Set one of libpri's timers (``pri_set_timer``) by name, e.g. "T309", in ms."""
        idx = lib.pri_timer2idx(timer.encode())
        if idx < 0 or lib.pri_set_timer(self.pri, idx, int(ms)) != 0:
            raise PriError(22, "pri_set_timer", detail=f"{self.name}: libpri has no timer "
                           f"{timer!r} (or refused {ms} ms)")

    def timer(self, timer: str) -> int:
        """The value of one of libpri's timers in ms (``pri_get_timer``)."""
        idx = lib.pri_timer2idx(timer.encode())
        if idx < 0:
            raise PriError(22, "pri_get_timer", detail=f"{self.name}: no libpri timer {timer!r}")
        return int(lib.pri_get_timer(self.pri, idx))

    # -- the clock ----------------------------------------------------------------------------
    def _now(self) -> float:
        t = float(self.reactor.seconds())
        return t + _EPOCH_FOR_VIRTUAL if self._virtual else t

    def _sync(self) -> None:
        lib.dshim_pri_set_now(int(self._now() * 1_000_000))

    def _reschedule(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self._sync()
        if lib.dshim_pri_next_timer(self.pri, self._sec, self._usec):
            due = self._sec[0] + self._usec[0] / 1_000_000
            self._timer = self.reactor.callLater(max(0.0, due - self._now()), self._run_timers)

    def _run_timers(self) -> None:
        self._timer = None
        self._sync()
        e = lib.pri_schedule_run(self.pri)
        ev = _copy(e) if e != ffi.NULL else None
        self._reschedule()
        if ev is not None:
            self._dispatch(ev)

    # -- I/O --------------------------------------------------------------------------------
    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Invoke a libpri function on this link with the clock and timers kept in step."""
        self._sync()
        try:
            return fn(self.pri, *args)
        finally:
            self._reschedule()

    def setup(self, call: Any, chanpos: int, alaw: bool, called: str, caller: str,
              presentation: int | None = None) -> int:
        """Send SETUP for ``call`` on an exclusive B-channel: speech, the span's law, the
        called number (complete), the caller with its presentation (allowed when given,
        'not available' when empty). Returns libpri's result (0 = sent)."""
        if presentation is None:
            presentation = (lib.PRES_ALLOWED_USER_NUMBER_NOT_SCREENED if caller
                            else lib.PRES_NUMBER_NOT_AVAILABLE)
        sr = lib.pri_sr_new()
        try:
            lib.pri_sr_set_channel(sr, chanpos, 1, 0)
            lib.pri_sr_set_bearer(sr, lib.PRI_TRANS_CAP_SPEECH,
                                  lib.PRI_LAYER_1_ALAW if alaw else lib.PRI_LAYER_1_ULAW)
            lib.pri_sr_set_called(sr, ffi.new("char[]", called.encode()), lib.PRI_UNKNOWN, 1)
            lib.pri_sr_set_caller(sr, ffi.new("char[]", caller.encode()), ffi.NULL,
                                  lib.PRI_UNKNOWN, presentation)
            return int(self.call(lib.pri_setup, call, sr))
        finally:
            lib.pri_sr_free(sr)

    def service(self, max_frames: int = 256) -> int:
        """Process every frame waiting on the D-channel (and any DAHDI event). Never blocks."""
        handled = 0
        while handled < max_frames:
            self._pfd[0].fd = self.fd
            self._pfd[0].events = lib.POLLIN | lib.POLLPRI
            self._pfd[0].revents = 0
            if lib.dshim_poll(self._pfd, 1, 0) <= 0:
                break
            rev = self._pfd[0].revents
            if rev & lib.POLLPRI and self.on_fd_event is not None:
                self.on_fd_event()
                if not rev & lib.POLLIN:
                    continue
            if not rev & lib.POLLIN:
                break
            self._sync()
            e = lib.pri_check_event(self.pri)
            self.frames_in += 1
            handled += 1
            ev = _copy(e) if e != ffi.NULL else None
            self._reschedule()
            if ev is not None:
                self._dispatch(ev)
        return handled

    def _dispatch(self, ev: PriEvent) -> None:
        if ev.kind == lib.PRI_EVENT_DCHAN_UP:
            self.up = True
        elif ev.kind == lib.PRI_EVENT_DCHAN_DOWN:
            self.up = False
        try:
            self.on_event(ev)
        except Exception:  # one bad event must not take the D-channel down
            log.exception("%s: handling %s failed", self.name, ev.name)

    def start_reading(self) -> None:
        """Production: let the reactor call service() whenever the fd is readable."""
        self._reader: _Reader | None = _Reader(self)
        self.reactor.addReader(self._reader)

    def stop(self) -> None:
        """No more timers or reads (call before the D-channel fd is closed)."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        reader = getattr(self, "_reader", None)
        if reader is not None:
            self.reactor.removeReader(reader)
            self._reader = None


class _Reader:
    """A D-channel fd as a Twisted IReadDescriptor (the libpri frames are tiny and rare)."""

    def __init__(self, link: PriLink) -> None:
        self.link = link

    def fileno(self) -> int:
        return self.link.fd

    def doRead(self) -> None:
        self.link.service()

    def connectionLost(self, reason: Any) -> None:
        log.warning("%s: D-channel reader lost: %s", self.link.name, reason)

    def logPrefix(self) -> str:
        return self.link.name
