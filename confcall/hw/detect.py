"""`hw detect`: merge sysfs, /proc/dahdi and dahdi_scan into one report, match profiles.

Why merge: sysfs knows the devices and PCI ids but not per-channel state; /proc/dahdi
knows channels, counters and echo cancellers; dahdi_scan may be all a remote technician
can send. Each source is optional; spans come from sysfs when present, else dahdi_scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from confcall.hw.procfs import ProcSpan, read_proc_dir
from confcall.hw.profile import CardProfile
from confcall.hw.scan import ScanSpan, read_dahdi_scan
from confcall.hw.sysfs import SysfsDevice, read_sysfs


@dataclass(frozen=True)
class DetectedDevice:
    id: str
    manufacturer: str
    type: str
    span_count: int | None
    location: str
    pci_id: str | None
    profiles: tuple[str, ...]  # candidate profile names, best first


@dataclass(frozen=True)
class DetectedSpan:
    spanno: int
    name: str
    description: str
    line: str | None  # E1 / T1 / J1
    basechan: int | None
    channels: int | None
    alarms: tuple[str, ...]
    lineconfig: tuple[str, ...]
    sync_master: bool | None
    device: str | None
    proc: ProcSpan | None


@dataclass(frozen=True)
class DetectReport:
    devices: tuple[DetectedDevice, ...]
    spans: tuple[DetectedSpan, ...]
    sources: tuple[str, ...]  # which inputs contributed, for the operator


def match_profiles(profiles: Sequence[CardProfile], pci_id: str | None,
                   devtype: str | None) -> tuple[str, ...]:
    """Profiles whose PCI id matches, else whose device_types occur in the DAHDI type."""
    if pci_id:
        hits = tuple(p.name for p in profiles if pci_id.lower() in p.pci_ids)
        if hits:
            return hits
    text = (devtype or "").lower()
    return tuple(p.name for p in profiles
                 if text and any(t.lower() in text for t in p.device_types))


def detect(profiles: Sequence[CardProfile], sysfs_root: str | Path | None = None,
           proc_dir: str | Path | None = None,
           scan_file: str | Path | None = None) -> DetectReport:
    """Read whichever sources are given (missing directories simply contribute nothing)."""
    sources: list[str] = []
    snap = read_sysfs(sysfs_root) if sysfs_root is not None else None
    procs = {p.spanno: p for p in read_proc_dir(proc_dir)} if proc_dir is not None else {}
    scans = read_dahdi_scan(scan_file) if scan_file is not None else []
    if snap and (snap.spans or snap.devices):
        sources.append(f"sysfs:{sysfs_root}")
    if procs:
        sources.append(f"proc:{proc_dir}")
    if scans:
        sources.append(f"dahdi_scan:{scan_file}")
    if snap and snap.spans:
        devices = tuple(_from_sysfs_device(d, profiles) for d in snap.devices)
        spans = tuple(DetectedSpan(
            spanno=s.spanno, name=s.name or "", description=s.desc or "", line=s.spantype,
            basechan=s.basechan, channels=s.channels, alarms=s.alarms or (),
            lineconfig=_with_cas(s.spantype, s.lineconfig or ()),
            sync_master=s.is_sync_master, device=s.device,
            proc=procs.get(s.spanno)) for s in snap.spans)
    else:
        devices, spans = _from_scan(scans, procs, profiles)
    return DetectReport(devices=devices, spans=spans, sources=tuple(sources))


def _with_cas(line: str | None, lineconfig: tuple[str, ...]) -> tuple[str, ...]:
    """sysfs has no CAS bit: a configured E1 without CCS is CAS framed; say so."""
    if line == "E1" and lineconfig and "CCS" not in lineconfig:
        return (*lineconfig, "CAS")
    return lineconfig


def _from_sysfs_device(d: SysfsDevice, profiles: Sequence[CardProfile]) -> DetectedDevice:
    return DetectedDevice(id=d.id, manufacturer=d.manufacturer or "", type=d.type or "",
                          span_count=d.span_count, location=d.location or "",
                          pci_id=d.pci_id, profiles=match_profiles(profiles, d.pci_id, d.type))


def _from_scan(scans: list[ScanSpan], procs: dict[int, ProcSpan],
               profiles: Sequence[CardProfile],
               ) -> tuple[tuple[DetectedDevice, ...], tuple[DetectedSpan, ...]]:
    """dahdi_scan has no device list: group spans by (devicetype, location)."""
    groups: dict[tuple[str, str], list[ScanSpan]] = {}
    for s in scans:
        groups.setdefault((s.devicetype, s.location), []).append(s)
    devices = tuple(DetectedDevice(
        id=loc or dtype, manufacturer=ss[0].manufacturer, type=dtype, span_count=len(ss),
        location=loc, pci_id=None, profiles=match_profiles(profiles, None, dtype))
        for (dtype, loc), ss in groups.items())
    spans = tuple(DetectedSpan(
        spanno=s.spanno, name=s.name, description=s.description, line=s.line,
        basechan=s.basechan, channels=s.totchans,
        alarms=("UNCONFIGURED",) if s.unconfigured else s.alarms,
        lineconfig=tuple(x for part in (s.coding, s.framing) for x in part.split("/") if x),
        sync_master=None, device=s.location or s.devicetype, proc=procs.get(s.spanno))
        for s in scans)
    return devices, spans
