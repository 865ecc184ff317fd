"""The write journal: money and record writes that wait for the database, kept on disk.

Why: the ordered write queues (``writes.py``) keep a call's writes in memory while the database
is away. If the box dies meanwhile (kill -9, power, OOM), those writes (the end of each leg, its
rating or the release of its credit hold, the conference record) would be lost and the start-up
recovery could only close the legs at their last interim record. With the journal, the next
start writes them as they were queued: the exact fen.

How: a write that has to wait is appended here and fsync'ed (in the DB thread pool, never on
the reactor thread). Once no journalled write is waiting any more, the queue empties the file
up to the last sequence number it gave (``truncate_upto``). At start-up, before the recovery,
``replay`` applies what the file still holds, in order (every journalled write is idempotent by
its reference), then empties it.

Only named operations are journalled (``name_of``), their arguments encoded as JSON (datetimes
and ``LegRecord`` by name): the journal never pickles.

Format: one JSON object per line, ``{"n": seq, "k": key, "op": name, "a": args, "kw": kwargs}``.
A line cut short by a crash (the last one) does not parse and is ignored: it was never fsync'ed,
so its write was never considered queued.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["Entry", "Replayed", "WriteJournal", "name_of", "replay"]

log = logging.getLogger("confcall.store.journal")


# -- the operations a journal may hold ------------------------------------------------------------
def _ops() -> dict[str, tuple[Callable[..., Any], bool]]:
    """name → (function, plain: ``fn(store, ...)`` rather than ``fn(session, ...)``)."""
    from confcall.conference import records
    from confcall.rating import ops
    return {
        "call_log.insert": (records._insert, False),
        "call_log.answered": (records._answered, False),
        "call_log.interim": (records._interim, False),
        "call_log.complete": (records._complete, False),
        "money.settle_leg": (ops.settle_leg, True),
        "money.release_leg": (ops.release_leg, True),
        "money.close_conference": (ops.close_conference, True),
    }


def _types() -> dict[str, type]:
    from confcall.rating.cdr import LegRecord
    return {"LegRecord": LegRecord}


def name_of(fn: Callable[..., Any]) -> str | None:
    """The journal name of a write function, or None: not replayable (not journalled)."""
    return next((name for name, (f, _plain) in _ops().items() if f is fn), None)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if name not in _types():
            raise TypeError(f"{name} is not a journal type")
        return {"$" + name: {k: _encode(v) for k, v in asdict(value).items()}}
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot journal a {type(value).__name__}")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            (k, v), = value.items()
            if k == "$dt":
                return datetime.fromisoformat(v)
            types = _types()
            if k.startswith("$") and k[1:] in types:
                cls = types[k[1:]]
                names = {f.name for f in fields(cls)}
                return cls(**{n: _decode(x) for n, x in v.items() if n in names})
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


@dataclass
class Entry:
    """One journalled write: ``op`` (``name_of``) with its arguments, in the queue ``key``."""
    seq: int
    key: str
    op: str
    args: tuple[Any, ...] | list[Any]
    kwargs: dict[str, Any] = field(default_factory=dict)

    def line(self) -> bytes:
        return json.dumps({"n": self.seq, "k": self.key, "op": self.op,
                           "a": _encode(list(self.args)), "kw": _encode(self.kwargs)},
                          separators=(",", ":")).encode() + b"\n"


@dataclass
class Replayed:
    """What the start-up replay did."""
    entries: int = 0  # journalled writes found
    applied: int = 0
    rejected: int = 0  # refused by the database for good (kept in ``<journal>.rejected``)

    def __str__(self) -> str:
        return (f"{self.applied} of {self.entries} journalled write(s) of the previous run "
                "replayed" + (f", {self.rejected} REJECTED (kept in the journal's .rejected "
                              "file, see the log)" if self.rejected else ""))


class WriteJournal:
    """The append-only, fsync'ed file. Thread-safe; its methods touch the disk, so they are
    called in the DB thread pool."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Reads the file once (at start-up, before the box takes calls): this run numbers
        its writes after the previous runs' (``number``), so it never drops one of theirs
        before ``replay`` has applied it, nor takes one of theirs for its own."""
        self.path = Path(path)
        self._lock = threading.Lock()
        self.appended = 0  # entries made durable by this process (tests, metrics)
        self._whole = True  # the file ends with a whole line (see ``append``)
        # the entries numbered up to here are the previous runs' (``replay``'s)
        self.previous = max((e.seq for e in self._read()), default=0)
        self._last = self.previous  # the last number given (``number``)
        self._done_upto = self.previous  # this run's writes up to here are committed

    def number(self) -> int:
        """The next sequence number (any thread; no I/O)."""
        with self._lock:
            self._last += 1
            return self._last

    def append(self, entries: list[Entry]) -> None:
        """Write ``entries`` and fsync: once this returns they survive a crash. An entry
        already committed (emptied by a ``truncate_upto`` that ran first, on another pool
        thread) is not written."""
        with self._lock:
            fresh = [e for e in entries if e.seq > self._done_upto]
            data = b"".join(e.line() for e in fresh)
            if not data:
                return
            if not self._whole:  # a crash cut the last line short: never glue onto it
                data, self._whole = b"\n" + data, True
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            self.appended += len(fresh)

    def last_number(self) -> int:
        """The last sequence number given (``number``)."""
        with self._lock:
            return self._last

    def read(self) -> list[Entry]:
        """The entries on disk, in order (a line cut short by a crash is skipped)."""
        with self._lock:
            return self._read()

    def truncate_upto(self, upto: int) -> None:
        """Drop this run's entries numbered ``upto`` or less (committed); any later ones stay
        (they may have been appended meanwhile by another pool thread), and so do the
        previous runs' until ``replay`` has applied them. Atomic: a new file renamed over the
        old one, or the file emptied when nothing is left."""
        with self._lock:
            self._done_upto = max(self._done_upto, upto)
            self._drop(lambda seq: self.previous < seq <= upto)

    def forget_previous(self) -> None:
        """The previous runs' entries are applied (``replay``): drop them."""
        with self._lock:
            self._drop(lambda seq: seq <= self.previous)

    def _drop(self, gone: Callable[[int], bool]) -> None:
        """Rewrite the file without the entries ``gone`` says (and without any line a crash
        cut short). Called with the lock held."""
        keep = [e for e in self._read() if not gone(e.seq)]
        self._whole = True
        if not keep:
            if self.path.exists():
                with open(self.path, "r+b") as f:
                    f.truncate(0)
                    os.fsync(f.fileno())
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(b"".join(e.line() for e in keep))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)

    def _read(self) -> list[Entry]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        self._whole = not data or data.endswith(b"\n")
        out = []
        for raw in data.splitlines():
            try:
                rec = json.loads(raw)
                out.append(Entry(int(rec["n"]), rec["k"], rec["op"], _decode(rec["a"]),
                                 _decode(rec.get("kw") or {})))
            except (ValueError, KeyError, TypeError):
                log.warning("write journal %s: a line cut short or unreadable (skipped)",
                            self.path)
        return sorted(out, key=lambda e: e.seq)


def replay(store: Any, journal: WriteJournal) -> Replayed:
    """Apply the journal's writes in order, then empty it. A transient failure (the database
    away) is raised: run it again (what was applied is applied again, to no effect). A write
    the database refuses for good is logged and kept in ``<journal>.rejected``. Only the
    previous runs' writes are replayed: this run's (none before its recovery is done: the box
    takes no call) are this run's queues' to write."""
    from .writes import is_transient
    entries = [e for e in journal.read() if e.seq <= journal.previous]
    got = Replayed(entries=len(entries))
    ops = _ops()
    for e in entries:
        known = ops.get(e.op)
        if known is None:
            log.error("write journal %s: unknown operation %r (seq %d) kept aside", journal.path,
                      e.op, e.seq)
            _reject(journal, e)
            got.rejected += 1
            continue
        fn, plain = known
        try:
            if plain:
                fn(store, *e.args, **e.kwargs)
            else:
                store.run(fn, *e.args, **e.kwargs)
        except Exception as exc:  # noqa: BLE001 - sorted: transient up, refused kept aside
            if is_transient(exc):
                raise
            log.error("journalled write %s of %s (seq %d) refused for good: %s", e.op, e.key,
                      e.seq, exc)
            _reject(journal, e)
            got.rejected += 1
            continue
        got.applied += 1
    if entries:
        journal.forget_previous()
    return got


def _reject(journal: WriteJournal, e: Entry) -> None:
    """Keep ``e`` aside for the operator (once: a replay run again does not repeat it)."""
    path = Path(f"{journal.path}.rejected")
    line = e.line()
    if path.exists() and line in path.read_bytes().splitlines(keepends=True):
        return
    with open(path, "ab") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
