"""The control socket's bounds (issue 14 item 6): a connection cap, an idle timeout, and no
growth when a client pipelines requests without reading the answers.

A real UNIX socket served by a private select reactor (iterated by the test, never installed
as the global one), and plain blocking clients, so the kernel's socket buffers and Twisted's
transport behave as in the daemon.  The daemon is a stand-in with no trunks and no
conferences (its answers are the empty lists), which is all the socket layer needs."""
import json
import socket
import time
from types import SimpleNamespace

import pytest
from twisted.internet.selectreactor import SelectReactor

from confcall.control_socket import ControlFactory

REQUEST = b'{"cmd": "calls"}\n'


@pytest.fixture
def served(tmp_path):
    reactor = SelectReactor()
    daemon = SimpleNamespace(reactor=reactor, trunks=[], callbacks=SimpleNamespace(sessions=[]))
    factory = ControlFactory(daemon, max_connections=3, idle_timeout_s=2.0, clock=reactor)
    path = str(tmp_path / "c.sock")
    port = reactor.listenUNIX(path, factory, mode=0o600)
    yield reactor, factory, path
    for client in list(factory.clients):
        client.transport.abortConnection()
    port.stopListening()
    spin(reactor, 0.05)


def spin(reactor, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        reactor.iterate(0.01)


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.setblocking(False)
    return s


def read_all(reactor, s, want_lines, seconds=20.0):
    buf = b""
    end = time.monotonic() + seconds
    while buf.count(b"\n") < want_lines and time.monotonic() < end:
        reactor.iterate(0.001)
        try:
            chunk = s.recv(1 << 16)
        except BlockingIOError:
            continue
        if not chunk:
            break
        buf += chunk
    return buf


def test_connections_beyond_the_cap_are_told_and_closed(served):
    reactor, factory, path = served
    clients = [connect(path) for _ in range(3)]
    spin(reactor, 0.1)
    assert len(factory.clients) == 3
    extra = connect(path)
    answer = read_all(reactor, extra, 1, seconds=5)
    assert json.loads(answer) == {"ok": False,
                                  "error": "too many control connections (at most 3)"}
    spin(reactor, 0.1)
    assert extra.recv(10) == b""  # closed by the box
    clients[0].sendall(REQUEST)  # the admitted ones still get answers
    assert json.loads(read_all(reactor, clients[0], 1)) == {"ok": True, "calls": []}
    clients[1].close()
    spin(reactor, 0.1)
    again = connect(path)
    again.sendall(REQUEST)
    assert json.loads(read_all(reactor, again, 1)) == {"ok": True, "calls": []}
    for c in clients + [extra, again]:
        c.close()


def test_an_idle_client_is_closed(served):
    reactor, factory, path = served
    quiet, busy = connect(path), connect(path)
    for _ in range(15):  # 3 s: busy keeps asking, quiet says nothing
        busy.sendall(REQUEST)
        spin(reactor, 0.2)
    assert read_all(reactor, busy, 15).count(b"\n") == 15
    assert quiet.recv(10) == b""  # closed after 2 s of silence
    assert len(factory.clients) == 1
    quiet.close()
    busy.close()


def test_unread_answers_do_not_pile_up_in_the_daemon(served):
    reactor, factory, path = served
    s = connect(path)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    sent = 0
    stalled = 0
    while sent < 20_000 and stalled < 200:  # pipeline requests, never read an answer
        try:
            s.send(REQUEST)
            sent += 1
            stalled = 0
        except BlockingIOError:  # the box stopped reading us: our requests back up too
            stalled += 1
        reactor.iterate(0)
    spin(reactor, 0.2)
    (client,) = factory.clients
    tr = client.transport
    buffered = len(tr.dataBuffer) + tr._tempDataLen
    assert sent < 20_000  # the box stopped taking requests
    assert buffered <= 2 * tr.bufferSize  # and holds about one buffer of answers
    answers = read_all(reactor, s, sent, seconds=60)
    assert answers.count(b"\n") == sent  # once read, every request is answered
    assert json.loads(answers.splitlines()[-1]) == {"ok": True, "calls": []}
    s.close()
