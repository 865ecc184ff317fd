"""sysfs parser on the TE420 sample tree (symlinks as in a real /sys)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _hw_helpers import FIXTURES

from confcall.hw import HwConfigError
from confcall.hw.sysfs import read_sysfs

TREE = FIXTURES / "sysfs_te420"


def test_spans() -> None:
    snap = read_sysfs(TREE)
    assert [s.spanno for s in snap.spans] == [1, 2, 3, 4]
    s1, s2, s3, s4 = snap.spans
    assert (s1.name, s1.desc, s1.spantype, s1.basechan, s1.channels) == \
        ("TE4/0/1", "T4XXP (PCI) Card 0 Span 1", "E1", 1, 31)
    assert s1.alarms == () and s1.lineconfig == ("CCS", "HDB3", "CRC4")
    assert s1.is_sync_master is True and s1.is_digital is True and s1.lbo == 0
    assert s1.local_spanno == 1 and s1.syncsrc == 1
    assert s1.linecompat == ("D4", "ESF", "AMI", "B8ZS", "CCS", "HDB3", "CRC4")
    assert s2.alarms == ("RED",) and s2.lineconfig == ("HDB3",)
    assert (s3.spantype, s3.basechan, s3.channels, s3.lineconfig) == \
        ("T1", 63, 24, ("ESF", "B8ZS"))
    assert s4.alarms == ("NOTOPEN",) and s4.lineconfig == ()
    assert {s.device for s in snap.spans} == {"pci:0000:03:00.0"}


def test_device_and_pci_id() -> None:
    (dev,) = read_sysfs(TREE).devices
    assert (dev.id, dev.manufacturer, dev.type, dev.span_count, dev.pci_id) == \
        ("pci:0000:03:00.0", "Digium", "Wildcard TE420 (5th Gen)", 4, "d161:1420")
    assert dev.location == "PCI Express Bus 03 Slot 01" and dev.hardware_id == "1dd7f6a2"


def test_missing_tree_is_empty(tmp_path: Path) -> None:
    snap = read_sysfs(tmp_path)
    assert snap.spans == () and snap.devices == ()


def test_plain_copy_without_symlinks(tmp_path: Path) -> None:
    """A tree copied without symlinks: attributes still read, device links unknown."""
    span = tmp_path / "bus/dahdi_spans/devices/span-7"
    span.mkdir(parents=True)
    (span / "name").write_text("WCT13x/0\n")
    (span / "spantype").write_text("T1\n")
    s = read_sysfs(tmp_path).spans[0]
    assert (s.spanno, s.name, s.spantype, s.device, s.alarms, s.basechan) == \
        (7, "WCT13x/0", "T1", None, None, None)


def test_bad_number_names_the_file(tmp_path: Path) -> None:
    span = tmp_path / "bus/dahdi_spans/devices/span-1"
    span.mkdir(parents=True)
    (span / "basechan").write_text("one\n")
    with pytest.raises(HwConfigError, match=r"span-1/basechan: expected a number, got 'one'"):
        read_sysfs(tmp_path)
