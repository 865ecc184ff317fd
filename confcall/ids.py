"""Identifiers that say where they came from: ``<box id>-<kind>-<ULID>``.

Why: several boxes share one database, and a box restarts. An idempotency reference (a ledger
row, a call-log row, an accounting record, a booking attempt) built from a per-process counter
or a timestamp collides across boxes and across restarts; one built from the box id and a ULID
never does, and still sorts by creation time (the ULID's first 48 bits are milliseconds).

How to use::

    from confcall.ids import new_ref, set_box_id
    set_box_id(config.box_id)          # once, at start-up (default: the host name)
    ref = new_ref("conf")              # 'bj-01-conf-01JDR8Q0W6K2V7Y3M5N8P9R4ST'

A ULID is 48 bits of UTC milliseconds + 80 random bits, in Crockford base32 (26 characters).
Within one millisecond of one process the random part is incremented, so references made in a
burst still sort in the order they were made.
"""
from __future__ import annotations

import os
import re
import socket
import threading
import time

__all__ = ["BOX_ID_PATTERN", "box_id", "new_ref", "new_ulid", "set_box_id"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
BOX_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")

_lock = threading.Lock()
_last_ms = -1
_last_rand = 0
_box: str | None = None
_POOL_ULIDS = 256  # random parts read from the kernel at once
_pool = b""
_pool_at = 0


def _default_box_id() -> str:
    name = (os.environ.get("CONFCALL_BOX_ID") or socket.gethostname() or "box").lower()
    name = re.sub(r"[^a-z0-9_.-]", "-", name).strip("-.") or "box"
    return name[:32]


def set_box_id(value: str) -> None:
    """Name this box (config ``[box] id``). Lower-case letters, digits, ``_ . -``; ≤ 32."""
    global _box
    if not BOX_ID_PATTERN.match(value):
        raise ValueError(f"box id {value!r}: 1-32 of a-z 0-9 _ . - (starting with a letter "
                         "or digit)")
    _box = value


def box_id() -> str:
    """This box's id (set at start-up; the host name until then)."""
    global _box
    if _box is None:
        _box = _default_box_id()
    return _box


def _encode(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        out.append(_ALPHABET[digit])
    return "".join(reversed(out))


def _random80() -> int:
    """80 bits from the kernel's CSPRNG, read 256 at a time (call with ``_lock`` held).

    Why buffered: a busy site makes a reference almost every millisecond, and one
    ``os.urandom`` system call each was a measurable share of a booking.  The bytes are the
    same unpredictable ones; each is used once."""
    global _pool, _pool_at
    if _pool_at >= len(_pool):
        _pool, _pool_at = os.urandom(10 * _POOL_ULIDS), 0
    start = _pool_at
    _pool_at = start + 10
    return int.from_bytes(_pool[start:start + 10], "big")


def _forget_pool() -> None:
    """In a forked child: never reuse the parent's unread random bytes."""
    global _pool, _pool_at, _last_ms
    _pool, _pool_at, _last_ms = b"", 0, -1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def new_ulid(now_ms: int | None = None) -> str:
    """A 26-character ULID; monotonic within a process (same millisecond: random part + 1)."""
    global _last_ms, _last_rand
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    with _lock:
        if ms <= _last_ms:
            ms = _last_ms
            _last_rand = (_last_rand + 1) & ((1 << 80) - 1)
        else:
            _last_ms = ms
            _last_rand = _random80() >> 1  # room to increment
        rand = _last_rand
    return _encode(ms, 10) + _encode(rand, 16)


def new_ref(kind: str) -> str:
    """``<box id>-<kind>-<ULID>``: unique across boxes and restarts, sortable by time."""
    return f"{box_id()}-{kind}-{new_ulid()}"
