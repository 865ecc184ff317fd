"""DAHDI channel numbering and channel-list text ("1-15,17-31").

Why its own module: genconf, the span config and the daemon all have to agree on which
global channel number is which timeslot of which span. DAHDI numbers channels globally
across spans in registration order (an E1 span has 31 channels, a T1 span 24), so E1 span 2
starts at 32; the D-channel (or the CAS signalling timeslot) is timeslot 16 on E1 and 24
on T1.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CHANNELS_PER_SPAN = {"E1": 31, "T1": 24}
DCHANNEL_TIMESLOT = {"E1": 16, "T1": 24}
SIGNALING_TIMESLOT_E1 = 16  # MFC/R2: carries the ABCD bits, never a dchan


@dataclass(frozen=True)
class SpanChannels:
    """The global channel numbers of one span as the trunk plan uses them."""

    basechan: int
    total: int
    bearer: tuple[int, ...]  # B-channels (PRI) or CAS voice channels (R2)
    dchannel: int | None  # PRI only


def basechans(lines: Sequence[str]) -> list[int]:
    """First global channel of each span, given the line type of every span in order."""
    bases, nxt = [], 1
    for line in lines:
        bases.append(nxt)
        nxt += CHANNELS_PER_SPAN[line]
    return bases


def span_channels(basechan: int, line: str, signaling: str) -> SpanChannels:
    """Bearer and D-channel numbers for a span of `line` carrying `signaling`.

    PRI: every timeslot but the D-channel carries a call (30B+D on E1, 23B+D on T1).
    MFC/R2 (E1 only): timeslot 16 is the CAS multiframe, so it is neither bearer nor dchan.
    """
    total = CHANNELS_PER_SPAN[line]
    skip = DCHANNEL_TIMESLOT[line] if signaling == "pri" else SIGNALING_TIMESLOT_E1
    bearer = tuple(basechan + ts - 1 for ts in range(1, total + 1) if ts != skip)
    dchan = basechan + skip - 1 if signaling == "pri" else None
    return SpanChannels(basechan=basechan, total=total, bearer=bearer, dchannel=dchan)


def runs(channels: Iterable[int]) -> list[tuple[int, int]]:
    """Contiguous (first, last) runs of a channel list, in ascending order."""
    out: list[tuple[int, int]] = []
    for ch in sorted(set(channels)):
        if out and ch == out[-1][1] + 1:
            out[-1] = (out[-1][0], ch)
        else:
            out.append((ch, ch))
    return out


def run_text(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def format_ranges(channels: Iterable[int]) -> str:
    """``[1, 2, 3, 5]`` → ``"1-3,5"`` (the channel-list syntax of system.conf)."""
    return ",".join(run_text(a, b) for a, b in runs(channels))


def parse_ranges(text: str) -> tuple[int, ...]:
    """``"1-15,17-31"`` → the channel numbers; ValueError explains a malformed list."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise ValueError(f"empty item in channel list {text!r}")
        first, sep, last = part.partition("-")
        if not first.isdigit() or (sep and not last.isdigit()):
            raise ValueError(f"{part!r} in {text!r} is not N or N-M")
        lo, hi = int(first), int(last) if sep else int(first)
        if lo < 1 or hi < lo:
            raise ValueError(f"{part!r} in {text!r} is not an ascending range from 1")
        out.extend(range(lo, hi + 1))
    return tuple(out)
