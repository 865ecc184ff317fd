"""Trunk plans: defaults resolved from the profile, and every bad value explained."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _hw_helpers import PLANS

from confcall.hw import HwConfigError, default_plan, load_plan


def test_mixed_plan_resolves_defaults(te420: Any) -> None:
    plan = load_plan(PLANS / "te420_mixed.toml", te420)
    assert plan.lines == ("E1", "E1", "T1", "E1")  # span 4 unused but still numbered
    pri, r2, t1 = plan.spans
    assert (pri.kind, pri.switchtype, pri.side, pri.crc4, pri.echo_canceller) == \
        ("E1 PRI", "euroisdn_e1", "cpe", True, "hw")  # "euroisdn" in the file: an alias
    assert (r2.kind, r2.framing, r2.r2_variant, r2.crc4, r2.echo_canceller) == \
        ("E1 MFC/R2", "cas", "CN", False, "software")
    assert r2.switchtype is None and r2.side is None
    assert (t1.kind, t1.framing, t1.coding, t1.crc4, t1.timing) == \
        ("T1 PRI", "esf", "b8zs", False, 0)
    assert plan.span(4) is None and plan.span(2) is r2


def test_default_plan(te420: Any, a104d: Any) -> None:
    plan = default_plan(te420)
    assert [(s.span, s.timing, s.kind) for s in plan.spans] == \
        [(n, n, "E1 PRI") for n in range(1, 5)]
    assert all(s.echo_canceller == "hw" for s in plan.spans)
    assert plan.tonezone == "cn"


def test_plan_wide_crc4_default(a104d: Any, tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("crc4 = false\n[[span]]\nspan = 1\n[[span]]\nspan = 2\ncrc4 = true\n")
    assert [s.crc4 for s in load_plan(path, a104d).spans] == [False, True]


@pytest.mark.parametrize("text, key, message, allowed", [
    ('[[span]]\nspan = 5\n', "span[0].span", "5 is out of range", "1..4"),
    ('[[span]]\nspan = 1\n[[span]]\nspan = 1\n', "span[1].span", "listed twice", ""),
    ('[[span]]\nspan = 1\nsignaling = "ss7"\n', "span[0].signaling", "'ss7' is not allowed",
     "pri, mfcr2"),
    ('[[span]]\nspan = 1\nline = "T1"\nsignaling = "mfcr2"\n', "span[0].signaling",
     "MFC/R2 runs on E1 only", "pri on T1"),
    ('[[span]]\nspan = 1\nline = "J1"\n', "span[0].line", "'J1' is not allowed", "E1, T1"),
    ('[[span]]\nspan = 1\nswitchtype = "5ess"\n', "span[0].switchtype",
     "'5ess' is not allowed", "euroisdn_e1, qsig"),
    ('[[span]]\nspan = 1\nline = "T1"\nswitchtype = "euroisdn_e1"\n', "span[0].switchtype",
     "'euroisdn_e1' is not allowed", "ni2, ni1, dms100, 4ess, 5ess, euroisdn_t1, qsig"),
    ('[[span]]\nspan = 1\nsignaling = "mfcr2"\nswitchtype = "euroisdn"\n',
     "span[0].switchtype", "only meaningful for PRI", ""),
    ('[[span]]\nspan = 1\nr2_variant = "CN"\n', "span[0].r2_variant",
     "only meaningful for MFC/R2", ""),
    ('[[span]]\nspan = 1\nsignaling = "mfcr2"\nr2_variant = "XX"\n', "span[0].r2_variant",
     "'XX' is not allowed", "CN, ITU"),
    ('[[span]]\nspan = 1\nline = "T1"\ncrc4 = true\n', "span[0].crc4",
     "CRC4 exists on E1 only", ""),
    ('[[span]]\nspan = 1\nframing = "ccs"\n', "span[0].framing",
     "E1 framing follows the signaling", ""),
    ('[[span]]\nspan = 1\ncoding = "b8zs"\n', "span[0].coding", "'b8zs' is not allowed",
     "hdb3, ami"),
    ('[[span]]\nspan = 1\ntiming = -1\n', "span[0].timing", "-1 is out of range", "0..32"),
    ('[[span]]\nspan = 1\ntiming = 1\n[[span]]\nspan = 2\ntiming = 1\n', "span[1].timing",
     "priority 1 is already used by span 1", "distinct priorities, or 0"),
    ('[[span]]\nspan = 1\ncrc4 = "on"\n', "span[0].crc4", "expected true or false", ""),
    ('[[span]]\nspan = 1\necho_canceller = "vpm"\n', "span[0].echo_canceller",
     "'vpm' is not allowed", "hw, software, none, kernel:mg2"),
    ('[[span]]\nspan = 1\nside = "user"\n', "span[0].side", "'user' is not allowed",
     "cpe, net"),
    ('[[span]]\nspan = 1\nspeed = 2048\n', "span[0].speed", "unknown key", "span, line"),
    ('tonezone = "xx"\n', "tonezone", "'xx' is not allowed", "cn, us"),
    ('profile = "te133"\n', "profile", "plan is for 'te133'", "te420"),
    ('span = 1\n', "span", "expected an array of tables", ""),
])
def test_bad_plan(te420: Any, tmp_path: Path, text: str, key: str, message: str,
                  allowed: str) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(text)
    with pytest.raises(HwConfigError) as err:
        load_plan(path, te420)
    got = str(err.value)
    assert got.startswith(f"{path}: {key}: "), got
    assert message in got and allowed in got


def test_hw_ec_refused_without_hardware(tmp_path: Path, te420: Any) -> None:
    from dataclasses import replace

    from confcall.hw.profile import EchoCancellerSpec

    bare = replace(te420, echo=EchoCancellerSpec(hardware=None, dahdi_name="hwec",
                                                 optional=True))
    path = tmp_path / "plan.toml"
    path.write_text('[[span]]\nspan = 1\necho_canceller = "hw"\n')
    with pytest.raises(HwConfigError, match="has no hardware echo canceller"):
        load_plan(path, bare)
    assert default_plan(bare).spans[0].echo_canceller == "software"


def test_t1_default_card_refuses_mixed_lines(tmp_path: Path) -> None:
    """A driver with one power-on line mode for all spans cannot mix E1 and T1."""
    from dataclasses import replace

    from confcall.hw import load_profile

    te435ish = replace(load_profile("te133"), spans=4, name="te435ish")
    path = tmp_path / "plan.toml"
    path.write_text('profile = "te435ish"\n[[span]]\nspan = 1\nline = "E1"\n'
                    '[[span]]\nspan = 2\nline = "T1"\n')
    with pytest.raises(HwConfigError, match="span-types.conf"):
        load_plan(path, te435ish)


def test_missing_plan_file(te420: Any, tmp_path: Path) -> None:
    with pytest.raises(HwConfigError, match="nope.toml: file not found"):
        load_plan(tmp_path / "nope.toml", te420)
