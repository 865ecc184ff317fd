"""What the DAHDI system holds: every span's status and every channel's parameters.

Why through /dev/dahdi/ctl: `confcall span status` must work while the daemon holds the
channels open. SPANSTAT and GET_PARAMS (with an explicit channel number) on the control device
read a channel without taking it.
"""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from ._shim import ffi, lib
from .channel import ChannelParams
from .errors import DahdiError
from .span import SpanStatus, span_status

__all__ = ["SpanReport", "inventory", "channel_params"]


@dataclass(frozen=True)
class SpanReport:
    status: SpanStatus
    channels: tuple[ChannelParams, ...]

    def as_dict(self) -> dict[str, object]:
        return {"span": self.status.as_dict(),
                "channels": [{"channo": c.channo, "chanpos": c.chanpos,
                              "sigtype": c.sigtype_name, "law": c.curlaw,
                              "rxbits": c.rxbits, "txbits": c.txbits,
                              "alarms": list(c.alarm_names)} for c in self.channels]}


def channel_params(ctl_fd: int, channo: int) -> ChannelParams:
    p = ffi.new("struct dahdi_params *")
    p.channo = channo
    rc = lib.dshim_ioctl(ctl_fd, lib.DAHDI_GET_PARAMS, p)
    if rc < 0:
        raise DahdiError(-rc, "DAHDI_GET_PARAMS", channel=channo)
    return ChannelParams(channo=p.channo, spanno=p.spanno, chanpos=p.chanpos, sigtype=p.sigtype,
                         curlaw=p.curlaw, rxbits=p.rxbits, txbits=p.txbits,
                         name=ffi.string(p.name).decode(errors="replace"),
                         alarms=p.chan_alarms)


def inventory() -> list[SpanReport]:
    """All spans from 1 up, with their channels (DAHDI numbers channels in span order)."""
    reports: list[SpanReport] = []
    first = span_status(1)
    statuses = [first] + [span_status(n) for n in range(2, first.totalspans + 1)]
    fd = lib.dshim_open(b"/dev/dahdi/ctl", os.O_RDWR)
    if fd < 0:
        raise DahdiError(-fd, "open /dev/dahdi/ctl")
    try:
        channo = 1
        for st in statuses:
            chans = []
            for _ in range(st.totalchans):
                try:
                    chans.append(channel_params(fd, channo))
                except DahdiError as e:
                    if e.errno not in (errno.EINVAL, errno.ENXIO):
                        raise
                channo += 1
            reports.append(SpanReport(st, tuple(chans)))
    finally:
        lib.dshim_close(fd)
    return reports

