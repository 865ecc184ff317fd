"""Parse ``/proc/dahdi/<span>``: span status, error counters and per-channel state.

Why: it is the one place that shows, per channel, the signalling DAHDI actually applied
(Clear, HDLCFCS, CAS, …), whether the channel is open, and which echo canceller is
attached and active — what `hw detect` needs to tell "configured as planned" from not.
Format (dahdi-base): a span line ``Span 1: TE4/0/1 "desc" (MASTER) HDB3/CCS/CRC4 RED
ClockSource``, counter lines ``BPV count: 3`` (only the non-zero ones), then one line per
channel ``<n> <name> [<sigtype>] [(In use)] [(EC: <name> - ACTIVE)]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from confcall.hw.errors import HwConfigError

LINE_CODES = frozenset({"HDB3", "B8ZS", "AMI", "ESF", "D4", "CCS", "CAS", "CRC4"})
_SPAN = re.compile(r'^Span (\d+): (\S+) "([^"]*)"\s*(.*)$')
_CHANNEL = re.compile(r"^\s*(\d+)\s+(\S+)\s*(.*)$")
_COUNTER = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 \-]*):\s*(\d+)\s*$")
_EC = re.compile(r"^(?:SW)?EC: (.+?)(?: - (ACTIVE|INACTIVE))?$")


@dataclass(frozen=True)
class ProcChannel:
    channo: int
    name: str
    sigtype: str  # "" when the channel is not configured
    in_use: bool
    ec: str | None  # echo canceller name, e.g. VPMOCT128
    ec_active: bool | None
    flags: tuple[str, ...] = ()  # other parenthesised remarks


@dataclass(frozen=True)
class ProcSpan:
    spanno: int
    name: str
    description: str
    master: bool
    lineconfig: tuple[str, ...]
    alarms: tuple[str, ...]
    clock_source: bool
    counters: dict[str, int] = field(default_factory=dict)
    channels: tuple[ProcChannel, ...] = ()


def parse_proc_span(text: str, source: str = "<proc>") -> ProcSpan:
    """Parse the text of one /proc/dahdi/<span> file."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise HwConfigError(source, "", "empty /proc/dahdi span file")
    head = _SPAN.match(lines[0].strip())
    if head is None:
        raise HwConfigError(source, "line 1", f"not a DAHDI span line: {lines[0]!r}",
                            'Span <n>: <name> "<description>" …')
    master, clock, lineconfig, alarms = _status(head.group(4))
    counters: dict[str, int] = {}
    channels: list[ProcChannel] = []
    for ln in lines[1:]:
        counter = _COUNTER.match(ln)
        if counter:
            counters[_key(counter.group(1))] = int(counter.group(2))
            continue
        chan = _CHANNEL.match(ln)
        if chan is None:
            raise HwConfigError(source, "", f"unrecognised line {ln.strip()!r}")
        channels.append(_channel(chan))
    return ProcSpan(spanno=int(head.group(1)), name=head.group(2), description=head.group(3),
                    master=master, lineconfig=lineconfig, alarms=alarms, clock_source=clock,
                    counters=counters, channels=tuple(channels))


def read_proc_dir(directory: str | Path = "/proc/dahdi") -> list[ProcSpan]:
    """Every numbered span file in the directory, by span number; [] when absent."""
    root = Path(directory)
    if not root.is_dir():
        return []
    files = sorted((p for p in root.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    return [parse_proc_span(p.read_text(errors="replace"), str(p)) for p in files]


def _status(rest: str) -> tuple[bool, bool, tuple[str, ...], tuple[str, ...]]:
    master = clock = False
    lineconfig: tuple[str, ...] = ()
    alarms: list[str] = []
    for token in rest.split():
        if token == "(MASTER)":
            master = True
        elif token == "ClockSource":
            clock = True
        elif set(token.split("/")) <= LINE_CODES:
            lineconfig = tuple(token.split("/"))
        else:
            alarms.append(token)
    return master, clock, lineconfig, tuple(alarms)


def _channel(m: re.Match[str]) -> ProcChannel:
    rest = m.group(3)
    in_use, ec, active, flags = False, None, None, []
    for remark in re.findall(r"\(([^)]*)\)", rest):
        ec_match = _EC.match(remark)
        if remark == "In use":
            in_use = True
        elif ec_match:
            ec = ec_match.group(1)
            active = None if ec_match.group(2) is None else ec_match.group(2) == "ACTIVE"
        else:
            flags.append(remark)
    return ProcChannel(channo=int(m.group(1)), name=m.group(2),
                       sigtype=rest.split("(", 1)[0].strip(), in_use=in_use, ec=ec,
                       ec_active=active, flags=tuple(flags))


def _key(label: str) -> str:
    """``CRC4 error count`` → ``crc4_error_count``."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
