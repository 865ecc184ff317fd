"""The simulated E1/T1 span that confcall's real code runs against (see DESIGN.md).

- ``SimCard`` / ``SimSpan`` / ``SimChannel``: spans, timeslots, alarms, counters, far ends.
- ``FakeDahdi``: DAHDI's open/ioctl semantics behind the shim's ops table, real fds.
- ``VirtualMediaClock``: the 20 ms tick in virtual time, driving a Twisted ``task.Clock``.
"""
from .card import SimCard
from .clock import TICK_MS, TICK_S, VirtualMediaClock
from .device import FakeDahdi
from .span import SAMPLES_PER_TICK, SimChannel, SimSpan
from .switch import CallRecord, SimPhone, SimSwitch

__all__ = ["SimCard", "SimSpan", "SimChannel", "FakeDahdi", "VirtualMediaClock", "TICK_MS",
           "TICK_S", "SAMPLES_PER_TICK", "SimSwitch", "SimPhone", "CallRecord"]
