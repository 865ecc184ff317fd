"""bench/web.py's short mode runs in the suite, so the benchmark cannot rot."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("site", ["box", "alone"])
def test_bench_web_short_mode_prints_its_figures(site):
    """The site on the box's reactor, and alone in its own process beside the box."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "web.py"), "--short",
                          "--site", site],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    for route in ("POST /api/v1/bookings", "GET /api/v1/bookings"):
        line = next(x for x in out.stdout.splitlines() if route in x)
        m = re.search(r"(\d+) requests\s+([\d.]+) /s\s+p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms\s+"
                      r"errors \{\}", line)
        assert m and int(m.group(1)) > 0, line
    assert "B-channels in the box's media engine" in out.stdout
    waited = next(x for x in out.stdout.splitlines() if "connections busy and waited" in x)
    assert re.search(r"all 8 connections busy and waited: \d+$", waited), waited
    commits = [x for x in out.stdout.splitlines() if "group commits:" in x]
    assert len(commits) == 2, "closed loop and fixed rate: " + out.stdout
    for line in commits:
        m = re.search(r"group commits: (\d+), ([\d.]+) bookings each, (\d+) took over 50 ms",
                      line)
        assert m and int(m.group(1)) > 0 and float(m.group(2)) >= 1.0, line
    disk = [x for x in out.stdout.splitlines() if "disk flush (fdatasync probe" in x]
    assert len(disk) == 3 and all(re.search(r"\d+ flushes\): p50 [\d.]+ ms", x) for x in disk)
    listing = next(x for x in out.stdout.splitlines() if "bookings a page" in x)
    assert "20 bookings a page" in listing, "the first page of the default size"
