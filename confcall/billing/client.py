"""RADIUS accounting client (RFC 2866) as a state machine: records in, datagrams out, no I/O.

What it does: every record offered is sent as an Accounting-Request to the first billing server
that can take it, and retransmitted — the same packet, same Identifier and Request
Authenticator, so a server that merely lost our reply recognises the duplicate (RFC 5080
§2.2.1) — after ``timeout_s``, doubling up to ``max_timeout_s``. After ``retries``
retransmissions without an answer the server is declared dead for ``dead_time_s`` and every
record it held goes back to the queue for the next server (fail-over). A dead server whose time
is up is probed with one real record; an answer brings it back. While every server is dead,
records wait (they are still in the outbox: nothing is lost, see ``sender.py``).

How to use (the sender does this)::

    client = AccountingClient(servers, dictionary, timeout_s=2, retries=3, ...)
    client.offer(records, now)              # at most client.room() of them
    for action in client.poll(now):         # and after client.received(i, data, now)
        Send -> write action.packet to server action.server
        Delivered -> the billing server acknowledged record action.record
        ServerDown / ServerUp -> log it
    wake up again at client.next_deadline()

``now`` is any monotonic clock in seconds (virtual in tests). Acct-Delay-Time (RFC 2866 §5.2)
is the record's age when its packet is built; it is fixed for the retransmissions of that
packet and recomputed when the record moves to another server (with a new Identifier, as the
RFC requires when the packet changes).

How many requests are in flight to a server adapts like TCP's congestion window: it starts at
``INITIAL_WINDOW``, grows by one per answer up to the slow-start threshold and by one per
window beyond it (up to ``window``), and is halved when a request goes unanswered — a billing
server whose socket buffer overflows on a burst (datagrams silently dropped) gets the rate it
can take instead of a retransmission storm.
"""
from __future__ import annotations

import hashlib
import hmac
import struct
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pyrad.dictionary import Dictionary

from .wire import AttributeEncoder, accounting_request

__all__ = ["AccountingClient", "BadReply", "Delivered", "OutRecord", "Send", "Server",
           "ServerDown", "ServerUp"]

ACCOUNTING_REQUEST, ACCOUNTING_RESPONSE = 4, 5
IDS = 256  # the Identifier is one octet
INITIAL_WINDOW = 16


@dataclass(frozen=True)
class Server:
    name: str
    secret: bytes = field(repr=False)


@dataclass(frozen=True)
class OutRecord:
    id: int  # the outbox row
    attributes: Mapping[str, Any]
    queued_at: float  # when it was queued, on the client's clock (for Acct-Delay-Time)


@dataclass(frozen=True)
class Send:
    server: int
    packet: bytes


@dataclass(frozen=True)
class Delivered:
    record: int
    server: int


@dataclass(frozen=True)
class ServerDown:
    server: int
    until: float
    records_moved: int


@dataclass(frozen=True)
class ServerUp:
    server: int


@dataclass(frozen=True)
class BadReply:
    server: int
    reason: str


Action = Send | Delivered | ServerDown | ServerUp | BadReply


@dataclass
class _InFlight:
    record: OutRecord
    packet: bytes
    authenticator: bytes
    deadline: float
    sent_at: float
    attempts: int = 1  # transmissions so far


@dataclass
class _ServerState:
    server: Server
    free_ids: deque[int] = field(default_factory=lambda: deque(range(IDS)))
    inflight: dict[int, _InFlight] = field(default_factory=dict)
    dead_until: float | None = None  # None: alive
    probing: bool = False  # its dead time is over: one record tests it
    cwnd: float = 1.0  # requests it may have in flight now (see AccountingClient)
    ssthresh: float = IDS
    cut_at: float = float("-inf")  # when cwnd was last halved


class AccountingClient:
    def __init__(self, servers: list[Server], dictionary: Dictionary, *,
                 timeout_s: float = 2.0, max_timeout_s: float = 16.0, retries: int = 3,
                 dead_time_s: float = 30.0, window: int = IDS) -> None:
        if not servers:
            raise ValueError("at least one billing server")
        self.encoder = AttributeEncoder(dictionary)
        self.timeout_s, self.max_timeout_s = timeout_s, max_timeout_s
        self.retries, self.dead_time_s = retries, dead_time_s
        self.window = max(1, min(window, IDS))
        self.servers = [_ServerState(s, cwnd=float(min(INITIAL_WINDOW, self.window)),
                                     ssthresh=float(self.window)) for s in servers]
        self.queue: deque[OutRecord] = deque()
        self._held: set[int] = set()

    # -- what the driver asks ------------------------------------------------------------------
    def held(self) -> set[int]:
        """Outbox rows queued or in flight here (the driver must not offer them again)."""
        return self._held

    def room(self) -> int:
        """How many more records are worth offering now (queue one window ahead)."""
        return max(0, 2 * self.window - len(self._held))

    def idle(self) -> bool:
        return not self._held

    def alive(self, index: int) -> bool:
        return self.servers[index].dead_until is None

    def next_deadline(self) -> float | None:
        times = [f.deadline for s in self.servers for f in s.inflight.values()]
        times += [s.dead_until for s in self.servers
                  if s.dead_until is not None and not s.probing and self.queue]
        return min(times) if times else None

    # -- events ---------------------------------------------------------------------------------
    def offer(self, records: list[OutRecord], now: float) -> None:
        for r in records:
            if r.id not in self._held:
                self._held.add(r.id)
                self.queue.append(r)

    def received(self, index: int, data: bytes, now: float) -> list[Action]:
        st = self.servers[index]
        if len(data) < 20:
            return [BadReply(index, f"{len(data)} bytes is shorter than a RADIUS header")]
        code, ident, length = struct.unpack("!BBH", data[:4])
        if code != ACCOUNTING_RESPONSE or not 20 <= length <= len(data):
            return [BadReply(index, f"code {code} length {length}: not an Accounting-Response")]
        flight = st.inflight.get(ident)
        if flight is None:
            return []  # a late answer to a retransmission already answered
        body = data[:length]
        expect = hashlib.md5(body[:4] + flight.authenticator + body[20:] +
                             st.server.secret).digest()
        if not hmac.compare_digest(expect, body[4:20]):
            return [BadReply(index, f"id {ident}: wrong Response Authenticator (secret?)")]
        del st.inflight[ident]
        st.free_ids.append(ident)
        st.cwnd = min(float(self.window),
                      st.cwnd + (1.0 if st.cwnd < st.ssthresh else 1.0 / st.cwnd))
        self._held.discard(flight.record.id)
        actions: list[Action] = [Delivered(flight.record.id, index)]
        if st.dead_until is not None:
            st.dead_until, st.probing = None, False
            actions.append(ServerUp(index))
        return actions + self._dispatch(now)

    def poll(self, now: float) -> list[Action]:
        actions: list[Action] = []
        for index, st in enumerate(self.servers):
            actions += self._expire(index, st, now)
            if st.dead_until is not None and not st.probing and st.dead_until <= now:
                st.probing = True
        return actions + self._dispatch(now)

    # -- inside ----------------------------------------------------------------------------------
    def _expire(self, index: int, st: _ServerState, now: float) -> list[Action]:
        actions: list[Action] = []
        for _ident, flight in list(st.inflight.items()):
            if flight.deadline > now:
                continue
            if flight.attempts > self.retries:
                return actions + [self._declare_dead(index, st, now)]
            if flight.sent_at > st.cut_at:  # one cut per loss event, not one per lost packet
                st.ssthresh = st.cwnd = max(1.0, st.cwnd / 2)
                st.cut_at = now
            flight.attempts += 1
            flight.deadline = now + self._timeout(flight.attempts)
            actions.append(Send(index, flight.packet))
        return actions

    def _timeout(self, attempts: int) -> float:
        return min(self.timeout_s * 2 ** (attempts - 1), self.max_timeout_s)

    def _declare_dead(self, index: int, st: _ServerState, now: float) -> ServerDown:
        moved = [f.record for f in st.inflight.values()]
        st.inflight.clear()
        st.free_ids = deque(range(IDS))
        st.dead_until, st.probing = now + self.dead_time_s, False
        self.queue.extendleft(reversed(moved))  # first in line for the next server
        return ServerDown(index, st.dead_until, len(moved))

    def _capacity(self, st: _ServerState) -> int:
        if st.dead_until is not None:
            return 1 - len(st.inflight) if st.probing else 0
        return int(st.cwnd) - len(st.inflight)

    def _dispatch(self, now: float) -> list[Action]:
        """Fail-over, not load sharing: records go to the first live server in the configured
        order (a full window waits for it); a dead one whose time is up gets one probe."""
        actions: list[Action] = []
        for index, st in enumerate(self.servers):
            for _ in range(min(self._capacity(st), len(self.queue))):
                actions.append(self._send(index, st, self.queue.popleft(), now))
            if st.dead_until is None or not self.queue:
                break
        return actions

    def _send(self, index: int, st: _ServerState, record: OutRecord, now: float) -> Send:
        ident = st.free_ids.popleft()
        body = self.encoder.encode(record.attributes) + self.encoder.encode(
            {"Acct-Delay-Time": max(0, int(now - record.queued_at))})
        raw = accounting_request(ident, st.server.secret, body)
        st.inflight[ident] = _InFlight(record, raw, raw[4:20], now + self._timeout(1), now)
        return Send(index, raw)
