"""The box as a service: `confcall install` is idempotent and sets the modes, the unit it
writes passes `systemd-analyze verify`, and `confcall doctor` passes a good simulated box and
names every problem (with its fix) on a broken one."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from confcall.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "hw" / "fixtures"


def _root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for name in ("passwd", "group", "shadow", "gshadow"):
        (root / "etc" / name).touch()
    (root / "etc" / "group").write_text("dahdi:x:120:\n")
    return root


def _mode(p: Path) -> int:
    return p.stat().st_mode & 0o777


def test_install_creates_everything_with_modes_and_is_idempotent(tmp_path):
    root = _root(tmp_path)
    r = CliRunner().invoke(main, ["install", "--root", str(root)])
    assert r.exit_code == 0, r.output
    assert "done: created user confcall" in r.output
    passwd = (root / "etc/passwd").read_text()
    assert passwd.startswith("confcall:x:") and "/var/lib/confcall:/usr/sbin/nologin" in passwd
    assert "dahdi:x:120:confcall" in (root / "etc/group").read_text()
    pepper = root / "etc/confcall/pepper"
    assert _mode(pepper) == 0o600 and len(pepper.read_text()) == 64
    assert _mode(root / "etc/confcall/confcall.toml") == 0o640
    assert _mode(root / "etc/confcall") == 0o750
    assert _mode(root / "var/lib/confcall/numba") == 0o750
    uid = int(passwd.split(":")[2])
    assert pepper.stat().st_uid == (uid if os.geteuid() == 0 else os.geteuid())
    unit = (root / "etc/systemd/system/confcall.service").read_text()
    assert "Type=notify" in unit and "WatchdogSec=" in unit
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    again = CliRunner().invoke(main, ["install", "--root", str(root)])
    assert again.exit_code == 0 and "nothing to do" in again.output
    assert "done:" not in again.output
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
    # an edited config survives a re-install; a loosened pepper mode is put right
    (root / "etc/confcall/confcall.toml").write_text("[log]\nlevel = \"debug\"\n")
    pepper.chmod(0o644)
    third = CliRunner().invoke(main, ["install", "--root", str(root)])
    assert f"done: mode 600 on {pepper}" in third.output
    assert (root / "etc/confcall/confcall.toml").read_text() == "[log]\nlevel = \"debug\"\n"


def test_installed_unit_passes_systemd_analyze_verify(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    root = _root(tmp_path)
    assert CliRunner().invoke(main, ["install", "--root", str(root), "--no-user"]).exit_code == 0
    unit = root / "etc/systemd/system/confcall.service"
    exe = unit.read_text().split("ExecStart=", 1)[1].split()[0]
    assert Path(exe).is_file()  # this installation's confcall
    r = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                       text=True, timeout=120)
    problems = [line for line in (r.stdout + r.stderr).splitlines()
                if "confcall.service" in line]
    assert r.returncode == 0 and problems == [], r.stdout + r.stderr


def _box(tmp_path: Path, *, good: bool) -> tuple[Path, list[str]]:
    """A simulated box: /proc/modules, /dev/dahdi, /proc/dahdi (a TE420 as the fixtures show),
    the span config genconf writes for that card's plan, a database, a pepper."""
    modules = tmp_path / "modules"
    modules.write_text(("dahdi 262144 2 wct4xxp, Live 0x0\n" if good else "") +
                       "wct4xxp 155648 0 - Live 0x0\n")
    dev = tmp_path / "dev"
    dev.mkdir()
    for n in ("ctl", "channel"):
        (dev / n).touch()
    proc = tmp_path / "proc"
    shutil.copytree(FIXTURES / "proc_dahdi", proc)
    if not good:
        (proc / "3").unlink()
    spans = tmp_path / "spans.toml"
    r = CliRunner().invoke(main, ["hw", "genconf", "te420", "--plan",
                                  str(FIXTURES / "plans/te420_mixed.toml"), "-o",
                                  str(tmp_path / "system.conf"), "--span-config", str(spans)])
    assert r.exit_code == 0, r.output
    db = tmp_path / "confcall.db"
    if good:
        assert CliRunner().invoke(main, ["db", "--db", f"sqlite:///{db}", "upgrade"]).exit_code \
            == 0
    pepper = tmp_path / "pepper"
    pepper.write_text("ab" * 32)
    pepper.chmod(0o600 if good else 0o644)
    cfg = tmp_path / "confcall.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{db}"\n[hardware]\nspan_config = "{spans}"\n'
                   f'[control]\nsocket = "{tmp_path}/none.sock"\n'
                   f'[prompts]\ndirectory = "{tmp_path}/prompts"\n')
    return pepper, ["doctor", "-c", str(cfg), "--proc", str(proc), "--dev", str(dev),
                    "--modules", str(modules)]


def test_doctor_passes_a_good_box(tmp_path, monkeypatch):
    pepper, args = _box(tmp_path, good=True)
    monkeypatch.setenv("CONFCALL_PEPPER_FILE", str(pepper))
    monkeypatch.delenv("CONFCALL_PEPPER", raising=False)
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert not [x for x in lines if x.startswith("FAIL")]
    assert "ok   dahdi modules: loaded: dahdi, wct4xxp" in lines
    assert "ok   span 1: 30 channels as configured; no alarms" in lines
    assert "warn span 2: 30 channels as configured; alarms: RED" in lines
    assert lines[-1] == "all checks passed"


def test_doctor_names_every_problem_and_its_fix(tmp_path, monkeypatch):
    pepper, args = _box(tmp_path, good=False)
    monkeypatch.setenv("CONFCALL_PEPPER_FILE", str(pepper))
    monkeypatch.delenv("CONFCALL_PEPPER", raising=False)
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 1
    out = r.output
    assert "FAIL dahdi modules: the dahdi kernel module is not loaded" in out
    assert "FAIL span 3: in the span config but not in" in out and "dahdi_cfg -vv" in out
    assert "FAIL database:" in out and "confcall db upgrade --db" in out
    assert f"FAIL pepper: {pepper} has mode 644: others can read it" in out
    assert f"fix: chmod 600 {pepper}" in out
    assert out.splitlines()[-1] == "4 problem(s)"


def test_serve_speaks_sd_notify_ready_watchdog_stopping(tmp_path):
    """As systemd sees it: READY=1 once the spans are open, WATCHDOG=1 pings while the media
    thread ticks, STOPPING=1 on SIGTERM, then a clean exit."""
    import signal
    import sys

    from tests.proc_ready import NotifySocket, NotReady, Output, stop
    root = Path(__file__).resolve().parents[2]
    (tmp_path / "c.toml").write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/c.db"\n[hardware]\nsimulated = true\n'
        f'sim_spans = ["E1:pri"]\n[prompts]\ndirectory = "{root}/.cache/bench-prompts"\n'
        f'[control]\nsocket = "{tmp_path}/c.sock"\n[metrics]\nport = 0\n')
    notify = NotifySocket(str(tmp_path / "notify"))
    env = {**os.environ, "NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000",
           "CONFCALL_PEPPER": "c" * 64}
    proc = subprocess.Popen([sys.executable, "-m", "confcall.cli", "serve", "-c",
                             str(tmp_path / "c.toml")], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = Output(proc)  # drained all along; the failure message if the box dies
    try:
        try:  # the deadlines are safeguards for a loaded machine, not measures
            notify.wait_for(proc, "WATCHDOG=1", 600, times=2)
            got = notify.messages
            assert got[0].startswith("READY=1") and "1 span(s), 30 channels" in got[0]
            proc.send_signal(signal.SIGTERM)
            notify.wait_for(proc, "STOPPING=1", 600)
        except NotReady as e:
            raise AssertionError(f"{e}\n{out.text()}") from None
        assert proc.wait(60) == 0
    finally:
        stop(proc)
        notify.close()


def test_a_stalled_media_thread_is_seen_as_stalled():
    from confcall.tickstats import TickStats
    stats = TickStats(size=8)
    assert not stats.stalled(2.0)  # not started: nothing to judge
    stats.begin()
    stats.end()
    assert not stats.stalled(2.0, now=stats.last_tick + 1.9)
    assert stats.stalled(2.0, now=stats.last_tick + 2.1)  # no ping: systemd restarts the box
