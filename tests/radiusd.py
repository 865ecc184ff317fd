"""A throwaway FreeRADIUS accounting server, the carrier's billing server in tests and benches.

Started by the tests' own set-up (like ``pgcluster.py`` for PostgreSQL): Debian's
``freeradius`` with a configuration written into a temp dir — one client (127.0.0.1 with a
shared secret), one accounting listener on a free loopback port, FreeRADIUS's full dictionary
plus confcall's shipped ``dictionary.confcall``, and the ``detail`` module writing every
Accounting-Request it accepts to a file before it answers. ``records()`` parses that file.
A missing ``freeradius`` is a test FAILURE with an explanation, never a skip.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from confcall.billing.sender import DICTIONARY
from tests.proc_ready import NotReady, Output, stop

FREERADIUS = "freeradius"

CONF = """\
prefix = /usr
exec_prefix = /usr
raddbdir = {dir}
confdir = {dir}
logdir = {dir}
run_dir = {dir}
libdir = /usr/lib/freeradius
pidfile = {dir}/radiusd.pid
name = radiusd
max_request_time = 30
cleanup_delay = 5
max_requests = 65536
hostname_lookups = no
log {{
	destination = stdout
	colourise = no
}}
security {{
	allow_core_dumps = no
	max_attributes = 200
	status_server = yes
}}
proxy_requests = no
client confcall {{
	ipaddr = 127.0.0.1
	secret = {secret}
}}
thread pool {{
	start_servers = 2
	max_servers = 4
	min_spare_servers = 1
	max_spare_servers = 4
	max_requests_per_server = 0
	max_queue_size = 65536
	auto_limit_acct = no
}}
modules {{
	detail received {{
		filename = {dir}/detail
		permissions = 0600
		header = "%t"
		locking = no
		log_packet_header = no
	}}
}}
server confcall {{
	listen {{
		type = acct
		ipaddr = 127.0.0.1
		port = {port}
	}}
	accounting {{
		received
	}}
}}
"""


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_freeradius() -> str:
    path = shutil.which(FREERADIUS) or ("/usr/sbin/freeradius"
                                        if os.path.exists("/usr/sbin/freeradius") else None)
    if path is None:
        import pytest
        pytest.fail("FreeRADIUS not found (/usr/sbin/freeradius). Install Debian package "
                    "'freeradius' (scripts/setup.sh does this); the billing hand-off is tested "
                    "against a real RADIUS server, so the tests fail rather than skip.",
                    pytrace=False)
    return path


class RadiusServer:
    def __init__(self, secret: str = "confcall-test-secret", port: int | None = None) -> None:
        self.binary = find_freeradius()
        self.secret = secret
        self.port = port or _free_udp_port()
        self.dir = Path(tempfile.mkdtemp(prefix="confcall-radius-"))
        self.detail = self.dir / "detail"
        (self.dir / "dictionary").write_text(
            "$INCLUDE /usr/share/freeradius/dictionary\n"
            f"$INCLUDE {DICTIONARY.with_name('dictionary.confcall')}\n")
        (self.dir / "radiusd.conf").write_text(
            CONF.format(dir=self.dir, secret=secret, port=self.port))
        self.proc: subprocess.Popen[bytes] | None = None
        self.output: Output | None = None  # its log, drained all along (the pipe never fills)

    def start(self, timeout: float = 60.0) -> None:
        env = {**os.environ, "TZ": "UTC"}
        self.proc = subprocess.Popen([self.binary, "-f", "-d", str(self.dir), "-n", "radiusd",
                                      "-l", "stdout"], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env)
        self.output = Output(self.proc)
        try:
            self.output.wait_for("Ready to process requests", timeout)
        except NotReady as e:
            self.stop()
            raise RuntimeError(f"FreeRADIUS did not start: {e}") from None

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, grace_s=10)
        self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def records(self) -> list[dict[str, str]]:
        """Every Accounting-Request the server accepted, in order: attribute → value (text
        as FreeRADIUS prints it: quotes removed, dates as ``Nov 25 2026 12:00:00 UTC``)."""
        if not self.detail.exists():
            return []
        out: list[dict[str, str]] = []
        current: dict[str, str] | None = None
        for line in self.detail.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                current = None
                continue
            if not line.startswith("\t"):
                current = {}
                out.append(current)
                continue
            name, _, value = line.strip().partition(" = ")
            if current is not None:
                current[name] = value[1:-1] if value.startswith('"') else value
        return out


def radius_time(text: str) -> datetime:
    """A date attribute as the detail file prints it (the server runs with TZ=UTC)."""
    return datetime.strptime(text, "%b %d %Y %H:%M:%S UTC").replace(tzinfo=UTC)
