"""A box process's stdout, line by line, for the kill -9 tests that drive a real box.

Why not ``readline`` on a buffered file: it may take several lines at once and leave
``select`` waiting for one it already has.  Why a deadline: a hung box fails the test, never
hangs it; a box that exits fails it at once, with its exit status (its stderr is in the
captured output).

``glued``: markers of lines a parent prints after a child it forked was shot mid-line (the
unfinished line and the parent's next are glued together); the text is split before the
marker so both lines come out.
"""
from __future__ import annotations

import os
import select
import subprocess

import pytest

__all__ = ["Lines"]


class Lines:
    def __init__(self, proc: subprocess.Popen, glued: tuple[str, ...] = ()) -> None:
        self.proc, self.buf, self.glued = proc, b"", glued

    def next(self, timeout_s: float = 300.0) -> str:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            ready, _, _ = select.select([fd], [], [], timeout_s)
            assert ready, f"the box (pid {self.proc.pid}, alive) said nothing for {timeout_s} s"
            chunk = os.read(fd, 65536)
            if not chunk:
                pytest.fail(f"the box exited with status {self.proc.wait(10)} (its stderr is "
                            "in the captured output)", pytrace=False)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        text = line.decode(errors="replace")
        for marker in self.glued:
            i = text.find(marker)
            if i > 0:
                self.buf = text[i:].encode() + b"\n" + self.buf
                return text[:i]
        return text.strip() if not self.glued else text
