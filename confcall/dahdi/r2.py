"""OpenR2 on the CAS channels of one E1 span, driven by a Twisted reactor (real or virtual).

What it does: owns one OpenR2 1.3.3 context (native/r2_glue.c) holding the span's channels,
runs their timers and I/O once per call to ``service()`` (every 20 ms tick), and turns what
OpenR2 reports into ``R2Event`` records for the owner (``R2Trunk``). Its actions (make a call,
accept with or without charge, answer, clear with a Group-B signal, block) are thin calls into
OpenR2 with the clock set first.

How it works: OpenR2 is linked statically into the shim; its ``open/ioctl/read/write/close``
go through the shim's ops table and its ``gettimeofday`` reads the clock set here from
``reactor.seconds()`` (the mapping PriLink uses, so libpri and OpenR2 share one clock). For
the China variant the context is given a protocol file that moves OpenR2's "send the next ANI
digit" request to a private code, which the glue's MF layer translates on the wire (see
r2_glue.c: OpenR2's own China table cannot send a calling number as the calling side).

How to use it: ``R2Link(fds, variant="CN", reactor=r, on_event=f)``; ``service()`` once per
tick; actions by channel index (the position of its fd in ``fds``).
"""
from __future__ import annotations

import enum
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._shim import ffi, lib
from .errors import DahdiError

__all__ = [
    "CATEGORIES",
    "VARIANTS",
    "GroupB",
    "R2Error",
    "R2Event",
    "R2Kind",
    "R2Link",
    "line_signalling_error",
]

log = logging.getLogger("confcall.r2")

VARIANTS: dict[str, int] = {
    "CN": lib.OR2_VAR_CHINA, "ITU": lib.OR2_VAR_ITU, "AR": lib.OR2_VAR_ARGENTINA,
    "BR": lib.OR2_VAR_BRAZIL, "CZ": lib.OR2_VAR_CZECH, "CO": lib.OR2_VAR_COLOMBIA,
    "EC": lib.OR2_VAR_ECUADOR, "ID": lib.OR2_VAR_INDONESIA, "MX": lib.OR2_VAR_MEXICO,
    "PH": lib.OR2_VAR_PHILIPPINES, "VE": lib.OR2_VAR_VENEZUELA,
}

CATEGORIES: dict[str, int] = {
    "national_subscriber": lib.OR2_CALLING_PARTY_CATEGORY_NATIONAL_SUBSCRIBER,
    "national_priority_subscriber": lib.OR2_CALLING_PARTY_CATEGORY_NATIONAL_PRIORITY_SUBSCRIBER,
    "international_subscriber": lib.OR2_CALLING_PARTY_CATEGORY_INTERNATIONAL_SUBSCRIBER,
    "international_priority_subscriber":
        lib.OR2_CALLING_PARTY_CATEGORY_INTERNATIONAL_PRIORITY_SUBSCRIBER,
    "test_equipment": lib.OR2_CALLING_PARTY_CATEGORY_TEST_EQUIPMENT,
}

_EPOCH_FOR_VIRTUAL = 1_600_000_000.0  # as PriLink: both libraries read the one wrapped clock


def line_signalling_error(line: str, signalling: str) -> str | None:
    """Why a span kind cannot be run, or None. The one place this rule lives (config, CLI and
    the simulator ask it): MFC/R2 runs on E1; robbed-bit T1 CAS is not supported."""
    line, signalling = line.upper(), signalling.lower()
    if line not in ("E1", "T1"):
        return f"line type {line!r}: E1 or T1"
    if signalling not in ("pri", "cas"):
        return f"signalling {signalling!r}: pri or cas (cas = MFC/R2 on E1)"
    if signalling == "cas" and line == "T1":
        return ("T1:cas is robbed-bit T1 CAS, which confcall does not support (MFC/R2 runs on "
                "E1 only): use T1:pri or E1:cas")
    return None


class R2Error(DahdiError):
    """OpenR2 refused: a bad variant, a channel that is not CAS, an action in the wrong state."""


class R2Kind(enum.IntEnum):
    CALL_INIT = lib.DSHIM_R2_CALL_INIT
    CALL_OFFERED = lib.DSHIM_R2_CALL_OFFERED
    CALL_ACCEPTED = lib.DSHIM_R2_CALL_ACCEPTED
    CALL_ANSWERED = lib.DSHIM_R2_CALL_ANSWERED
    CALL_DISCONNECT = lib.DSHIM_R2_CALL_DISCONNECT
    CALL_END = lib.DSHIM_R2_CALL_END
    PROTOCOL_ERROR = lib.DSHIM_R2_PROTOCOL_ERROR
    HW_ALARM = lib.DSHIM_R2_HW_ALARM
    OS_ERROR = lib.DSHIM_R2_OS_ERROR
    LINE_BLOCKED = lib.DSHIM_R2_LINE_BLOCKED
    LINE_IDLE = lib.DSHIM_R2_LINE_IDLE
    BILLING_PULSE = lib.DSHIM_R2_BILLING_PULSE


class GroupB(enum.IntEnum):
    """Why a call is refused before it is accepted: OpenR2 sends the variant's Group-B signal
    for it (China: busy B-2, congestion B-4, unallocated B-5, out of order B-8)."""

    BUSY = lib.OR2_CAUSE_BUSY_NUMBER
    CONGESTION = lib.OR2_CAUSE_NETWORK_CONGESTION
    UNALLOCATED = lib.OR2_CAUSE_UNALLOCATED_NUMBER
    OUT_OF_ORDER = lib.OR2_CAUSE_OUT_OF_ORDER


@dataclass(frozen=True)
class R2Event:
    kind: R2Kind
    chan: int  # channel index in the link
    arg: int = 0
    ani: str = ""
    dnis: str = ""
    restricted: bool = False  # CALL_OFFERED: the caller withheld the number

    def describe(self) -> str:
        if self.kind is R2Kind.CALL_DISCONNECT:
            return f"disconnect ({disconnect_text(self.arg)})"
        if self.kind is R2Kind.PROTOCOL_ERROR:
            return f"protocol error ({error_text(self.arg)})"
        return self.kind.name.lower().replace("_", " ")


def disconnect_text(cause: int) -> str:
    return ffi.string(lib.openr2_proto_get_disconnect_string(cause)).decode()


def error_text(error: int) -> str:
    return ffi.string(lib.openr2_proto_get_error(error)).decode()


@ffi.def_extern()
def _r2_log(level: int, text: Any) -> None:
    msg = ffi.string(text).decode(errors="replace").rstrip()
    if level & lib.OR2_LOG_ERROR:
        log.warning("openr2: %s", msg)
    elif level & (lib.OR2_LOG_WARNING | lib.OR2_LOG_NOTICE):
        log.info("openr2: %s", msg)
    else:
        log.debug("openr2: %s", msg)


lib.dshim_r2_set_logger(lib._r2_log)


def _protocol_file(variant: str, timers_ms: dict[str, int]) -> str:
    """OpenR2's protocol file text. Tone lines first: 1.3.3's parser reads a tone into one byte
    of an integer it shares with the timer lines, so a timer line before a tone corrupts it."""
    lines = []
    if variant == "CN":
        lines.append(f"mf_ga_tones.request_next_ani_digit={chr(lib.DSHIM_R2_ANI_CODE)}")
    lines += [f"timers.{name}={int(ms)}" for name, ms in sorted(timers_ms.items())]
    return "\n".join(lines) + "\n"


class R2Link:
    """One OpenR2 context over the CAS channel fds of one span."""

    def __init__(self, fds: Sequence[int], *, variant: str, reactor: Any,
                 on_event: Callable[[R2Event], None], max_ani: int = 20, max_dnis: int = 20,
                 numbers: Sequence[str] = (), timers_ms: dict[str, int] | None = None,
                 name: str = "r2") -> None:
        if variant not in VARIANTS:
            raise R2Error(22, "openr2_context_new",
                          detail=f"unknown R2 variant {variant!r}; known: {', '.join(VARIANTS)}")
        self.name = name
        self.variant = variant
        self.reactor = reactor
        self.on_event = on_event
        self._virtual = reactor.seconds() < 1e9
        self._ev = ffi.new("dshim_r2_event *")
        text = _protocol_file(variant, timers_ms or {})
        fd = os.memfd_create(f"openr2-{name}")
        try:
            os.write(fd, text.encode())
            self._sync()
            self.r2 = lib.dshim_r2_new(VARIANTS[variant], max_ani, max_dnis,
                                       f"/proc/self/fd/{fd}".encode())
        finally:
            os.close(fd)
        if self.r2 == ffi.NULL:
            raise R2Error(22, "openr2_context_new", detail=f"{name}: OpenR2 refused variant "
                          f"{variant} (max ANI {max_ani}, max DNIS {max_dnis})")
        if numbers:
            lib.dshim_r2_set_numbers(self.r2, ",".join(numbers).encode())
        self.fds = list(fds)
        for i, fd_ in enumerate(self.fds):
            self._sync()
            idx = lib.dshim_r2_add_channel(self.r2, fd_)
            if idx != i:
                why = ffi.string(lib.dshim_r2_last_error(self.r2)).decode()
                lib.dshim_r2_free(self.r2)
                self.r2 = ffi.NULL
                raise R2Error(22, "openr2_chan_new_from_fd",
                              detail=f"{name}: fd {fd_}: {why or 'refused'}")
        self._drain()

    # -- the clock ------------------------------------------------------------------------------
    def _now_us(self) -> int:
        t = float(self.reactor.seconds())
        return int((t + _EPOCH_FOR_VIRTUAL if self._virtual else t) * 1_000_000)

    def _sync(self) -> None:
        lib.dshim_pri_set_now(self._now_us())

    # -- I/O --------------------------------------------------------------------------------------
    def service(self) -> None:
        """Every channel's timers, line-signalling events and MF audio, then the events."""
        if self.r2 == ffi.NULL:
            return
        lib.dshim_r2_service(self.r2, self._now_us())
        self._drain()

    def _drain(self) -> None:
        ev = self._ev
        while self.r2 != ffi.NULL and lib.dshim_r2_next_event(self.r2, ev):
            rec = R2Event(R2Kind(ev.kind), ev.chan, ev.arg, ffi.string(ev.ani).decode(),
                          ffi.string(ev.dnis).decode(),
                          bool(ev.flags & lib.DSHIM_R2_ANI_RESTRICTED))
            try:
                self.on_event(rec)
            except Exception:  # one bad event must not stop the span
                log.exception("%s: handling %s on channel index %d failed", self.name,
                              rec.describe(), rec.chan)

    def _act(self, fn: Callable[..., int], chan: int, *args: Any) -> int:
        self._sync()
        try:
            return int(fn(self.r2, chan, *args))
        finally:
            self._drain()

    # -- actions -----------------------------------------------------------------------------------
    def make_call(self, chan: int, ani: str, dnis: str, category: str) -> int:
        return self._act(lib.dshim_r2_make_call, chan, ani.encode(), dnis.encode(),
                         CATEGORIES[category])

    def accept(self, chan: int, charge: bool) -> int:
        mode = lib.OR2_CALL_WITH_CHARGE if charge else lib.OR2_CALL_NO_CHARGE
        return self._act(lib.dshim_r2_accept, chan, mode)

    def answer(self, chan: int) -> int:
        return self._act(lib.dshim_r2_answer, chan)

    def disconnect(self, chan: int, cause: int = lib.OR2_CAUSE_NORMAL_CLEARING) -> int:
        return self._act(lib.dshim_r2_disconnect, chan, int(cause))

    def set_idle(self, chan: int) -> int:
        return self._act(lib.dshim_r2_set_idle, chan)

    def set_blocked(self, chan: int) -> int:
        return self._act(lib.dshim_r2_set_blocked, chan)

    def handle_cas(self, chan: int) -> int:
        return self._act(lib.dshim_r2_handle_cas, chan)

    def set_reading(self, chan: int, on: bool) -> None:
        lib.dshim_r2_set_reading(self.r2, chan, 1 if on else 0)

    def reading(self, chan: int) -> bool:
        return bool(lib.dshim_r2_reading(self.r2, chan))

    def state(self, chan: int) -> dict[str, str]:
        """OpenR2's view of a channel, for the operator: CAS in/out, call, R2 and MF state."""
        keys = ("rx_cas", "tx_cas", "call", "r2", "mf", "mf_group")
        return {k: ffi.string(lib.dshim_r2_state(self.r2, chan, i)).decode()
                for i, k in enumerate(keys)}

    def next_timer_s(self) -> float | None:
        ms = lib.dshim_r2_next_timer_ms(self.r2) if self.r2 != ffi.NULL else -1
        return None if ms < 0 else ms / 1000.0

    @staticmethod
    def reads(fd: int) -> int:
        """Blocks OpenR2 has read from ``fd`` (the hand-over check)."""
        return int(lib.dshim_r2_reads(fd))

    def stop(self) -> None:
        """Free the context (before the channel fds are closed). Idempotent."""
        if self.r2 != ffi.NULL:
            lib.dshim_r2_free(self.r2)
            self.r2 = ffi.NULL
