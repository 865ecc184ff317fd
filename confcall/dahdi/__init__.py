"""The hardware seam: DAHDI channels and spans through the cffi shim (native/dahdi_shim.c).

Nothing else in confcall performs system calls on /dev/dahdi. ``use_userspace`` swaps the
kernel for the simulated span (tests/fake_span, installed as confcall.sim) under the very same
compiled code path.
"""
from .batch import BChannelBatch
from .channel import Channel, ChannelParams
from .constants import Alarm, Event, Law, SigType, alarm_names
from .device import use_libc, use_userspace, using_userspace
from .errors import DahdiError
from .span import ChannelEvent, Span, SpanStatus, span_status

__all__ = ["BChannelBatch", "Channel", "ChannelParams", "Alarm", "Event", "Law", "SigType",
           "alarm_names", "use_libc", "use_userspace", "using_userspace", "DahdiError",
           "ChannelEvent", "Span", "SpanStatus", "span_status"]
