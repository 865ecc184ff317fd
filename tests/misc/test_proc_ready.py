"""tests/proc_ready.py: readiness is what the child says (a line, READY=1), and a child that
exits first fails the wait at once with its output, not at the deadline."""
import os
import subprocess
import sys
import time

import pytest

from tests.proc_ready import NotifySocket, NotReady, Output, exits_within, stop

# children that wait for their stdin to close: alive exactly as long as the test wants
WAIT = "import sys; sys.stdin.read()"
NOTIFY = ("import os, socket, sys; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
          "s.sendto(b'STATUS=starting', os.environ['NOTIFY_SOCKET']); "
          "s.sendto(b'READY=1\\nSTATUS=2 spans', os.environ['NOTIFY_SOCKET']); " + WAIT)


def _child(code, **kw):
    return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, **kw)


def test_the_line_that_says_ready_is_found_and_its_groups_returned():
    proc = _child("print('starting'); print('web site on http://127.0.0.1:4711/', flush=True);"
                  + WAIT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out = Output(proc)
        assert out.wait_for(r"web site on http://[\d.]+:(\d+)/", 60).group(1) == "4711"
        assert out.lines == ["starting", "web site on http://127.0.0.1:4711/"]
        assert exits_within(proc, 0) is False
        proc.stdin.close()  # the child's cue to end
        assert exits_within(proc, 60) is True and proc.wait() == 0
    finally:
        stop(proc)


def test_a_child_that_exits_before_its_line_fails_the_wait_at_once_with_its_output():
    proc = _child("print('no DAHDI here'); raise SystemExit(3)", stdout=subprocess.PIPE,
                  stderr=subprocess.STDOUT)
    started = time.monotonic()
    with pytest.raises(NotReady, match=r"exited with 3; its output:\nno DAHDI here"):
        Output(proc).wait_for("web site on", 600)
    assert time.monotonic() - started < 300  # not the deadline: the exit ended the wait


def test_ready_on_the_notify_socket(tmp_path):
    notify = NotifySocket(str(tmp_path / "notify"))
    proc = _child(NOTIFY, env={**os.environ, "NOTIFY_SOCKET": notify.path})
    try:
        assert notify.wait_ready(proc, 60) >= 0
        assert notify.messages == ["STATUS=starting", "READY=1\nSTATUS=2 spans"]
    finally:
        assert stop(proc) == -15  # still running: terminated
        notify.close()


def test_a_child_that_exits_before_ready_fails_the_wait_at_once(tmp_path):
    notify = NotifySocket(str(tmp_path / "notify"))
    proc = _child("raise SystemExit(1)", env={**os.environ, "NOTIFY_SOCKET": notify.path})
    started = time.monotonic()
    with pytest.raises(NotReady, match="exited with 1 before READY=1"):
        notify.wait_ready(proc, 600)
    assert time.monotonic() - started < 300
    assert exits_within(proc, 0) is True
    notify.close()


def test_the_output_of_a_child_that_exited_is_all_there_for_the_message():
    proc = _child("print('one'); print('two'); raise SystemExit('three')",
                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = Output(proc)
    assert exits_within(proc, 60) is True
    assert out.text() == "one\ntwo\nthree"
