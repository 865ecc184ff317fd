"""The box's RADIUS accounting sender: outbox rows to the billing servers, in a thread of its own.

Why a thread: sending is a loop of small blocking steps — read a batch of the outbox, write
datagrams, wait for answers or a retransmission deadline, record the acknowledged rows — and
none of them may run on the reactor thread (SQL) or wait for it. The protocol decisions
(retransmission, back-off, fail-over, Identifiers, authenticators) are all in
``client.AccountingClient``; this module only moves bytes and rows.

Failure handling: a database error is logged and the loop retries with back-off (1 s doubling to
30 s) — the rows stay in the outbox; a socket error is logged and the packet's retransmission
timer covers it; a server that stops answering is declared dead by the client, logged, and
probed again after its dead time. Nothing is dropped: a record leaves the outbox only when a
server has acknowledged it.

How to use::

    sender = RadiusSender(store, config.radius_servers, box=box_id(), ...)
    sender.start()          # daemon start
    sender.wake()           # optional: new rows were just committed (else found within poll_s)
    sender.stop()           # daemon stop (joins the thread)
"""
from __future__ import annotations

import logging
import os
import select as _select
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyrad.dictionary import Dictionary

from . import outbox
from .client import (
    AccountingClient,
    BadReply,
    Delivered,
    OutRecord,
    Send,
    Server,
    ServerDown,
    ServerUp,
)

__all__ = ["DICTIONARY", "RadiusSender", "SenderStats", "load_dictionary"]

log = logging.getLogger("confcall.billing.radius")

DICTIONARY = Path(__file__).with_name("radius") / "dictionary"
ACK_BATCH, ACK_BATCH_S = 512, 0.05


def load_dictionary(path: str | Path = "") -> Dictionary:
    """Our attribute dictionary (the shipped one unless the config names another)."""
    return Dictionary(str(path or DICTIONARY))


@dataclass
class SenderStats:
    delivered: int = 0
    by_server: dict[str, int] = field(default_factory=dict)
    servers_down: int = 0
    db_errors: int = 0
    bad_replies: int = 0
    cpu_s: float = 0.0  # the sender thread's CPU time (updated every pass)


class RadiusSender:
    def __init__(self, store: Any, servers: Sequence[Any], *, box: str,
                 dictionary: str | Path = "", timeout_s: float = 2.0,
                 max_timeout_s: float = 16.0, retries: int = 3, dead_time_s: float = 30.0,
                 window: int = 256, poll_s: float = 0.2,
                 wall: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        """``servers``: objects with ``host``, ``port``, ``secret`` (``RadiusServerConf``)."""
        self.store = store
        self.box = box
        self.poll_s = poll_s
        self.wall = wall
        self.names = [f"{s.host}:{s.port}" for s in servers]
        self.addresses = [_resolve(s.host, s.port) for s in servers]
        self.client = AccountingClient(
            [Server(n, s.secret.encode()) for n, s in zip(self.names, servers, strict=True)],
            load_dictionary(dictionary), timeout_s=timeout_s, max_timeout_s=max_timeout_s,
            retries=retries, dead_time_s=dead_time_s, window=window)
        self.stats = SenderStats()
        self._socks: list[socket.socket] = []
        self._acked: dict[str, list[int]] = {}  # acknowledged, not yet recorded as sent
        self._acked_ids: set[int] = set()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._closed = False
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._cond = threading.Condition()
        self._fetch_seq = 0
        self._idle_seq = -1
        self._db_backoff = 0.0
        self._db_retry_at = 0.0
        self._acked_since = 0.0

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> None:
        for addr in self.addresses:
            s = socket.socket(addr[0], socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.connect(addr[1])  # answers from anywhere else are not read
            s.setblocking(False)
            self._socks.append(s)
        self._thread = threading.Thread(target=self._run, name="confcall-radius", daemon=True)
        self._thread.start()
        log.info("RADIUS accounting to %s (box %s)", ", ".join(self.names), self.box)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread; what was acknowledged is recorded first, the rest stays queued."""
        self._stopping.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("RADIUS sender did not stop within %.0f s", timeout)
        for s in self._socks:
            s.close()
        self._socks = []
        if not self._closed:
            self._closed = True
            os.close(self._wake_r)
            os.close(self._wake_w)

    def wake(self) -> None:
        """New rows were committed: look now rather than at the next poll."""
        if self._closed:  # its descriptor number may belong to someone else by now
            return
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):
            pass  # already woken (pipe full) or closing

    def wait_idle(self, timeout: float) -> bool:
        """Block until every row committed before this call has been acknowledged and recorded
        (True), or ``timeout`` seconds passed (False). For the bench, tests and shutdown."""
        with self._cond:
            target = self._fetch_seq + 1
        self.wake()
        with self._cond:
            return self._cond.wait_for(lambda: self._idle_seq >= target, timeout)

    def wait_until(self, predicate: Callable[[RadiusSender], bool], timeout: float) -> bool:
        """Block until ``predicate(self)`` holds after one of the loop's passes (True), or
        ``timeout`` seconds passed (False) — e.g. until a server was declared dead."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    # -- the loop -----------------------------------------------------------------------------
    def _run(self) -> None:
        next_fetch = 0.0
        while not self._stopping.is_set():
            now = time.monotonic()
            db_ok = now >= self._db_retry_at
            if db_ok and now >= next_fetch:
                next_fetch = now if self._fetch(now) else now + self.poll_s
            self._act(self.client.poll(now))
            if db_ok and self._acks_due(now):
                self._record_acked()
            self.stats.cpu_s = time.thread_time()
            with self._cond:
                self._cond.notify_all()
            deadline = self.client.next_deadline()
            wake_at = max(next_fetch, self._db_retry_at)
            if deadline is not None:
                wake_at = min(wake_at, deadline)
            if self._acked_ids:
                wake_at = min(wake_at, self._acked_since + ACK_BATCH_S)
            if self._wait(max(0.0, wake_at - time.monotonic())):
                next_fetch = 0.0
        self._record_acked()

    def _fetch(self, now: float) -> bool:
        room = self.client.room()
        with self._cond:
            self._fetch_seq += 1
            seq = self._fetch_seq
        if room == 0:
            return False
        try:
            rows = self.store.run(outbox.pending, self.box, room,
                                  self.client.held() | self._acked_ids)
        except Exception as exc:  # noqa: BLE001 - the loop must survive a database outage
            self._db_failed("reading the outbox", exc)
            return False
        self._db_backoff = 0.0
        if rows:
            wall = self.wall()
            self.client.offer([OutRecord(r.id, r.attributes,
                                         now - max(0.0, (wall - r.created_at).total_seconds()))
                               for r in rows], now)
        elif self.client.idle() and not self._acked_ids:
            with self._cond:
                self._idle_seq = seq
                self._cond.notify_all()
        return len(rows) == room

    def _act(self, actions: list[Any]) -> None:
        for a in actions:
            if isinstance(a, Send):
                try:
                    self._socks[a.server].send(a.packet)
                except OSError as exc:  # the retransmission timer will try again
                    log.warning("RADIUS %s: send failed: %s", self.names[a.server], exc)
            elif isinstance(a, Delivered):
                if not self._acked_ids:
                    self._acked_since = time.monotonic()
                name = self.names[a.server]
                self._acked.setdefault(name, []).append(a.record)
                self._acked_ids.add(a.record)
            elif isinstance(a, ServerDown):
                self.stats.servers_down += 1
                log.error("RADIUS %s: no answer after %d retransmissions; skipped for %.0f s, "
                          "%d record(s) moved to the next server", self.names[a.server],
                          self.client.retries, self.client.dead_time_s, a.records_moved)
            elif isinstance(a, ServerUp):
                log.warning("RADIUS %s answers again", self.names[a.server])
            elif isinstance(a, BadReply):
                self.stats.bad_replies += 1
                log.warning("RADIUS %s: reply dropped: %s", self.names[a.server], a.reason)

    def _acks_due(self, now: float) -> bool:
        """Record acknowledgements in batches: one commit per ACK_BATCH_S or ACK_BATCH rows
        (each commit is a disk flush), and at once when nothing else is in flight."""
        return bool(self._acked_ids) and (len(self._acked_ids) >= ACK_BATCH or
                                          now - self._acked_since >= ACK_BATCH_S or
                                          self.client.idle())

    def _record_acked(self) -> None:
        if not self._acked:
            return
        try:
            self.store.run(outbox.mark_sent, self._acked, self.wall())
        except Exception as exc:  # noqa: BLE001 - kept, recorded on the next pass
            self._db_failed("recording acknowledged records", exc)
            return
        for name, ids in self._acked.items():
            self.stats.delivered += len(ids)
            self.stats.by_server[name] = self.stats.by_server.get(name, 0) + len(ids)
        self._acked.clear()
        self._acked_ids.clear()

    def _db_failed(self, what: str, exc: Exception) -> None:
        self.stats.db_errors += 1
        self._db_backoff = min(30.0, max(1.0, self._db_backoff * 2))
        self._db_retry_at = time.monotonic() + self._db_backoff
        log.error("RADIUS sender: %s failed (retry in %.0f s): %s", what, self._db_backoff, exc)

    def _wait(self, timeout: float) -> bool:
        """Wait for answers, a wake-up or ``timeout``; feed answers to the client. True if
        woken (new rows)."""
        fds = {s.fileno(): i for i, s in enumerate(self._socks)}
        try:
            ready, _, _ = _select.select([*fds, self._wake_r], [], [], timeout)
        except (OSError, ValueError):  # closed under us at shutdown
            return False
        woken = False
        now = time.monotonic()
        for fd in ready:
            if fd == self._wake_r:
                woken = True
                try:
                    while os.read(self._wake_r, 4096):
                        pass
                except (BlockingIOError, OSError):
                    pass
                continue
            index = fds[fd]
            sock = self._socks[index]
            for _ in range(1024):
                try:
                    data = sock.recv(4096)
                except BlockingIOError:
                    break
                except OSError as exc:  # e.g. ICMP port unreachable: the server is not there
                    log.debug("RADIUS %s: %s", self.names[index], exc)
                    break
                self._act(self.client.received(index, data, now))
        return woken


def _resolve(host: str, port: int) -> tuple[int, tuple[Any, ...]]:
    info = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    if not info:
        raise OSError(f"cannot resolve {host}")
    family, _, _, _, addr = info[0]
    return family, addr
