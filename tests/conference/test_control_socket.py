"""The control socket the NOC's CLI asks: span status with channels in use, calls, conferences."""
import json
import socketserver
import threading

from click.testing import CliRunner
from twisted.internet.testing import StringTransport

from confcall.cli import main
from confcall.control_socket import ControlProtocol, handle

from scenarios import A, B, two_party_conference


def _conference(bx):
    """A and B in a live conference (B's number ended with one '#': inviting still open)."""
    call = two_party_conference(bx, keys="#", talk_s=1.0)
    return call.a, call.b


def test_answers_about_a_live_conference(box):
    bx = box()
    _conference(bx)
    spans = handle(bx.daemon, b'{"cmd": "span_status"}')
    assert spans["ok"] and spans["trunks"][1]["d_channel_up"]
    span1 = spans["spans"][0]
    assert span1["in_use"] == [30, 31] and span1["map"][29:31] == "bb"
    calls = handle(bx.daemon, '{"cmd": "calls"}')
    assert [(c["channo"], c["number"], c["state"]) for c in calls["calls"]] == [
        (30, B, "answered"), (31, A, "answered")]
    confs = handle(bx.daemon, '{"cmd": "conferences"}')["conferences"]
    assert len(confs) == 1 and confs[0]["payer"] == "+86" + A
    assert [(m["seat"], m["number"]) for m in confs[0]["members"]] == [(1, A), (2, B)]


def test_bad_requests_are_explained(box):
    bx = box()
    assert handle(bx.daemon, b"span_status")["error"].startswith("request must be one JSON")
    assert "unknown command 'reboot'" in handle(bx.daemon, '{"cmd": "reboot"}')["error"]
    assert handle(bx.daemon, "[1]")["ok"] is False


def test_protocol_one_json_line_per_request(box):
    bx = box()
    proto = ControlProtocol(bx.daemon)
    tr = StringTransport()
    proto.makeConnection(tr)
    proto.dataReceived(b'{"cmd": "calls"}\n{"cmd": "nope"}\n')
    answers = [json.loads(line) for line in tr.value().splitlines()]
    assert answers[0] == {"ok": True, "calls": []}
    assert answers[1]["ok"] is False
    proto.dataReceived(b"x" * 5000)
    assert b"request too long" in tr.value()


def test_cli_asks_the_box_over_a_unix_socket(box, tmp_path):
    bx = box()
    _conference(bx)
    path = str(tmp_path / "confcall.sock")

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):  # the real answers, served from a thread like the reactor would
            line = self.rfile.readline()
            self.wfile.write(json.dumps(handle(bx.daemon, line)).encode() + b"\n")

    server = socketserver.UnixStreamServer(path, Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        r = CliRunner().invoke(main, ["conferences", "--socket", path])
        assert r.exit_code == 0, r.output
        assert f"payer +86{A}" in r.output and f"[1:{A}, 2:{B}]" in r.output
        r = CliRunner().invoke(main, ["calls", "--socket", path])
        assert "2 call(s)" in r.output and B in r.output
        r = CliRunner().invoke(main, ["span", "status", "--socket", path])
        assert r.exit_code == 0 and "in use 2" in r.output
    finally:
        server.shutdown()
        server.server_close()
    r = CliRunner().invoke(main, ["calls", "--socket", str(tmp_path / "none.sock")])
    assert r.exit_code == 1 and "no control socket" in r.output
