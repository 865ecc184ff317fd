"""`confcall demo` serves the site on 127.0.0.1 and prints its URL and a demo login; a
newcomer who follows the printed words can log in and book a call there."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.proc_ready import Output, stop

ROOT = Path(__file__).resolve().parents[2]
LOGIN = re.compile(r"web: open (http://127\.0\.0\.1:\d+/) and log in as (\d+) with password "
                   r"(\d+)")


def _call(opener, url: str, method: str, body: dict | None = None,
          csrf: str = "") -> tuple[int, dict | list]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if csrf:
        req.add_header("X-CSRF-Token", csrf)
    try:
        with opener.open(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def test_demo_prints_the_url_and_a_login_that_books_a_call(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "from confcall.cli import main; main()",
                             "demo", "--duration", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        # a safeguard, not a measurement: the demo prints it once started
        m = Output(proc).wait_for(LOGIN.pattern, 300)
        base, number, password = m.groups()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with opener.open(base + "login", timeout=60) as page:
            assert page.status == 200 and "登录" in page.read().decode()
        status, session = _call(opener, base + "api/v1/session", "POST",
                                {"number": number, "password": password})
        assert status == 200, session
        start = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        status, made = _call(opener, base + "api/v1/bookings", "POST",
                             {"participants": ["13900139000", "13700137000"], "start": start},
                             csrf=session["csrf"])
        assert status == 201 and made["state"] == "booked", made
        status, listed = _call(opener, base + "api/v1/bookings", "GET")
        assert status == 200 and made["id"] in [b["id"] for b in listed]
    finally:
        stop(proc)
