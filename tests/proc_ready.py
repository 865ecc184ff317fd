"""Waiting for a real child process (``confcall serve``, a peer) to be ready, without sleeps.

Why: a test or bench that starts a process must not guess how long start-up takes (a fixed
sleep is too short on a loaded machine and wasted time on an idle one), nor poll a port in a
sleep loop. The process says when it is ready; we wait on exactly that, with a deadline that
is a safeguard for a loaded machine, not a measure, and we stop waiting the moment the
process exits (its output is then the failure message).

Two ways a process says it is ready:
- a line on its output (``confcall serve`` logs ``web site on http://HOST:PORT/`` and
  ``confcall up: ...``): ``Output(proc).wait_for(regex, timeout_s)``; a reader thread drains
  the pipe all along, so a chatty child never blocks on a full pipe;
- systemd's ``READY=1`` on ``$NOTIFY_SOCKET`` (the unit is ``Type=notify``):
  ``NotifySocket(path).wait_ready(proc, timeout_s)``; the process's exit is seen at once
  through a pidfd, not at the deadline.

Used by tests/web/test_serve_site.py and bench/memory.py (the bench puts the repository on
``sys.path`` and imports ``tests.proc_ready``), so there is one copy of this logic.

How to use::

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = Output(proc)
    try:
        port = int(out.wait_for(r"web site on http://[^:]+:(\\d+)/", 300).group(1))
        ...
    finally:
        stop(proc)
"""
from __future__ import annotations

import os
import queue
import re
import select
import socket
import subprocess
import threading
import time

__all__ = ["NotReady", "NotifySocket", "Output", "exits_within", "stop"]


class NotReady(AssertionError):
    """The process exited, or the deadline passed, before it said it was ready."""


class Output:
    """A child's output (``stdout=PIPE``; merge stderr into it), line by line, as it comes.

    A daemon thread reads the pipe to its end (the child's exit): lines go to a queue for
    ``wait_for`` and into ``lines`` for the failure message."""

    def __init__(self, proc: subprocess.Popen) -> None:
        if proc.stdout is None:
            raise ValueError("start the process with stdout=subprocess.PIPE")
        self.proc = proc
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._ended = False
        self._thread = threading.Thread(target=self._read, name=f"output-{proc.pid}",
                                        daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)  # end of output: the child exited (or closed its output)

    def text(self) -> str:
        """Everything the child wrote so far (all of it once it exited), for a message."""
        if self.proc.poll() is not None:
            self._thread.join(30)  # the pipe's end is near: the child is gone
        while not self._ended:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is None:
                self._ended = True
            else:
                self.lines.append(line)
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout_s: float) -> re.Match[str]:
        """The first line (from here on) that ``pattern`` matches (``re.search``); raises
        ``NotReady`` with the output so far if the output ends or ``timeout_s`` passes."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        while not self._ended:
            remaining = deadline - time.monotonic()
            try:
                line = self._queue.get(timeout=max(0.0, remaining))
            except queue.Empty:
                break
            if line is None:
                self._ended = True
                break
            self.lines.append(line)
            m = rx.search(line)
            if m:
                return m
        why = (f"exited with {self.proc.wait()}" if self._ended
               else f"said nothing matching it in {timeout_s:g} s")
        raise NotReady(f"waiting for {pattern!r}: the process {why}; its output:\n"
                       f"{self.text()}")


class NotifySocket:
    """A datagram socket standing in for systemd's ``$NOTIFY_SOCKET`` (pass ``path`` to the
    child as ``NOTIFY_SOCKET``)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages: list[str] = []

    def wait_ready(self, proc: subprocess.Popen, timeout_s: float) -> float:
        """Wait for ``READY=1``; returns the seconds it took. ``NotReady`` if the process exits
        first (seen at once through its pidfd) or ``timeout_s`` passes."""
        return self.wait_for(proc, "READY=1", timeout_s)

    def wait_for(self, proc: subprocess.Popen, line: str, timeout_s: float,
                 times: int = 1) -> float:
        """Wait until ``times`` of the messages received so far carry ``line`` (e.g.
        ``WATCHDOG=1`` twice, ``STOPPING=1``); returns the seconds it took. ``NotReady`` if
        the process exits first or ``timeout_s`` passes."""
        started = time.monotonic()
        deadline = started + timeout_s

        def seen() -> int:
            return sum(line in m.splitlines() for m in self.messages)

        pidfd = _pidfd(proc)
        watched: list[int] = [self.sock.fileno()] + ([] if pidfd is None else [pidfd])
        try:
            while seen() < times:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise NotReady(f"{line} not seen {times} time(s) in {timeout_s:g} s "
                                   f"(got {self.messages})")
                # an exited child may still have sent it: read what is there, then stop
                readable, _, _ = select.select(watched, [], [],
                                               remaining if pidfd is not None else 0)
                if self.sock.fileno() in readable:
                    self.messages.append(self.sock.recv(4096).decode(errors="replace"))
                elif pidfd is None or pidfd in readable:
                    raise NotReady(f"the process exited with {proc.wait()} before {line} "
                                   f"(got {self.messages})")
            return time.monotonic() - started
        finally:
            if pidfd is not None:
                os.close(pidfd)

    def close(self) -> None:
        self.sock.close()


def exits_within(proc: subprocess.Popen, seconds: float) -> bool:
    """True as soon as the process exits, False if it is still running after ``seconds``.

    For a measurement window (a bench letting a ready box idle before reading its memory),
    not for readiness: an exit ends the window at once instead of being found after it."""
    pidfd = _pidfd(proc)
    if pidfd is None:
        return True
    try:
        readable, _, _ = select.select([pidfd], [], [], seconds)
        return bool(readable)
    finally:
        os.close(pidfd)


def _pidfd(proc: subprocess.Popen) -> int | None:
    """A descriptor that turns readable when the process exits; None if it was reaped."""
    if proc.returncode is not None:
        return None
    try:
        return os.pidfd_open(proc.pid)
    except ProcessLookupError:  # reaped by someone else's wait() in between
        return None


def stop(proc: subprocess.Popen, grace_s: float = 30.0) -> int:
    """SIGTERM (the box's graceful shutdown), SIGKILL if it is not gone in ``grace_s``;
    returns the exit status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()
