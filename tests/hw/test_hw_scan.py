"""dahdi_scan parser on the sample outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from _hw_helpers import FIXTURES

from confcall.hw import HwConfigError
from confcall.hw.scan import parse_dahdi_scan, read_dahdi_scan


def test_te420_scan() -> None:
    spans = read_dahdi_scan(FIXTURES / "dahdi_scan_te420.txt")
    assert [s.spanno for s in spans] == [1, 2, 3, 4]
    s1, s2, s3, s4 = spans
    assert (s1.active, s1.alarms, s1.unconfigured, s1.name, s1.line) == \
        (True, (), False, "TE4/0/1", "E1")
    assert (s1.basechan, s1.totchans, s1.syncsrc, s1.coding, s1.framing) == \
        (1, 31, 1, "HDB3", "CCS/CRC4")
    assert (s1.manufacturer, s1.devicetype) == ("Digium", "Wildcard TE420 (5th Gen)")
    assert ("framing_opts", "ESF,D4,CCS,CRC4") in s1.extra
    assert s2.alarms == ("RED", "YEL")
    assert (s3.line, s3.totchans, s3.coding, s3.framing) == ("T1", 24, "B8ZS", "ESF")
    assert s4.unconfigured and s4.alarms == () and s4.framing == ""


def test_te133_scan() -> None:
    (s,) = read_dahdi_scan(FIXTURES / "dahdi_scan_te133.txt")
    assert (s.name, s.line, s.syncsrc, s.devicetype) == ("WCT13x/0", "T1", 0, "Wildcard TE133")


def test_analog_type_has_no_line() -> None:
    (s,) = parse_dahdi_scan("[1]\nactive=yes\nalarms=OK\ntype=analog\nport=1,FXS\nport=2,FXO\n")
    assert s.line is None and s.extra == (("port", "1,FXS"), ("port", "2,FXO"))


@pytest.mark.parametrize("text, key, message", [
    ("active=yes\n", "line 1", "inside a [N] block"),
    ("[one]\n", "line 1", "bad block header"),
    ("[1]\nactive yes\n", "line 2", "expected key=value"),
    ("[1]\nbasechan=x\n", "[1].basechan", "expected a number"),
    ("[1]\nalarms=RED/PURPLE\n", "[1].alarms", "unknown alarm 'PURPLE'"),
])
def test_bad_scan(text: str, key: str, message: str) -> None:
    with pytest.raises(HwConfigError) as err:
        parse_dahdi_scan(text, "scan.txt")
    got = str(err.value)
    assert got.startswith(f"scan.txt: {key}: ") and message in got, got


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(HwConfigError, match="file not found"):
        read_dahdi_scan(tmp_path / "none.txt")
