"""The daemon's control socket: what the NOC's CLI asks a running box.

Why a socket: the spans, calls and conferences live in the daemon's memory (and, with the
simulated card, the "hardware" itself does); `confcall span status` and `confcall calls` in
another process ask the daemon instead of opening the devices.

Protocol: a UNIX stream socket (default ``var/confcall.sock``, mode 0600); one JSON request per
line (``{"cmd": "span_status"}``), one JSON answer per line (``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}``). Commands: ``span_status``, ``calls``, ``conferences``.

Bounds (issue 14: 20,000 unread requests grew the daemon by 79 MB, 50 hammering clients
slowed every answer): at most ``MAX_CONNECTIONS`` clients at once (the next is told so and
closed); a client silent for ``IDLE_TIMEOUT_S`` is closed; and answers are written through the
transport as a streaming producer, so when a client stops reading and the transport's buffer
passes its size (64 KiB) we stop *reading its requests* until it drains — memory per client
stays at one socket buffer and one read chunk, however many requests it pipelines.
"""
from __future__ import annotations

import json
import socket
from typing import Any

from twisted.internet.protocol import ServerFactory
from twisted.protocols.basic import LineReceiver
from twisted.protocols.policies import TimeoutMixin

__all__ = ["DEFAULT_SOCKET", "ControlFactory", "ControlProtocol", "ask", "handle"]

DEFAULT_SOCKET = "var/confcall.sock"
_MAX_LINE = 4096
MAX_CONNECTIONS = 8
IDLE_TIMEOUT_S = 30.0


def _span_status(daemon: Any) -> dict[str, Any]:
    from confcall.console import span_dicts
    from confcall.dahdi.inventory import inventory

    in_use = {leg.channo for t in daemon.trunks for leg in t.legs.values()
              if leg.channo is not None}
    out = span_dicts(inventory(), in_use)
    answer = {"spans": out, "trunks": {t.span.spanno: _trunk_status(t) for t in daemon.trunks}}
    faults = getattr(daemon, "media_faults", None)
    if faults is not None:  # the media engine's health and alarms (issue 13)
        answer["media"] = faults.status()
    writes = getattr(daemon, "writes", None)
    if writes is not None:  # money/record writes waiting for the database (issue 13)
        answer["writes"] = writes_status(writes)
    return answer


def writes_status(writes: Any) -> dict[str, Any]:
    """The box's write queue for the NOC: how many writes wait, and whether the database
    refuses them now (``confcall.store.writes``)."""
    return {"pending": writes.pending(), "failing": bool(writes.failing),
            "retries": int(writes.retries),
            # journal's hunk: of those, kept on disk (write journal); appends that failed
            "journaled": int(getattr(writes, "journaled", 0)),
            "journal_failures": int(getattr(writes, "journal_failures", 0))}


def _trunk_status(t: Any) -> dict[str, Any]:
    """One trunk for the NOC, whatever signals on it (an R2 trunk describes itself)."""
    status = getattr(t, "status", None)
    if callable(status):
        return dict(status())
    return {"trunk": t.name, "signalling": "pri", "d_channel_up": t.link.up,
            "alarm": t.alarmed, "free_channels": t.free_channels()}


def _calls(daemon: Any) -> dict[str, Any]:
    now = float(daemon.reactor.seconds())
    calls = []
    for t in daemon.trunks:
        for leg in t.legs.values():
            calls.append({"trunk": t.name, "channo": leg.channo, "direction": leg.direction,
                          "number": leg.number, "dnis": leg.dnis, "state": leg.state.value,
                          "seconds": round(now - leg.seized_at, 1)})
    return {"calls": sorted(calls, key=lambda c: c["channo"] or 0)}


def _conferences(daemon: Any) -> dict[str, Any]:
    now = float(daemon.reactor.seconds())
    confs = []
    for s in daemon.callbacks.sessions:
        if s.ended:
            continue
        confs.append({"reference": s.reference, "payer": s.payer,
                      "seconds": round(now - s.started_at, 1), "inviting": s.keypad.inviting,
                      "members": [{"seat": 1, "number": s.initiator.number,
                                   "role": "initiator"}] + [
                          {"seat": m.seat, "number": m.number, "state": m.state}
                          for m in s.members if m.state not in ("failed", "left")]})
    return {"conferences": confs}


_COMMANDS = {"span_status": _span_status, "calls": _calls, "conferences": _conferences}


def handle(daemon: Any, line: bytes | str) -> dict[str, Any]:
    """Answer one request line; never raises (a bad request gets an explanation)."""
    try:
        req = json.loads(line)
    except ValueError:
        return {"ok": False, "error": "request must be one JSON object per line"}
    if not isinstance(req, dict) or not isinstance(req.get("cmd"), str):
        return {"ok": False, "error": 'request must look like {"cmd": "span_status"}'}
    fn = _COMMANDS.get(req["cmd"])
    if fn is None:
        return {"ok": False, "error": f"unknown command {req['cmd']!r}; known: "
                                      f"{', '.join(_COMMANDS)}"}
    try:
        return {"ok": True, **fn(daemon)}
    except Exception as e:  # noqa: BLE001 - the NOC gets the reason, the daemon lives on
        return {"ok": False, "error": f"{req['cmd']} failed: {e}"}


class ControlProtocol(LineReceiver, TimeoutMixin):
    delimiter = b"\n"
    MAX_LENGTH = _MAX_LINE

    def __init__(self, daemon: Any, factory: ControlFactory | None = None) -> None:
        self.daemon = daemon
        self.control = factory
        if factory is not None and factory.clock is not None:
            self.callLater = factory.clock.callLater  # type: ignore[assignment]

    def connectionMade(self) -> None:
        transport: Any = self.transport
        if self.control is not None:
            if len(self.control.clients) >= self.control.max_connections:
                self.sendLine(json.dumps({"ok": False, "error": "too many control connections "
                                          f"(at most {self.control.max_connections})"}).encode())
                transport.loseConnection()
                return
            self.control.clients.add(self)
            self.setTimeout(self.control.idle_timeout_s)
        # the transport pauses us (we stop reading requests) while its send buffer is full
        transport.registerProducer(self, True)

    def connectionLost(self, reason: Any = None) -> None:
        self.setTimeout(None)
        if self.control is not None:
            self.control.clients.discard(self)

    def timeoutConnection(self) -> None:
        transport: Any = self.transport
        transport.abortConnection()

    def lineReceived(self, line: bytes) -> None:
        self.resetTimeout()
        self.sendLine(json.dumps(handle(self.daemon, line), ensure_ascii=False).encode())

    def lineLengthExceeded(self, line: bytes) -> None:
        self.sendLine(json.dumps({"ok": False, "error": "request too long"}).encode())
        transport: Any = self.transport
        transport.loseConnection()


class ControlFactory(ServerFactory):
    def __init__(self, daemon: Any, max_connections: int = MAX_CONNECTIONS,
                 idle_timeout_s: float = IDLE_TIMEOUT_S, clock: Any = None) -> None:
        self.daemon = daemon
        self.max_connections = max_connections
        self.idle_timeout_s = idle_timeout_s
        self.clock = clock if clock is not None else getattr(daemon, "reactor", None)
        self.clients: set[ControlProtocol] = set()

    def buildProtocol(self, addr: Any) -> ControlProtocol:
        return ControlProtocol(self.daemon, self)


def ask(path: str, cmd: str, timeout: float = 5.0) -> dict[str, Any]:
    """Client side (no reactor): send one command, return the decoded answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(json.dumps({"cmd": cmd}).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)
