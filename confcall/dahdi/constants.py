"""DAHDI numbers as the compiler read them from <dahdi/user.h>, with names for humans."""
from __future__ import annotations

from enum import IntEnum, IntFlag

from ._shim import lib

__all__ = ["Law", "Event", "Alarm", "SigType", "IOCTL_NAMES", "ELAST", "MAX_BLOCKSIZE",
           "alarm_names", "sigtype_name", "event_name", "lineconfig_names"]

ELAST: int = lib.ELAST
MAX_BLOCKSIZE: int = lib.DAHDI_MAX_BLOCKSIZE
IOCTL_NAMES: dict[int, str] = {
    getattr(lib, n): n for n in (
        "DAHDI_SPECIFY", "DAHDI_GET_PARAMS", "DAHDI_GET_BLOCKSIZE", "DAHDI_SET_BLOCKSIZE",
        "DAHDI_SETLAW", "DAHDI_SETLINEAR", "DAHDI_GET_BUFINFO", "DAHDI_SET_BUFINFO",
        "DAHDI_FLUSH", "DAHDI_AUDIOMODE", "DAHDI_ECHOCANCEL_PARAMS", "DAHDI_GETEVENT",
        "DAHDI_SPANSTAT", "DAHDI_GETRXBITS", "DAHDI_SETTXBITS", "DAHDI_HOOK",
        "DAHDI_CHANNO", "DAHDI_SETGAINS", "DAHDI_ECHOCANCEL", "DAHDI_IOMUX")
}


class Law(IntEnum):
    DEFAULT = lib.DAHDI_LAW_DEFAULT
    MULAW = lib.DAHDI_LAW_MULAW
    ALAW = lib.DAHDI_LAW_ALAW

    @property
    def idle_code(self) -> int:
        """The code for silence (+0) on the wire: 0xD5 A-law, 0xFF μ-law."""
        return 0xD5 if self is Law.ALAW else 0xFF


class Event(IntEnum):
    NONE = lib.DAHDI_EVENT_NONE
    ONHOOK = lib.DAHDI_EVENT_ONHOOK
    RINGOFFHOOK = lib.DAHDI_EVENT_RINGOFFHOOK
    ALARM = lib.DAHDI_EVENT_ALARM
    NOALARM = lib.DAHDI_EVENT_NOALARM
    ABORT = lib.DAHDI_EVENT_ABORT
    OVERRUN = lib.DAHDI_EVENT_OVERRUN
    BADFCS = lib.DAHDI_EVENT_BADFCS
    BITSCHANGED = lib.DAHDI_EVENT_BITSCHANGED
    REMOVED = lib.DAHDI_EVENT_REMOVED
    READ_OVERRUN = lib.DAHDI_EVENT_READ_OVERRUN
    WRITE_UNDERRUN = lib.DAHDI_EVENT_WRITE_UNDERRUN


class Alarm(IntFlag):
    RECOVER = lib.DAHDI_ALARM_RECOVER
    LOOPBACK = lib.DAHDI_ALARM_LOOPBACK
    YELLOW = lib.DAHDI_ALARM_YELLOW
    RED = lib.DAHDI_ALARM_RED
    BLUE = lib.DAHDI_ALARM_BLUE
    NOTOPEN = lib.DAHDI_ALARM_NOTOPEN
    LOS = lib.DAHDI_ALARM_LOS
    LFA = lib.DAHDI_ALARM_LFA
    LMFA = lib.DAHDI_ALARM_LMFA


class SigType(IntEnum):
    NONE = lib.DAHDI_SIG_NONE
    CLEAR = lib.DAHDI_SIG_CLEAR
    HDLCRAW = lib.DAHDI_SIG_HDLCRAW
    HDLCFCS = lib.DAHDI_SIG_HDLCFCS
    HDLCNET = lib.DAHDI_SIG_HDLCNET
    HARDHDLC = lib.DAHDI_SIG_HARDHDLC
    CAS = lib.DAHDI_SIG_CAS
    DACS = lib.DAHDI_SIG_DACS
    SLAVE = lib.DAHDI_SIG_SLAVE

    @property
    def is_dchannel(self) -> bool:
        return self in (SigType.HDLCFCS, SigType.HDLCNET, SigType.HARDHDLC, SigType.HDLCRAW)


# Order matters for display: the most serious first, as dahdi_tool shows them.
_ALARM_ORDER = (Alarm.RED, Alarm.BLUE, Alarm.YELLOW, Alarm.LOOPBACK, Alarm.RECOVER,
                Alarm.NOTOPEN, Alarm.LOS, Alarm.LFA, Alarm.LMFA)


def alarm_names(bits: int) -> tuple[str, ...]:
    """Alarm bits as names (``()`` when the span is OK)."""
    return tuple(a.name for a in _ALARM_ORDER if bits & a and a.name)


def sigtype_name(sig: int) -> str:
    try:
        return SigType(sig).name
    except ValueError:
        return f"0x{sig:x}"


def event_name(ev: int) -> str:
    try:
        return Event(ev).name
    except ValueError:
        return f"EVENT_{ev}"


_LINECONFIG = (("B8ZS", lib.DAHDI_CONFIG_B8ZS), ("AMI", lib.DAHDI_CONFIG_AMI),
               ("HDB3", lib.DAHDI_CONFIG_HDB3), ("CCS", lib.DAHDI_CONFIG_CCS),
               ("D4", lib.DAHDI_CONFIG_D4), ("ESF", lib.DAHDI_CONFIG_ESF),
               ("CRC4", lib.DAHDI_CONFIG_CRC4))


def lineconfig_names(bits: int) -> tuple[str, ...]:
    """Coding/framing as /proc/dahdi prints them: e.g. ('HDB3', 'CCS', 'CRC4'); E1 CAS has no
    CCS."""
    names = tuple(n for n, b in _LINECONFIG if bits & b)
    if "HDB3" in names and "CCS" not in names:
        names = names[:1] + ("CAS",) + names[1:]
    return names
