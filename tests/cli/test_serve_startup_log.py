"""`confcall serve` on a box without DAHDI: the log names the root cause — which channels,
which ioctl, which errno — and what to check, and the process exits non-zero."""
import json
import os
import subprocess
import sys
from pathlib import Path

SPANS = """profile = "te420"
tonezone = "cn"
[[span]]
spanno = 1
line = "E1"
signaling = "pri_cpe"
switchtype = "euroisdn"
channels = "1-15,17-31"
dchannel = 16
"""


def _serve(tmp_path: Path, fmt: str) -> subprocess.CompletedProcess:
    (tmp_path / "spans.toml").write_text(SPANS)
    (tmp_path / "confcall.toml").write_text(f"""
[database]
url = "sqlite:///{tmp_path}/confcall.db"
[hardware]
span_config = "{tmp_path}/spans.toml"
[control]
socket = "{tmp_path}/confcall.sock"
[metrics]
port = 0
[log]
format = "{fmt}"
""")
    env = {**os.environ, "CONFCALL_PEPPER": "x" * 32}
    return subprocess.run([sys.executable, "-m", "confcall.cli", "serve", "-c",
                           str(tmp_path / "confcall.toml")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


def test_startup_failure_names_channels_ioctl_and_errno(tmp_path):
    assert not Path("/dev/dahdi/channel").exists()  # this machine has no DAHDI: the point
    r = _serve(tmp_path, "json")
    assert r.returncode == 1
    events = [json.loads(line) for line in r.stderr.splitlines() if line.startswith("{")]
    errors = [e for e in events if e["level"] == "error"]
    grouped = next(e["msg"] for e in errors if "not usable" in e["msg"])
    assert grouped == ("span 1: 31 of 31 channel(s) not usable (channels 1-31): "
                       "open+DAHDI_SPECIFY failed with ENOENT: [ENOENT] No such file or "
                       "directory")
    final = next(e["msg"] for e in errors if e["msg"].startswith("confcall could not start"))
    assert "open+DAHDI_SPECIFY failed with ENOENT" in final
    assert "dahdi kernel module" in final and "confcall doctor" in final
    assert "Error: confcall could not start" in r.stderr  # the CLI's own last word


def test_keyvalue_log_lines(tmp_path):
    r = _serve(tmp_path, "keyvalue")
    assert r.returncode == 1
    line = next(x for x in r.stderr.splitlines() if "not usable" in x)
    assert " level=error logger=confcall.daemon msg=\"span 1: 31 of 31" in line
    assert line.startswith("ts=")
