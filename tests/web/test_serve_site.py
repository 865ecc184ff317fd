"""`confcall serve` starts the site on the box's own reactor when the config has a [web]
section: the pages, the API and /metrics answer on the configured address."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_with_a_web_section_serves_the_site(tmp_path):
    port = free_port()
    (tmp_path / "box.toml").write_text(f"""
[database]
url = "sqlite:///var/box.db"
[hardware]
simulated = true
sim_spans = ["E1:pri"]
[control]
socket = ""
[web]
bind = "127.0.0.1"
port = {port}
""")
    proc = subprocess.Popen([sys.executable, "-c", "from confcall.cli import main; main()",
                             "serve", "-c", "box.toml"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(ROOT),
                                 "CONFCALL_ARGON2": "test"})
    base = f"http://127.0.0.1:{port}"
    try:
        page = None
        deadline = time.monotonic() + 300  # a safeguard for a loaded machine, not a measure
        while page is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                page = urllib.request.urlopen(base + "/login", timeout=30)
            except OSError:
                time.sleep(0.5)
        assert page is not None, proc.stdout.read().decode() if proc.poll() is not None else ""
        assert page.status == 200 and "登录" in page.read().decode()
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        with urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=30) as r:
            assert b'"/api/v1/bookings"' in r.read()
        with urllib.request.urlopen(base + "/metrics", timeout=30) as r:
            assert b'confcall_web_requests_total{method="GET",route="/login"' in r.read()
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
