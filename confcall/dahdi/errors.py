"""Kernel errors from DAHDI devices, as exceptions that say which channel and which ioctl."""
from __future__ import annotations

import errno as _errno
import os

__all__ = ["DahdiError"]


class DahdiError(OSError):
    """A DAHDI system call failed.

    Why a class of its own: a NOC operator reading a log needs the channel (or span), the
    operation and the errno together; a bare ``OSError(22)`` names none of them.
    """

    def __init__(self, err: int, op: str, *, channel: int | None = None,
                 span: int | None = None, detail: str = "") -> None:
        where = (f"channel {channel}" if channel is not None
                 else f"span {span}" if span is not None else "DAHDI")
        reason = detail or _describe(err)
        super().__init__(err, f"{where}: {op} failed: {reason}")
        self.op = op
        self.channel = channel
        self.span = span

    def __str__(self) -> str:
        return str(self.strerror)


def _describe(err: int) -> str:
    if err == 500:  # ELAST: DAHDI's own "an event is pending, call DAHDI_GETEVENT"
        return "[ELAST] a DAHDI event is pending"
    name = _errno.errorcode.get(err, "E?")
    return f"[{name}] {os.strerror(err)}"
