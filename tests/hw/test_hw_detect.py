"""detect(): sources merged, profiles matched by PCI id or DAHDI device type."""

from __future__ import annotations

from pathlib import Path

from _hw_helpers import FIXTURES

from confcall.hw import load_profiles
from confcall.hw.detect import detect, match_profiles


def test_sysfs_plus_proc() -> None:
    r = detect(load_profiles(), FIXTURES / "sysfs_te420", FIXTURES / "proc_dahdi")
    (dev,) = r.devices
    assert dev.profiles == ("te420",) and dev.pci_id == "d161:1420"
    assert [s.spanno for s in r.spans] == [1, 2, 3, 4]
    s1, s2 = r.spans[:2]
    assert s1.proc is not None and s1.proc.counters["bpv_count"] == 3
    assert s2.lineconfig == ("HDB3", "CAS")  # sysfs has no CAS bit: inferred
    assert len(r.sources) == 2


def test_scan_only(tmp_path: Path) -> None:
    r = detect(load_profiles(), tmp_path, tmp_path, FIXTURES / "dahdi_scan_te420.txt")
    (dev,) = r.devices
    assert dev.profiles == ("te420",) and dev.span_count == 4 and dev.pci_id is None
    assert r.spans[0].lineconfig == ("HDB3", "CCS", "CRC4")
    assert r.spans[3].alarms == ("UNCONFIGURED",)
    assert r.sources == (f"dahdi_scan:{FIXTURES / 'dahdi_scan_te420.txt'}",)


def test_scan_with_proc() -> None:
    r = detect(load_profiles(), None, FIXTURES / "proc_dahdi", FIXTURES / "dahdi_scan_te420.txt")
    assert r.spans[0].proc is not None and r.spans[0].proc.master


def test_nothing_found(tmp_path: Path) -> None:
    r = detect(load_profiles(), tmp_path, tmp_path)
    assert r.spans == () and r.devices == () and r.sources == ()


def test_match_profiles() -> None:
    profiles = load_profiles()
    assert match_profiles(profiles, "d161:800a", None) == ("te133",)
    assert match_profiles(profiles, "ffff:0000", "Wildcard TE820 (5th Gen)") == ("te820",)
    assert match_profiles(profiles, None, "Sangoma A104 card") == ("a104d",)
    assert match_profiles(profiles, None, None) == ()
