"""`confcall hw …` through click's CliRunner."""

from __future__ import annotations

from pathlib import Path

from _hw_helpers import FIXTURES, PLANS, REPO_PROFILES, config_lines
from click.testing import CliRunner

from confcall.cli.hw import hw
from confcall.hw import load_span_config


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(hw, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_list() -> None:
    code, out, _ = run("list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["PROFILE", "MODEL", "DRIVER"]
    te420 = next(ln for ln in lines if ln.startswith("te420"))
    assert "wct4xxp" in te420 and "hardhdlc" in te420 and "VPMOCT128" in te420


def test_list_with_profiles_option(tmp_path: Path) -> None:
    (tmp_path / "te133.toml").write_bytes((REPO_PROFILES / "te133.toml").read_bytes())
    code, out, _ = run("--profiles", str(tmp_path), "list")
    assert code == 0 and len(out.splitlines()) == 2 and "te133" in out


def test_show() -> None:
    code, out, _ = run("show", "te133")
    assert code == 0
    assert "wcte13xp" in out and "VPMOCT032" in out
    assert "options wcte13xp default_linemode=e1|t1" in out


def test_show_unknown_profile() -> None:
    code, _, err = run("show", "te999")
    assert code == 1 and "no profile named 'te999'" in err and "te420" in err


def test_genconf_stdout_with_plan() -> None:
    code, out, _ = run("genconf", "te420", "--plan", str(PLANS / "te420_mixed.toml"))
    assert code == 0
    lines = config_lines(out)
    assert lines[:3] == ["span=1,1,0,ccs,hdb3,crc4", "span=2,2,0,cas,hdb3",
                         "span=3,0,0,esf,b8zs"]
    assert "cas=32-46:1101" in lines and "cas=48-62:1101" in lines
    assert lines[-2:] == ["loadzone=cn", "defaultzone=cn"]


def test_genconf_default_plan() -> None:
    code, out, _ = run("genconf", "a104d")
    assert code == 0
    assert "dchan=16" in config_lines(out) and "hardhdlc=16" not in out


def test_genconf_files_and_modprobe(tmp_path: Path) -> None:
    conf, spans, modprobe = tmp_path / "system.conf", tmp_path / "spans.toml", \
        tmp_path / "dahdi.conf"
    code, out, err = run("genconf", "te133", "--plan", str(PLANS / "te133_e1.toml"),
                         "-o", str(conf), "--span-config", str(spans),
                         "--modprobe", str(modprobe))
    assert code == 0 and out == "" and err == ""
    assert config_lines(conf.read_text())[0] == "span=1,0,0,ccs,hdb3,crc4"
    assert modprobe.read_text() == "options wcte13xp default_linemode=e1\n"
    (span,) = load_span_config(spans).spans
    assert (span.signaling, span.dchannel, span.echo_canceller) == ("pri_net", 16,
                                                                    "kernel:oslec")


def test_genconf_warns_about_modprobe_when_not_written() -> None:
    code, _, err = run("genconf", "te133", "--plan", str(PLANS / "te133_e1.toml"))
    assert code == 0 and "options wcte13xp default_linemode=e1" in err


def test_genconf_bad_plan(tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text('[[span]]\nspan = 2\nsignaling = "mfcr2"\n')
    code, _, err = run("genconf", "te133", "--plan", str(plan))
    assert code == 1
    assert f"{plan}: span[0].span: 2 is out of range (allowed: 1..1)" in err


def test_detect_fixtures() -> None:
    code, out, _ = run("detect", "--sysfs", str(FIXTURES / "sysfs_te420"),
                       "--proc", str(FIXTURES / "proc_dahdi"))
    assert code == 0
    assert "-> te420" in out and "[d161:1420]" in out
    row1 = next(ln for ln in out.splitlines() if ln.startswith("1 "))
    assert row1.split() == ["1", "TE4/0/1", "E1", "1-31", "CCS/HDB3/CRC4", "OK", "3",
                            "VPMOCT128"]
    row2 = next(ln for ln in out.splitlines() if ln.startswith("2 "))
    assert "RED" in row2


def test_detect_scan_file_json(tmp_path: Path) -> None:
    import json

    code, out, _ = run("detect", "--sysfs", str(tmp_path), "--proc", str(tmp_path),
                       "--scan-file", str(FIXTURES / "dahdi_scan_te133.txt"), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["devices"][0]["profiles"] == ["te133"]
    assert report["spans"][0]["name"] == "WCT13x/0"


def test_detect_nothing(tmp_path: Path) -> None:
    code, _, err = run("detect", "--sysfs", str(tmp_path), "--proc", str(tmp_path))
    assert code == 1 and "no DAHDI spans found" in err


def test_detect_bad_scan_file(tmp_path: Path) -> None:
    bad = tmp_path / "scan.txt"
    bad.write_text("[1]\nalarms=PURPLE\n")
    code, _, err = run("detect", "--sysfs", str(tmp_path), "--scan-file", str(bad))
    assert code == 1 and "unknown alarm 'PURPLE'" in err
