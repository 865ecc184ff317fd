"""Overload: offered load 1.3x the box's channel capacity, 10 virtual minutes (issue 13).

Run: ``.venv/bin/python bench/overload.py [--spans 4] [--minutes 10] [--factor 1.3] [--short]``
(``--short``: one span, two virtual minutes: the test suite runs it, tests/misc/test_benches.py)

What runs: the whole box (``confcall.daemon.Daemon``: libpri CPE per span, the numba media
engine, call control, rating on SQLite through the inline DB runner) on a simulated E1 card,
the carrier's simulated switch (libpri NET) per span, in virtual time, as tests/conference's
``box_harness.Box`` builds it. Conferences arrive as a Poisson stream: the initiator dials the
access number (rejected on-hook with the announcement), the box calls back, the initiator keys
two participants' numbers, both answer and the conference is held 40-80 s, then the initiator
hangs up. The arrival rate makes the offered traffic ``--factor`` times the capacity in
Erlangs: ``rate x channel-seconds per conference (estimated from the script) / channels``.

What is measured and required (Telcordia's figure for switches under overload):
- carried load: B-channels busy, sampled every virtual second, over the last 80 % of the run,
  as a share of all B-channels: >= 90 %;
- the excess is refused cleanly: every call that could not be carried failed with cause 34 (no
  circuit) or 42 (switch congestion), at the box (callbacks, invitations) or at the exchange
  (an access call finding every channel of the route busy); no other failure cause;
- no tick overruns: no 20 ms tick in which the box's own work (media engine, signalling, call
  control, rating; not the simulator's) took more than 20 ms of CPU, and no audio block lost
  at the span (the simulated card counts the blocks confcall did not read in time);
- the box wastes nothing: it carries >= 97 % of what a perfect box (bench/erlang_model.py:
  channels seized and freed instantly, the same arrivals and script) carries.

Why 4 E1 by default, and what 2 E1 shows: a conference takes its three channels one at a
time, so on a small route the loss limit of this traffic, not the box, bounds the carried
load. The model over 20 seeds gives a perfect box 91.4 % on 2 E1 for 10 minutes (sd 1.1; 91.6 %
over 2 hours), 95.0 % on 4 E1 (sd 0.6), 96.8 % on 8 E1, 84.8 % on 1 E1. On 2 E1 the limit sits
on the 90 % goal, so a 10-minute run passes or fails by its dice: this bench's seed draws an
unlucky 89.3 % for a perfect box, and the box carries 89.7 %. (The model is not exact: moving
one phase of the script by a fraction of a second moves a single draw by about 1 %, hence a
97 % share and not 100 %.) From 4 E1 up the limit clears the goal by more than its noise, so
the absolute goal measures the box; the share of the perfect box's figure measures it at any
size (run ``--spans 2`` to see both; ``bench/erlang_model.py`` prints the limits).
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for p in (str(ROOT / "tests" / "conference"), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))
sys.path.insert(0, str(ROOT / "bench"))
from erlang_model import bench_arrivals, ideal_carried  # noqa: E402

TICK_S = 0.020
HOLD_S = (40.0, 80.0)  # conference held this long (uniform) once its members are in
PARTICIPANTS = 2
CLEAN = {34, 42}
# the box must carry this share of what a perfect box carries with the same traffic
# (erlang_model.py): what it wastes in set-up and release, whatever the span count
SHARE_GOAL = 0.97


@dataclass(eq=False)
class Conf:
    i: int
    t_arrive: float
    hold: float
    a: Any
    parts: list[Any]
    state: str = "idle"  # idle, access, callback, keyed, held, done, refused, failed
    why: str = ""
    access: Any = None
    cb: Any = None
    keyed_at: float = 0.0
    end_at: float = 0.0
    session: Any = None
    events: list[str] = field(default_factory=list)


def channel_seconds_per_conference() -> float:
    """What one conference holds: the access call (~1 s), the callback leg from answer to the
    initiator's hang-up (prompt 1 s + keying ~3 s + ringing 2 s + hold), and each participant
    from answer to hang-up (the hold and a little)."""
    hold = sum(HOLD_S) / 2
    return 1.0 + (1.0 + 3.0 + 2.0 + hold) + PARTICIPANTS * (hold + 1.0)


class Overload:
    def __init__(self, spans: int, seconds: float, factor: float, seed: int = 7) -> None:
        from box_harness import Box

        from confcall.rating import secrets_
        secrets_.configure("test")
        secrets_.set_pepper(b"bench-pepper")
        self.tmp = Path(tempfile.mkdtemp(prefix="confcall-overload-"))
        self.bx = Box(self.tmp, spans=spans)
        self.spans = spans
        self.capacity = 30 * spans
        self.seconds = seconds
        self.factor = factor
        self.rate = factor * self.capacity / channel_seconds_per_conference()
        self.rnd = random.Random(seed)
        self.confs: list[Conf] = []
        self.samples: list[tuple[float, int]] = []
        self.refused_by_exchange = 0
        self.box_cpu: list[float] = []
        self._sim_cpu = 0.0
        self._instrument()

    # -- the simulator's CPU is not the box's ---------------------------------------------------
    def _instrument(self) -> None:
        card = self.bx.card
        real_tick = card.tick

        def card_tick() -> None:
            t0 = time.thread_time()
            real_tick()
            self._sim_cpu += time.thread_time() - t0
        card.tick = card_tick  # the daemon's span clock calls it by attribute
        hooks = []
        for h in self.bx.clock._hooks:  # the switches' service
            def timed(h=h) -> None:
                t0 = time.thread_time()
                h()
                self._sim_cpu += time.thread_time() - t0
            hooks.append(timed)
        self.bx.clock._hooks = hooks
        # rating and records: inline here, on the DB thread pool in a real box (not the
        # reactor's tick), so counted apart
        self.db_cpu = 0.0
        runner = self.bx.runner
        for name in ("call", "call_plain"):
            real = getattr(runner, name)

            def timed_db(*a: Any, _real: Any = real, **kw: Any) -> Any:
                t0 = time.thread_time()
                try:
                    return _real(*a, **kw)
                finally:
                    dt = time.thread_time() - t0
                    self.db_cpu += dt
                    self._sim_cpu += dt  # not the tick's
            setattr(runner, name, timed_db)

    # -- the traffic ------------------------------------------------------------------------------
    def plan(self) -> None:
        t, i = 1.0, 0
        while t < self.seconds:
            a = self.bx.phone(f"1350{i:07d}", answer_after=1.0)
            parts = [self.bx.phone(f"139{j}{i:07d}", answer_after=2.0)
                     for j in range(PARTICIPANTS)]
            self.bx.account(a.number, 1_000_000)
            self.confs.append(Conf(i, t, self.rnd.uniform(*HOLD_S), a, parts))
            t += self.rnd.expovariate(self.rate)
            i += 1

    def now(self) -> float:
        return float(self.bx.reactor.seconds())

    def step(self, c: Conf, now: float) -> None:
        from box_harness import ACCESS
        bx = self.bx
        if c.state == "idle":
            if now < c.t_arrive:
                return
            for sw in bx.switches:
                try:
                    c.access = sw.place_call(c.a.number, ACCESS)
                except RuntimeError:  # every channel of this route busy at the exchange
                    continue
                c.state = "access"
                return
            self.refused_by_exchange += 1
            c.state, c.why = "refused", "exchange: all channels busy (34)"
        elif c.state == "access":
            if len(c.a.calls) >= 2:
                c.cb, c.state = c.a.calls[1], "callback"
            elif c.access.ended and now - c.access.ended_at > 200:
                # this conference's callback job: the number's latest one booked after the
                # access call (a reused subscriber has older jobs too)
                since = (bx.epoch + timedelta(seconds=c.t_arrive)).replace(tzinfo=None)
                job = next((j for j in reversed(bx.callbacks.jobs) if j.number == c.a.number
                            and j.job.start_at.replace(tzinfo=None) >= since), None)
                c.state = "refused" if job is not None and job.state == "given_up" else "failed"
                c.why = f"no callback (job {job.state if job else None})"
        elif c.state == "callback":
            if c.cb.ended:
                if len(c.a.calls) > 2:  # a retried callback
                    c.cb = c.a.calls[-1]
                    return
                c.state, c.why = "failed", f"callback ended before keying ({c.cb.cause})"
            elif c.cb.connected and now - c.cb.answered_at > 1.5:
                c.a.press("#*".join(p.number for p in c.parts) + "#")
                c.keyed_at, c.state = now, "keyed"
        elif c.state == "keyed":
            if c.cb.ended:
                c.state, c.why = "done", "initiator's call ended"
            elif now - c.keyed_at > 8:
                c.end_at, c.state = now + c.hold, "held"
        elif c.state == "held":
            if c.cb.ended:
                c.state = "done"
            elif now >= c.end_at:
                bx.switches[0].hangup(c.cb, 16) if c.cb in bx.switches[0].records else \
                    next(sw for sw in bx.switches if c.cb in sw.records).hangup(c.cb, 16)
                c.state = "done"
        # a retried callback that got through after the first was refused
        if c.state == "access" and len(c.a.calls) >= 2:
            c.cb, c.state = c.a.calls[1], "callback"

    def busy(self) -> int:
        return sum(len(t.owner) for t in self.bx.trunks)

    def run(self) -> dict[str, Any]:
        clock = self.bx.clock
        wall0 = time.perf_counter()
        active = list(self.confs)
        next_sample = 0.0
        while self.now() < self.seconds:
            now = self.now()
            active = [c for c in active if c.state not in ("done", "refused", "failed")]
            for c in active:
                self.step(c, now)
            if now >= next_sample:
                self.samples.append((now, self.busy()))
                next_sample += 1.0
            sim0 = self._sim_cpu
            t0 = time.thread_time()
            clock.tick()
            self.box_cpu.append(time.thread_time() - t0 - (self._sim_cpu - sim0))
        # the rest hang up; let everything clear
        for c in self.confs:
            if c.state in ("held", "keyed", "callback") and c.cb is not None and not c.cb.ended:
                for sw in self.bx.switches:
                    if c.cb in sw.records:
                        sw.hangup(c.cb, 16)
        clock.run_until(lambda: self.busy() == 0, 60)
        return {"wall": time.perf_counter() - wall0}

    def failures(self) -> Counter:
        """Causes of every leg the box placed that was not answered (call_legs)."""
        out: Counter = Counter()
        for r in self.bx.call_log():
            if r.direction == "out" and r.answered_at is None:
                out[r.cause] += 1
        return out

    def close(self) -> None:
        self.bx.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spans", type=int, default=4)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--factor", type=float, default=1.3)
    ap.add_argument("--short", action="store_true", help="1 span, 2 virtual minutes (CI)")
    args = ap.parse_args(argv)
    if args.short:
        args.spans, args.minutes = 1, 2.0
    seconds = args.minutes * 60
    ov = Overload(args.spans, seconds, args.factor)
    try:
        t0 = time.perf_counter()
        ov.plan()
        gc.freeze()  # the subscribers and accounts made for the run: not the box's garbage
        setup = time.perf_counter() - t0
        r = ov.run()
        fails = ov.failures()
        card_overruns = sum(ch.overruns for s in ov.bx.card.spans for ch in s.channels)
    finally:
        ov.close()
    cap = ov.capacity
    steady = [b for t, b in ov.samples if t >= 0.2 * seconds]
    carried = statistics.mean(steady) / cap if steady else 0.0
    arrivals, holds = bench_arrivals(seconds, ov.rate, HOLD_S)
    ideal = ideal_carried(cap, seconds, ov.rate, holds, arrivals)
    share = carried / ideal if ideal else 0.0
    states = Counter(c.state for c in ov.confs)
    # 16 on a leg never answered: abandoned (its conference ended while it rang), not refused
    unclean = {k: v for k, v in fails.items() if k not in CLEAN | {16}}
    over = sum(1 for x in ov.box_cpu if x > TICK_S)
    cpu_sorted = sorted(ov.box_cpu)
    p99 = cpu_sorted[int(0.99 * (len(cpu_sorted) - 1))] if cpu_sorted else 0.0
    print(f"confcall overload bench: {args.spans} E1 PRI span(s) = {cap} B-channels, offered "
          f"{args.factor:.2f}x capacity for {args.minutes:g} virtual minutes")
    print(f"  conferences of {1 + PARTICIPANTS} arriving as a Poisson stream at "
          f"{ov.rate * 60:.1f}/min (x {channel_seconds_per_conference():.0f} channel-s each = "
          f"{ov.rate * channel_seconds_per_conference():.1f} Erlangs offered on {cap} channels)")
    print(f"  {len(ov.confs)} conferences offered: " + ", ".join(
        f"{k} {v}" for k, v in sorted(states.items())))
    whys = Counter(c.why for c in ov.confs if c.state == "failed")
    if whys:
        print("  failed: " + "; ".join(f"{k} x{v}" for k, v in whys.most_common()))
    print(f"carried load (last 80 %): {carried * 100:.1f} % of {cap} B-channels busy on average "
          f"(min {min(steady, default=0)}, max {max(steady, default=0)}) -> goal >= 90 %: "
          f"{'met' if carried >= 0.9 else 'NOT met'}")
    access = [c.access.ended_at - c.access.started_at for c in ov.confs
              if c.access is not None and c.access.ended]
    print(f"  a perfect box (channels seized and freed instantly; bench/erlang_model.py, same "
          f"arrivals) would carry {ideal * 100:.1f} %: this box carries {share * 100:.1f} % of "
          f"that (goal >= {SHARE_GOAL * 100:.0f} %); access call held "
          f"{statistics.mean(access) if access else 0.0:.2f} s on average")
    print(f"refused: {ov.refused_by_exchange} access call(s) at the exchange (all channels "
          f"busy, 34); box legs not answered by cause: "
          + (", ".join(f"{k}: {v}" for k, v in sorted(fails.items(), key=str)) or "none")
          + f" (16: abandoned as its conference ended) -> unclean (not 34/42): "
            f"{sum(unclean.values())}")
    print(f"ticks: {len(ov.box_cpu)}; box CPU per 20 ms tick: median "
          f"{statistics.median(ov.box_cpu) * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms, max "
          f"{max(ov.box_cpu) * 1e3:.2f} ms; over 20 ms: {over}; audio blocks lost at the span: "
          f"{card_overruns}; rating and records (the DB pool's work in a box) "
          f"{ov.db_cpu:.1f} CPU s")
    print(f"wall: {r['wall']:.1f} s for the run ({seconds / r['wall']:.1f}x real time), "
          f"{setup:.1f} s set-up; load average {os.getloadavg()[0]:.2f}")
    ok = (carried >= 0.9 and share >= SHARE_GOAL and not unclean and over == 0
          and card_overruns == 0)
    print("RESULT:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
