"""Parse ``dahdi_scan`` output: INI-like ``[N]`` blocks of ``key=value`` per span.

Why keep it next to sysfs: dahdi_scan is what a field technician can paste into a ticket,
and it also reports the alarm state and framing a running box actually has.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from confcall.hw.errors import HwConfigError

ALARM_CODES = ("RED", "YEL", "BLU", "LFA", "LMFA", "LB", "REC", "NOP", "UUU")
_INT_KEYS = ("basechan", "totchans", "syncsrc", "irq")
_KNOWN = ("active", "alarms", "description", "name", "manufacturer", "devicetype",
          "location", "type", "coding", "framing", *_INT_KEYS)


@dataclass(frozen=True)
class ScanSpan:
    spanno: int
    active: bool
    alarms: tuple[str, ...]  # () when OK or unconfigured
    unconfigured: bool
    description: str
    name: str
    manufacturer: str
    devicetype: str
    location: str
    basechan: int | None
    totchans: int | None
    type: str  # digital-E1, digital-T1, analog, …
    syncsrc: int | None
    coding: str
    framing: str
    extra: tuple[tuple[str, str], ...] = ()  # other keys in order (lbo, *_opts, port…)

    @property
    def line(self) -> str | None:
        """``E1``/``T1``/``J1`` for a digital span, else None."""
        return self.type.split("-", 1)[1] if self.type.startswith("digital-") else None


def parse_dahdi_scan(text: str, source: str = "<dahdi_scan>") -> list[ScanSpan]:
    """All span blocks of a dahdi_scan output, in order."""
    blocks: list[tuple[int, dict[str, str], list[tuple[str, str]]]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            number = line[1:-1]
            if not number.isdigit():
                raise HwConfigError(source, f"line {lineno}", f"bad block header {line!r}",
                                    "[<span number>]")
            blocks.append((int(number), {}, []))
            continue
        key, sep, value = line.partition("=")
        if not sep or not blocks:
            raise HwConfigError(source, f"line {lineno}", f"expected key=value inside a [N] "
                                f"block, got {line!r}")
        _, known, extra = blocks[-1]
        if key in _KNOWN:
            known[key] = value
        else:
            extra.append((key, value))
    return [_span(n, known, extra, source) for n, known, extra in blocks]


def read_dahdi_scan(path: str | Path) -> list[ScanSpan]:
    p = Path(path)
    try:
        return parse_dahdi_scan(p.read_text(errors="replace"), str(p))
    except FileNotFoundError:
        raise HwConfigError(p, "", "file not found") from None


def _span(spanno: int, kv: dict[str, str], extra: list[tuple[str, str]],
          source: str) -> ScanSpan:
    ints: dict[str, int | None] = {}
    for key in _INT_KEYS:
        value = kv.get(key)
        if value is not None and not value.lstrip("-").isdigit():
            raise HwConfigError(source, f"[{spanno}].{key}", f"expected a number, got "
                                f"{value!r}")
        ints[key] = None if value is None else int(value)
    alarms_text = kv.get("alarms", "")
    unconfigured = alarms_text == "UNCONFIGURED"
    alarms = () if alarms_text in ("OK", "UNCONFIGURED", "") else tuple(alarms_text.split("/"))
    for code in alarms:
        if code not in ALARM_CODES:
            raise HwConfigError(source, f"[{spanno}].alarms", f"unknown alarm {code!r}",
                                "OK, UNCONFIGURED or " + "/".join(ALARM_CODES))
    return ScanSpan(
        spanno=spanno, active=kv.get("active", "no") == "yes", alarms=alarms,
        unconfigured=unconfigured, description=kv.get("description", ""),
        name=kv.get("name", ""), manufacturer=kv.get("manufacturer", ""),
        devicetype=kv.get("devicetype", ""), location=kv.get("location", ""),
        basechan=ints["basechan"], totchans=ints["totchans"], type=kv.get("type", ""),
        syncsrc=ints["syncsrc"], coding=kv.get("coding", ""), framing=kv.get("framing", ""),
        extra=tuple(extra))
