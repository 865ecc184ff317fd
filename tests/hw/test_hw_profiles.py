"""Profiles: every shipped file loads, carries HARDWARE.md's facts, and bad values explain."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from _hw_helpers import REPO_PROFILES

from confcall.hw import HwConfigError, ProfileNotFound, load_profile, load_profiles
from confcall.hw.profile import available_profiles, profiles_dir


def test_all_shipped_profiles_load() -> None:
    names = [p.name for p in load_profiles()]
    assert {"te420", "te133", "a104d", "te205p", "te820"} <= set(names)


@pytest.mark.parametrize("name, driver, spans, dchannel, ec", [
    ("te420", "wct4xxp", 4, "hardhdlc", "VPMOCT128"),
    ("te205p", "wct4xxp", 2, "hardhdlc", "VPMOCT064"),
    ("te820", "wct4xxp", 8, "hardhdlc", "VPMOCT256"),
    ("te133", "wcte13xp", 1, "dchan", "VPMOCT032"),
    ("a104d", "wanpipe", 4, "dchan", "Octasic"),
])
def test_profile_facts(name: str, driver: str, spans: int, dchannel: str, ec: str) -> None:
    p = load_profile(name)
    assert (p.driver, p.spans, p.dchannel, p.echo.hardware) == (driver, spans, dchannel, ec)
    assert p.line_types == ("E1", "T1")


def test_te420_details(te420: Any) -> None:
    assert "d161:0420" in te420.pci_ids
    assert te420.span_label(3) == "TE4/0/3"
    assert te420.power_on_line == "auto" and not te420.needs_linemode_option("E1")
    assert te420.defaults["E1"].coding == "hdb3" and te420.defaults["E1"].crc4
    assert (te420.defaults["T1"].framing, te420.defaults["T1"].coding) == ("esf", "b8zs")


def test_te133_starts_in_t1(te133: Any) -> None:
    assert te133.power_on_line == "T1"
    assert te133.linemode_option == "default_linemode"
    assert te133.needs_linemode_option("E1") and not te133.needs_linemode_option("T1")


def test_env_var_overrides_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "te420.toml").write_bytes((REPO_PROFILES / "te420.toml").read_bytes())
    monkeypatch.setenv("CONFCALL_HW_PROFILES", str(tmp_path))
    assert profiles_dir() == tmp_path
    assert available_profiles() == ["te420"]


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ProfileNotFound) as err:
        load_profile("te999")
    assert "te999" in str(err.value) and "te420" in str(err.value)


def test_profile_by_path() -> None:
    assert load_profile(REPO_PROFILES / "a104d.toml").name == "a104d"


# --- bad profiles: each names the file, the key and what is allowed -----------------------

def _base() -> dict[str, Any]:
    with (REPO_PROFILES / "te420.toml").open("rb") as fh:
        return tomllib.load(fh)


def _dump(data: dict[str, Any], path: Path) -> None:
    """Minimal TOML writer for the shapes profiles use (tables one level deep)."""
    def val(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return str(v)
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        return '"' + str(v).replace('"', '\\"') + '"'

    def emit(prefix: str, table: dict[str, Any], out: list[str]) -> None:
        subs = {k: v for k, v in table.items() if isinstance(v, dict)}
        out += [f"{k} = {val(v)}" for k, v in table.items() if not isinstance(v, dict)]
        for k, v in subs.items():
            out.append(f"\n[{prefix}{k}]")
            emit(f"{prefix}{k}.", v, out)

    lines: list[str] = []
    emit("", data, lines)
    path.write_text("\n".join(lines) + "\n")


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for p in parents:
        data = data[p]
    if value is _DELETE:
        del data[last]
    else:
        data[last] = value


_DELETE = object()


@pytest.mark.parametrize("key, value, message, allowed", [
    ("dchannel", "hdlc", "'hdlc' is not allowed", "hardhdlc, dchan"),
    ("driver>dchannel", "wcte13xp", "driver wcte13xp has no hardware HDLC",
     "hardhdlc only with"),
    ("spans", 0, "0 is out of range", "1..32"),
    ("spans", "four", "expected an integer", "1..32"),
    ("pci_ids", ["D161-0420"], "'D161-0420' is not a PCI id", "vvvv:dddd"),
    ("model", _DELETE, "missing required key", ""),
    ("span_name", "TE4/{slot}", "unknown placeholder", "{card} and {port}"),
    ("colour", "red", "unknown key", "model, vendor"),
    ("line.types", ["E1", "J1"], "'J1' is not allowed", "E1, T1"),
    ("line.power_on>line.modprobe_option", "T1", "must be named", "default_linemode"),
    ("line.E1.coding", "b8zs", "'b8zs' is not allowed", "hdb3, ami"),
    ("line.E1.crc4", "yes", "expected true or false", "true, false"),
    ("line.E1.framing", "ccs", "unknown key", "coding, crc4, lbo"),
    ("line.T1.framing", "sf", "'sf' is not allowed", "esf, d4"),
    ("line.T1.lbo", 9, "9 is out of range", "0..7"),
    ("echo_canceller.dahdi_name", "vpm", "'vpm' is not allowed", "hwec"),
])
def test_bad_profile_value(tmp_path: Path, key: str, value: Any, message: str,
                           allowed: str) -> None:
    """`key` is what we change; after `>` comes the key the error must name, when different."""
    key, _, reported = key.partition(">")
    data = _base()
    _set(data, key, value)
    path = tmp_path / "bad.toml"
    _dump(data, path)
    with pytest.raises(HwConfigError) as err:
        load_profile(path)
    text = str(err.value)
    assert text.startswith(f"{path}: {reported or key}: "), text
    assert message in text and allowed in text


def test_line_defaults_for_unsupported_type(tmp_path: Path) -> None:
    data = _base()
    data["line"]["types"] = ["E1"]
    path = tmp_path / "e1only.toml"
    _dump(data, path)
    with pytest.raises(HwConfigError, match=r"line\.T1: defaults for T1, which is not in types"):
        load_profile(path)


def test_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("model = \n")
    with pytest.raises(HwConfigError, match="broken.toml: not valid TOML"):
        load_profile(path)


def test_bad_file_name(tmp_path: Path) -> None:
    path = tmp_path / "TE 420.toml"
    path.write_bytes((REPO_PROFILES / "te420.toml").read_bytes())
    with pytest.raises(HwConfigError, match="not a valid id"):
        load_profile(path)
