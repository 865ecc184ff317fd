"""Span and channel status as an operator reads it on a terminal (and as JSON for machines).

One character per timeslot keeps a 4-span card on one screen:
``B`` bearer idle, ``b`` bearer in use, ``D`` D-channel, ``C`` CAS idle, ``c`` CAS in use,
``-`` not configured. A span in alarm is shown in capitals with its alarms first, because that
is what a NOC looks for first.
"""
from __future__ import annotations

import json
from typing import Collection, Iterable

from confcall.dahdi.constants import Law, SigType, lineconfig_names
from confcall.dahdi.inventory import SpanReport

__all__ = ["render_reports", "reports_json", "channel_map", "span_dicts", "render_span_dicts"]

_DCHANNEL_SIGS = {int(s) for s in SigType if s.is_dchannel}


def channel_map(report: SpanReport, in_use: Collection[int] = ()) -> str:
    out = []
    by_pos = {c.chanpos: c for c in report.channels}
    for pos in range(1, report.status.totalchans + 1):
        c = by_pos.get(pos)
        if c is None or c.sigtype == SigType.NONE:
            out.append("-")
        elif c.sigtype in _DCHANNEL_SIGS:
            out.append("D")
        elif c.sigtype == SigType.CAS:
            out.append("c" if c.channo in in_use else "C")
        else:
            out.append("b" if c.channo in in_use else "B")
    return "".join(out)


def _law(d: dict) -> str:
    laws = {c["law"] for c in d["channels"] if c["sigtype"] in ("CLEAR", "CAS")}
    return "/".join("A-law" if law == Law.ALAW else "μ-law" for law in sorted(laws)) or "-"


def span_dicts(reports: Iterable[SpanReport], in_use: Collection[int] = ()) -> list[dict]:
    """Reports as plain data (what `--json` prints and the daemon's control socket sends)."""
    out = []
    for r in reports:
        d = r.as_dict()
        d["in_use"] = sorted(c.channo for c in r.channels if c.channo in in_use)
        d["map"] = channel_map(r, in_use)
        out.append(d)
    return out


def render_span_dicts(spans: Iterable[dict]) -> str:
    lines: list[str] = []
    for d in spans:
        st = d["span"]
        state = "OK" if st["ok"] else "ALARM " + "/".join(st["alarm_names"])
        first = min((c["channo"] for c in d["channels"]), default=0)
        lines.append(f"Span {st['spanno']}  {st['name']}  \"{st['desc']}\"  {st['spantype']} "
                     f"{'/'.join(lineconfig_names(st['lineconfig']))}  {state}  "
                     f"sync={st['syncsrc']}")
        lines.append(f"  counters  BPV {st['bpv']}  CRC4 {st['crc4']}  E-bit {st['ebit']}  "
                     f"FAS {st['fas']}")
        lines.append(f"  channels  {first}-{first + st['totalchans'] - 1}  configured "
                     f"{st['numchans']}/{st['totalchans']}  in use {len(d['in_use'])}  "
                     f"{_law(d)}")
        lines.append(f"  map       {d['map']}")
    lines.append("  legend    B bearer idle  b in use  D D-channel  C/c CAS idle/in use  - none")
    return "\n".join(lines)


def render_reports(reports: Iterable[SpanReport], in_use: Collection[int] = ()) -> str:
    return render_span_dicts(span_dicts(reports, in_use))


def reports_json(reports: Iterable[SpanReport], in_use: Collection[int] = ()) -> str:
    return json.dumps({"spans": span_dicts(reports, in_use)}, indent=2, ensure_ascii=False)
