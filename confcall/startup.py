"""Why a box could not open its spans, said so that the operator can fix it.

Why: a box without DAHDI used to print only "no usable span" while each of its channels had
failed with the same ``open+DAHDI_SPECIFY [ENOENT]``. Here the failures of one span are
grouped by (operation, errno) into one line naming the channels, the ioctl and the errno,
and the final error repeats the root cause with what to check.
"""
from __future__ import annotations

import errno as _errno
from dataclasses import dataclass, field

from confcall.hw.channels import format_ranges

__all__ = ["SpanFailures", "hint"]

_HINTS = {
    _errno.ENOENT: "no DAHDI device: is the dahdi kernel module loaded and /dev/dahdi present "
                   "(`lsmod | grep dahdi`, `ls /dev/dahdi`)? `confcall doctor` checks it",
    _errno.ENXIO: "DAHDI has no such channel: run `dahdi_cfg -vv` with the system.conf that "
                  "`confcall hw genconf` wrote, then compare `confcall doctor`",
    _errno.EBUSY: "the channel is open in another program (Asterisk? another confcall?)",
    _errno.EACCES: "permission denied: run as the confcall user (member of the dahdi group) "
                   "or fix /dev/dahdi's modes (`confcall install` sets them up)",
    _errno.EPERM: "permission denied: run as the confcall user (member of the dahdi group)",
    _errno.EINVAL: "the span config and DAHDI disagree about this channel: regenerate both "
                   "with `confcall hw genconf` and run `dahdi_cfg`",
}


def hint(err: int | None) -> str:
    return _HINTS.get(err or 0, "")


@dataclass
class SpanFailures:
    """Channel failures of every span opened at start-up, grouped for reading."""

    lines: list[str] = field(default_factory=list)
    first: dict[int, tuple[str, int | None, str]] = field(default_factory=dict)
    skipped: list[int] = field(default_factory=list)

    def add(self, spanno: int, failed: dict[int, OSError], total: int) -> list[str]:
        """Group one span's failed channels; returns the new log lines."""
        groups: dict[tuple[str, int | None, str], list[int]] = {}
        for channo, e in sorted(failed.items()):
            key = (getattr(e, "op", "open"), e.errno, _reason(e))
            groups.setdefault(key, []).append(channo)
        new = []
        for (op, err, reason), chans in groups.items():
            self.first.setdefault(spanno, (op, err, reason))
            name = _errno.errorcode.get(err or 0, str(err))
            new.append(f"span {spanno}: {len(chans)} of {total} channel(s) not usable "
                       f"(channels {format_ranges(tuple(chans))}): {op} failed with {name}: "
                       f"{reason}")
        self.lines += new
        return new

    def unused(self, spanno: int) -> None:
        self.skipped.append(spanno)

    def summary(self) -> str:
        """The start-up error: the root cause per span and what to check."""
        if not self.first:
            return ("no usable span (PRI or MFC/R2): the spans opened have no D-channel / CAS "
                    f"channel (spans {', '.join(map(str, self.skipped)) or 'none'}); check "
                    "the span config and the [[trunk]] entries")
        parts = []
        for spanno, (op, err, reason) in sorted(self.first.items()):
            name = _errno.errorcode.get(err or 0, str(err))
            text = f"span {spanno}: {op} failed with {name} ({reason})"
            if hint(err):
                text += f" — {hint(err)}"
            parts.append(text)
        return "no usable span (PRI or MFC/R2): " + "; ".join(parts)


def _reason(e: OSError) -> str:
    text = str(e)
    return text.split(" failed: ", 1)[1] if " failed: " in text else text
