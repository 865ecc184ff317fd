"""Call set-up and tear-down through two real libpri instances (confcall's CPE trunk and the
simulated carrier's NET switch) over the simulated span's D-channel.

Each attempt: SETUP → CALL PROCEEDING → ALERTING → CONNECT → (CONNECT ACK) → DISCONNECT →
RELEASE → RELEASE COMPLETE, with up to 30 calls in flight on one E1. Virtual time only paces
libpri's timers; the figure is wall-clock call attempts per second on one core.

Run: .venv/bin/python bench/pri.py [--calls N] [--short]
"""
from __future__ import annotations

import argparse
import time

from twisted.internet import task

from confcall.dahdi import Span
from confcall.dahdi.legs import LegState
from confcall.dahdi.pri_trunk import PriTrunk
from confcall.sim import SimCard, SimPhone, SimSwitch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--in-flight", type=int, default=30)
    ap.add_argument("--short", action="store_true", help="200 calls (the test suite's run)")
    args = ap.parse_args()
    if args.short:
        args.calls = 200

    card = SimCard([("E1", "pri")]).install()
    sim = card.spans[0]
    clock = task.Clock()
    span = Span.open(1, range(1, 32))
    trunk = PriTrunk(span, clock, switchtype="euroisdn_e1")
    switch = SimSwitch(sim, clock)
    for i in range(args.in_flight):
        switch.add_phone(SimPhone(f"1380000{i:04d}", answer_after=0.0))

    def step() -> None:
        sim.pump_dchannel()
        trunk.service()
        switch.service()
        clock.advance(0.001)

    while not (trunk.up and switch.up):
        step()

    done = failed = 0
    started = 0

    def listener(leg, ev) -> None:
        nonlocal done, failed
        if ev.kind == "answered":
            leg.hangup()
        elif ev.kind == "failed":
            failed += 1
        elif ev.kind == "cleared":
            done += 1
            if len(switch.records) > 4 * args.calls:  # keep the record list bounded
                del switch.records[: len(switch.records) // 2]

    active: list = []
    t0 = time.perf_counter()
    steps = 0
    while done < args.calls:
        active = [leg for leg in active if leg.state is not LegState.CLEARED]
        while len(active) < args.in_flight and started < args.calls:
            active.append(trunk.dial(f"1380000{started % args.in_flight:04d}",
                                     listener=listener))
            started += 1
        step()
        steps += 1
    wall = time.perf_counter() - t0
    print(f"libpri CPE<->NET over the simulated E1: {done} call attempts "
          f"(set-up, answer, clear) in {wall:.2f} s wall = {done / wall:.0f} attempts/s "
          f"on one core; {failed} failed; {steps} reactor steps; "
          f"{trunk.link.frames_in + switch.link.frames_in} Q.921 frames received")
    card.uninstall()


if __name__ == "__main__":
    main()
