"""Read DAHDI's sysfs view: ``bus/dahdi_spans`` and ``bus/dahdi_devices`` under a root.

Why sysfs first: it exists as soon as the driver has registered, before system.conf is
applied, and every value is one small file (no output format to break between DAHDI
versions). The root is a parameter so tests (and support staff with a copied tree) can
point it anywhere; attributes a driver or DAHDI version lacks come back as None.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from confcall.hw.errors import HwConfigError

# dahdi/user.h bit values.
ALARM_BITS = ((1 << 0, "RECOVER"), (1 << 1, "LOOPBACK"), (1 << 2, "YELLOW"),
              (1 << 3, "RED"), (1 << 4, "BLUE"), (1 << 5, "NOTOPEN"))
LINECONFIG_BITS = ((1 << 4, "D4"), (1 << 5, "ESF"), (1 << 6, "AMI"), (1 << 7, "B8ZS"),
                   (1 << 8, "CCS"), (1 << 9, "HDB3"), (1 << 10, "CRC4"))
SPANS_DIR = "bus/dahdi_spans/devices"
DEVICES_DIR = "bus/dahdi_devices/devices"


@dataclass(frozen=True)
class SysfsSpan:
    """One ``span-N`` directory."""

    spanno: int
    name: str | None
    desc: str | None
    spantype: str | None  # E1, T1, J1, …
    basechan: int | None
    channels: int | None
    alarms: tuple[str, ...] | None  # decoded bits; () = no alarm
    lbo: int | None
    syncsrc: int | None
    is_digital: bool | None
    is_sync_master: bool | None
    lineconfig: tuple[str, ...] | None  # decoded, e.g. ("CCS", "HDB3", "CRC4")
    linecompat: tuple[str, ...] | None  # what the span can do
    local_spanno: int | None
    device: str | None  # id of the dahdi_device it belongs to, when resolvable


@dataclass(frozen=True)
class SysfsDevice:
    """One dahdi_device (usually one card)."""

    id: str  # directory name, e.g. pci:0000:03:00.0
    manufacturer: str | None
    type: str | None
    span_count: int | None
    hardware_id: str | None
    location: str | None
    pci_id: str | None  # vvvv:dddd from the parent PCI device, when resolvable


@dataclass(frozen=True)
class SysfsSnapshot:
    spans: tuple[SysfsSpan, ...]
    devices: tuple[SysfsDevice, ...]


def decode_bits(value: int, table: tuple[tuple[int, str], ...]) -> tuple[str, ...]:
    return tuple(name for bit, name in table if value & bit)


def read_sysfs(root: str | Path = "/sys") -> SysfsSnapshot:
    """All DAHDI spans and devices under `root` (empty when DAHDI is not loaded)."""
    base = Path(root)
    spans_dir, dev_dir = base / SPANS_DIR, base / DEVICES_DIR
    spans = [read_span(p) for p in _entries(spans_dir, "span-")]
    devices = [read_device(p) for p in _entries(dev_dir, "")]
    return SysfsSnapshot(spans=tuple(sorted(spans, key=lambda s: s.spanno)),
                         devices=tuple(sorted(devices, key=lambda d: d.id)))


def read_span(path: Path) -> SysfsSpan:
    """Parse one span directory; a malformed number raises HwConfigError naming the file."""
    try:
        spanno = int(path.name.removeprefix("span-"))
    except ValueError:
        raise HwConfigError(path, "", "span directory is not named span-<N>") from None
    alarms, lineconfig, linecompat = (_int(path, a) for a in ("alarms", "lineconfig",
                                                                  "linecompat"))
    parent = path.resolve().parent
    return SysfsSpan(
        spanno=spanno, name=_text(path, "name"), desc=_text(path, "desc"),
        spantype=_text(path, "spantype"), basechan=_int(path, "basechan"),
        channels=_int(path, "channels"),
        alarms=None if alarms is None else decode_bits(alarms, ALARM_BITS),
        lbo=_int(path, "lbo"), syncsrc=_int(path, "syncsrc"),
        is_digital=_flag(path, "is_digital"), is_sync_master=_flag(path, "is_sync_master"),
        lineconfig=None if lineconfig is None else decode_bits(lineconfig, LINECONFIG_BITS),
        linecompat=None if linecompat is None else decode_bits(linecompat, LINECONFIG_BITS),
        local_spanno=_int(path, "local_spanno"),
        device=parent.name if (parent / "span_count").exists() else None)


def read_device(path: Path) -> SysfsDevice:
    """Parse one dahdi_device directory; the PCI id comes from its parent PCI device."""
    return SysfsDevice(
        id=path.name, manufacturer=_text(path, "manufacturer"), type=_text(path, "type"),
        span_count=_int(path, "span_count"), hardware_id=_text(path, "hardware_id"),
        location=_text(path, "location"), pci_id=_pci_id(path.resolve().parent))


def _entries(directory: Path, prefix: str) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.name.startswith(prefix) and p.is_dir())


def _text(path: Path, attr: str) -> str | None:
    try:
        return (path / attr).read_text(errors="replace").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _int(path: Path, attr: str) -> int | None:
    text = _text(path, attr)
    if text is None or text == "":
        return None
    try:
        return int(text, 0)
    except ValueError:
        raise HwConfigError(path / attr, "", f"expected a number, got {text!r}") from None


def _flag(path: Path, attr: str) -> bool | None:
    value = _int(path, attr)
    return None if value is None else bool(value)


def _pci_id(pci_dir: Path) -> str | None:
    vendor, device = _text(pci_dir, "vendor"), _text(pci_dir, "device")
    if not vendor or not device:
        return None
    return f"{vendor.lower().removeprefix('0x')}:{device.lower().removeprefix('0x')}"
