"""Which device the shim talks to: the kernel (libc) or a user-space stand-in.

Why: the simulated span must run the very same compiled ioctl path as production. The shim's
ops table is switched here, once per process; the stand-in implements ``open``/``ioctl``/
``close`` (returning a value >= 0 or -errno) and hands out real file descriptors.
"""
from __future__ import annotations

import errno
import logging
import threading
from typing import Any, Protocol

from ._shim import ffi, lib

__all__ = ["UserspaceDevice", "use_userspace", "use_libc", "set_event_pending", "using_userspace"]

log = logging.getLogger(__name__)
_lock = threading.Lock()
_device: "UserspaceDevice | None" = None


class UserspaceDevice(Protocol):
    """What a user-space DAHDI stand-in implements. Return values: >= 0, or -errno."""

    def open(self, path: str, flags: int) -> int: ...

    def ioctl(self, fd: int, request: int, arg: Any) -> int: ...

    def close(self, fd: int) -> int: ...


def use_userspace(device: UserspaceDevice) -> None:
    """Route every DAHDI system call of this process to ``device``."""
    global _device
    with _lock:
        _device = device
        lib.dshim_use_userspace(lib._userspace_open, lib._userspace_ioctl, lib._userspace_close)


def use_libc() -> None:
    """Route DAHDI system calls to the kernel (the production default)."""
    global _device
    with _lock:
        lib.dshim_use_libc()
        _device = None


def using_userspace() -> bool:
    return bool(lib.dshim_using_userspace())


def set_event_pending(fd: int, pending: bool) -> None:
    """Tell the shim an event is queued on ``fd``: read() then fails with ELAST, poll() sets
    POLLPRI."""
    lib.dshim_set_event_pending(fd, 1 if pending else 0)


def _on_error(exc_type: type, exc: BaseException, tb: Any) -> None:
    log.error("user-space DAHDI device raised", exc_info=(exc_type, exc, tb))


@ffi.def_extern(onerror=_on_error, error=-errno.EIO)
def _userspace_open(path: Any, flags: int) -> int:
    if _device is None:
        return -errno.ENODEV
    return int(_device.open(ffi.string(path).decode(), flags))


@ffi.def_extern(onerror=_on_error, error=-errno.EIO)
def _userspace_ioctl(fd: int, request: int, arg: Any) -> int:
    if _device is None:
        return -errno.ENODEV
    return int(_device.ioctl(fd, request, arg))


@ffi.def_extern(onerror=_on_error, error=-errno.EIO)
def _userspace_close(fd: int) -> int:
    if _device is None:
        return -errno.ENODEV
    return int(_device.close(fd))
