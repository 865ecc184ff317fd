"""`confcall serve` starts the site on the box's own reactor when the config has a [web]
section: the pages, the API and /metrics answer on the configured address."""
from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.proc_ready import Output, stop

ROOT = Path(__file__).resolve().parents[2]


def test_serve_with_a_web_section_serves_the_site(tmp_path):
    (tmp_path / "box.toml").write_text("""
[database]
url = "sqlite:///var/box.db"
[hardware]
simulated = true
sim_spans = ["E1:pri"]
[control]
socket = ""
[web]
bind = "127.0.0.1"
port = 0
""")
    proc = subprocess.Popen([sys.executable, "-c", "from confcall.cli import main; main()",
                             "serve", "-c", "box.toml"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(ROOT),
                                 "CONFCALL_ARGON2": "test"})
    try:
        # the box logs the address it listens on once the site is up (port 0: any free one);
        # the deadline is a safeguard for a loaded machine, not a measure
        port = Output(proc).wait_for(r"web site on http://127\.0\.0\.1:(\d+)/", 300).group(1)
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(base + "/login", timeout=30) as page:
            assert page.status == 200 and "登录" in page.read().decode()
            assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        with urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=30) as r:
            assert b'"/api/v1/bookings"' in r.read()
        with urllib.request.urlopen(base + "/metrics", timeout=30) as r:
            assert b'confcall_web_requests_total{method="GET",route="/login"' in r.read()
    finally:
        stop(proc)
