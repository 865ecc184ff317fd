"""systemd's service notification protocol (sd_notify(3)), without libsystemd.

Why: the unit is ``Type=notify``: systemd counts the box as started only when it says
``READY=1`` (after its spans are open), and with ``WatchdogSec=`` restarts it when the
``WATCHDOG=1`` pings stop — which the box sends only while its media thread is ticking, so a
stalled engine gets restarted rather than left silent. Outside systemd (no
``$NOTIFY_SOCKET``) every call is a no-op.
"""
from __future__ import annotations

import os
import socket

__all__ = ["notify", "watchdog_interval_s"]


def notify(state: str, env: dict[str, str] | None = None) -> bool:
    """Send ``state`` (e.g. "READY=1\\nSTATUS=…") to systemd; False when not under systemd
    or the socket is gone (a notification is advice, never a reason to fail)."""
    path = (env if env is not None else os.environ).get("NOTIFY_SOCKET", "")
    if not path:
        return False
    if path.startswith("@"):
        path = "\0" + path[1:]  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.connect(path)
            s.sendall(state.encode())
        return True
    except OSError:
        return False


def watchdog_interval_s(env: dict[str, str] | None = None) -> float | None:
    """How often to ping (half the unit's ``WatchdogSec=``), or None when no watchdog is set
    for this process."""
    e = env if env is not None else os.environ
    usec = e.get("WATCHDOG_USEC", "")
    pid = e.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1e6 / 2
