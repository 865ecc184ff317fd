"""MFC/R2 (China No. 1) call set-up on one E1: confcall's trunk (OpenR2) against the simulated
carrier (its own MF sender and detector), all 30 channels busy, both directions.

Compelled register signalling is slow by nature: every digit is a full cycle (our tone on,
theirs on, ours off, theirs off, each recognised in the audio), so a set-up costs line time,
not CPU. The bench prints, per direction:
  - seconds of line time per set-up (seizure to Group-B acceptance) and compelled cycles per
    set-up, against the MF timing limits (OpenR2's 5 s per backward cycle; our 30 s set-up
    guard);
  - set-ups per second per span with every channel kept busy (line time);
  - set-ups per second of wall time on one core (the signalling of both ends in this process,
    virtual time running as fast as the CPU allows): the CPU headroom.

Run: .venv/bin/python bench/r2.py [--calls N] [--short]
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from confcall.dahdi import Span
from confcall.dahdi.legs import LegState
from confcall.dahdi.r2_trunk import R2Options, R2Trunk
from confcall.sim import SimCard, SimPhone, VirtualMediaClock
from confcall.sim.r2switch import SimR2Switch

BACK_CYCLE_LIMIT_S = 5.0   # OpenR2: a backward signal unanswered this long is a protocol error
SETUP_LIMIT_S = 30.0       # R2Options.setup_timeout_s: a register exchange that never ends
CALLER = "13800138000"     # 11 digits, as a Chinese mobile number
CALLED = "13900139{:03d}"  # 11 digits each way too


class Rig:
    def __init__(self) -> None:
        self.card = SimCard([("E1", "cas")]).install()
        sim = self.card.spans[0]
        self.clock = VirtualMediaClock(self.card)
        self.span = Span.open(1, [c.channo for c in sim.channels if c.sigtype])
        self.incoming: list[Any] = []
        self.trunk = R2Trunk(self.span, self.clock.reactor,
                             options=R2Options(numbers=("95000",)),
                             on_incoming=self.incoming.append)
        self.switch = SimR2Switch(sim, self.clock.reactor)
        self.clock.add_hook(self.trunk.service)
        self.clock.add_hook(self.switch.service)
        self.switch.add_phone(SimPhone(CALLER))
        for i in range(30):
            self.switch.add_phone(SimPhone(CALLED.format(i), answer_after=0.0))
        self.clock.run(0.1)

    def close(self) -> None:
        self.switch.stop()
        self.trunk.stop()
        self.span.close()
        self.card.uninstall()


def outgoing(rig: Rig, calls: int) -> dict[str, float]:
    """confcall calls out: it sends the dialled number, the carrier asks for its number."""
    setups: list[float] = []
    started = failed = 0
    active: list[Any] = []

    def listener(leg: Any, ev: Any) -> None:
        nonlocal failed
        if ev.kind == "ringing":
            setups.append(rig.clock.now - leg.seized_at)
        elif ev.kind == "answered":
            leg.hangup()
        elif ev.kind == "failed":
            failed += 1

    t0, v0 = time.perf_counter(), rig.clock.now
    while len(setups) + failed < calls:
        active = [leg for leg in active if leg.state is not LegState.CLEARED]
        while len(active) < 30 and started < calls and rig.trunk.free_channels():
            active.append(rig.trunk.dial(CALLED.format(started % 30), "95000",
                                         listener=listener))
            started += 1
        rig.clock.tick()
    wall, line = time.perf_counter() - t0, rig.clock.now - v0
    recs = [r for r in rig.switch.records if r.direction == "from_confcall"
            and r.accepted_at is not None][-len(setups):]
    return _figures(setups, [r.mf_cycles for r in recs], wall, line, failed)


def incoming(rig: Rig, calls: int) -> dict[str, float]:
    """The carrier calls in: its register sends the number, confcall asks for the caller's."""
    setups: list[float] = []
    placed = 0
    cycles: list[int] = []

    def offered(leg: Any) -> None:
        leg.listener = lambda lg, ev: ev.kind == "answered" and lg.hangup()
        leg.answer()

    rig.trunk.on_incoming = offered
    t0, v0 = time.perf_counter(), rig.clock.now
    mine: list[Any] = []
    failed = 0
    while len(setups) + failed < calls:
        for rec in [r for r in mine if r.accepted_at is not None or r.ended]:
            if rec.accepted_at is None:
                failed += 1
            else:
                setups.append(rec.accepted_at - rec.started_at)
                cycles.append(rec.mf_cycles)
            mine.remove(rec)
        busy = sum(1 for r in rig.switch.records[-60:] if not r.ended)
        if busy < 30 and placed < calls:
            try:
                mine.append(rig.switch.place_call(CALLER, "95000"))
                placed += 1
            except RuntimeError:
                pass  # every idle channel taken this tick
        rig.clock.tick()
    wall, line = time.perf_counter() - t0, rig.clock.now - v0
    return _figures(setups, cycles, wall, line, failed)


def _figures(setups: list[float], cycles: list[int], wall: float, line: float,
             failed: int) -> dict[str, float]:
    n = len(setups)
    return {"n": n, "failed": failed, "setup_s": statistics.mean(setups),
            "setup_max_s": max(setups), "cycles": statistics.mean(cycles) if cycles else 0.0,
            "per_span_s": n / line, "per_wall_s": n / wall}


def report(direction: str, f: dict[str, float]) -> str:
    cycle_ms = 1000 * f["setup_s"] / f["cycles"] if f["cycles"] else 0.0
    return (f"R2 {direction}: {f['n']:.0f} set-ups ({f['failed']:.0f} failed), "
            f"{f['setup_s']:.2f} s of line time per "
            f"set-up (max {f['setup_max_s']:.2f} s, limit {SETUP_LIMIT_S:.0f} s), "
            f"{f['cycles']:.1f} compelled cycles of {cycle_ms:.0f} ms (limit "
            f"{BACK_CYCLE_LIMIT_S * 1000:.0f} ms per cycle); {f['per_span_s']:.1f} set-ups/s "
            f"per E1 span (30 channels, line time); {f['per_wall_s']:.0f} set-ups/s of wall "
            f"time on one core")


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=600)
    ap.add_argument("--short", action="store_true", help="a quick run (the test suite's)")
    args = ap.parse_args(argv)
    calls = 40 if args.short else args.calls
    rig = Rig()
    try:
        lines = [report("outgoing (11 digits sent, our 5-digit number asked for)",
                        outgoing(rig, calls)),
                 report("incoming (5 digits received, an 11-digit caller asked for)",
                        incoming(rig, calls))]
    finally:
        rig.close()
    for line in lines:
        print(line)
    return lines


if __name__ == "__main__":
    main()
