"""system.conf generation, checked line by line against HARDWARE.md's rules."""

from __future__ import annotations

from typing import Any

from _hw_helpers import PLANS, config_lines

from confcall.hw import default_plan, generate, load_plan, load_profile, modprobe_conf, system_conf
from confcall.hw.genconf import span_line


def test_te420_mixed_plan_line_by_line(te420: Any) -> None:
    """E1 PRI (hardhdlc, hw EC), E1 MFC/R2 (no dchan, software EC), T1 PRI; span 4 unused."""
    text = system_conf(te420, load_plan(PLANS / "te420_mixed.toml", te420))
    assert config_lines(text) == [
        "span=1,1,0,ccs,hdb3,crc4",
        "span=2,2,0,cas,hdb3",
        "span=3,0,0,esf,b8zs",
        "bchan=1-15,17-31",
        "hardhdlc=16",
        "echocanceller=hwec,1-15,17-31",
        "cas=32-46:1101",
        "cas=48-62:1101",
        "bchan=63-85",
        "hardhdlc=86",
        "echocanceller=hwec,63-85",
        "loadzone=cn",
        "defaultzone=cn",
    ]


def test_r2_span_has_no_dchannel_and_no_ts16(te420: Any) -> None:
    text = system_conf(te420, load_plan(PLANS / "te420_mixed.toml", te420))
    lines = config_lines(text)
    assert not any(ln.startswith(("dchan=", "hardhdlc=")) and ln.endswith("=47")
                   for ln in lines)
    assert "47" not in ",".join(ln for ln in lines if ln.startswith("cas="))


def test_e1_pri_with_dchan_on_wanpipe(a104d: Any) -> None:
    """No hardhdlc outside wct4xxp: the A104D gets dchan=; CRC4 follows the plan per span."""
    text = system_conf(a104d, load_plan(PLANS / "a104d_pri.toml", a104d))
    assert config_lines(text) == [
        "span=1,1,0,ccs,hdb3,crc4",
        "span=2,2,0,ccs,hdb3",
        "bchan=1-15,17-31",
        "dchan=16",
        "echocanceller=hwec,1-15,17-31",
        "bchan=32-46,48-62",
        "dchan=47",
        "echocanceller=hwec,32-46,48-62",
        "loadzone=cn",
        "defaultzone=cn",
    ]


def test_t1_pri_on_te133_with_dchan(te133: Any) -> None:
    plan = load_plan(PLANS / "te133_t1.toml", te133)
    assert config_lines(system_conf(te133, plan)) == [
        "span=1,1,0,esf,b8zs",
        "bchan=1-23",
        "dchan=24",
        "echocanceller=hwec,1-23",
        "loadzone=cn",
        "defaultzone=cn",
    ]
    assert modprobe_conf(te133, plan) is None  # T1 is what the driver starts in


def test_te133_e1_needs_modprobe_option(te133: Any) -> None:
    plan = load_plan(PLANS / "te133_e1.toml", te133)
    assert modprobe_conf(te133, plan) == "options wcte13xp default_linemode=e1\n"
    text = system_conf(te133, plan)
    assert "# The driver starts in T1 mode" in text
    assert "options wcte13xp default_linemode=e1" in text
    assert config_lines(text) == [
        "span=1,0,0,ccs,hdb3,crc4",
        "bchan=1-15,17-31",
        "dchan=16",
        "echocanceller=oslec,1-15,17-31",  # kernel:oslec chosen in the plan
        "loadzone=cn",
        "defaultzone=cn",
    ]


def test_te420_needs_no_modprobe_option(te420: Any) -> None:
    assert modprobe_conf(te420, default_plan(te420)) is None


def test_default_plan_te820_numbering() -> None:
    """Eight E1 spans: span N starts at 31*(N-1)+1, its D-channel is base+15."""
    p = load_profile("te820")
    lines = config_lines(system_conf(p, default_plan(p)))
    spans = [ln for ln in lines if ln.startswith("span=")]
    assert spans == [f"span={n},{n},0,ccs,hdb3,crc4" for n in range(1, 9)]
    hdlc = [ln for ln in lines if ln.startswith("hardhdlc=")]
    assert hdlc == [f"hardhdlc={31 * (n - 1) + 16}" for n in range(1, 9)]
    assert "bchan=218-232,234-248" in lines  # span 8


def test_software_ec_writes_no_echocanceller_line(te420: Any, tmp_path: Any) -> None:
    path = tmp_path / "plan.toml"
    path.write_text('echo_canceller = "software"\ntonezone = "us"\n[[span]]\nspan = 1\n'
                    'timing = 1\n')
    text = system_conf(te420, load_plan(path, te420))
    lines = config_lines(text)
    assert not any(ln.startswith("echocanceller=") for ln in lines)
    assert "confcall's own echo canceller" in text
    assert lines[-2:] == ["loadzone=us", "defaultzone=us"]


def test_span_lines_come_first_and_tonezone_last(te420: Any) -> None:
    lines = config_lines(system_conf(te420, load_plan(PLANS / "te420_mixed.toml", te420)))
    kinds = [ln.split("=", 1)[0] for ln in lines]
    assert kinds[:3] == ["span"] * 3 and "span" not in kinds[3:]
    assert kinds[-2:] == ["loadzone", "defaultzone"]


def test_span_line_lbo_and_d4(te133: Any, tmp_path: Any) -> None:
    path = tmp_path / "plan.toml"
    path.write_text('line = "T1"\n[[span]]\nspan = 1\nline = "T1"\nframing = "d4"\n'
                    'coding = "ami"\nlbo = 3\ntiming = 1\n')
    plan = load_plan(path, te133)
    assert span_line(plan.spans[0]) == "span=1,1,3,d4,ami"


def test_generate_bundles_all_outputs(te133: Any) -> None:
    gen = generate(te133, load_plan(PLANS / "te133_e1.toml", te133))
    assert gen.modprobe_conf == "options wcte13xp default_linemode=e1\n"
    assert 'signaling = "pri_net"' in gen.span_config
    assert gen.system_conf.endswith("defaultzone=cn\n")


def test_hardware_md_examples_on_dchan_card(a104d: Any) -> None:
    """HARDWARE.md's E1 PRI / E1 R2 / T1 PRI lines, exactly, with confcall's software EC."""
    text = system_conf(a104d, load_plan(PLANS / "a104d_mixed.toml", a104d))
    assert config_lines(text) == [
        "span=1,1,0,ccs,hdb3,crc4",
        "span=2,2,0,cas,hdb3",
        "span=3,0,0,esf,b8zs",
        "bchan=1-15,17-31",
        "dchan=16",
        "cas=32-46:1101",
        "cas=48-62:1101",
        "bchan=63-85",
        "dchan=86",
        "loadzone=cn",
        "defaultzone=cn",
    ]
