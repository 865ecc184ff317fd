"""What a perfect box would carry under bench/overload.py's traffic: the loss limit.

Why: carried load on a few E1s is bounded by blocking, not by the box. A conference needs its
channels one at a time (the access call, then the callback, then each participant as its
number is keyed), so when the route is nearly full a new conference is refused at the
exchange, a callback waits for its retry, or an invitation finds no channel, while single
channels stay idle in between. This model plays the same script (the same Poisson arrivals,
hold times and seed as ``Overload.plan``, the same phases and the box's retry policy) against
N channels that are seized and freed instantly, with no signalling, tick or release time, and
samples the busy channels as the bench does. The real box's carried load divided by this is
the share of the achievable the box delivers; the gap is what the box loses (channels held
while clearing, slow release, admission that refuses too early).

Pure Python, no box: milliseconds to run; ``Overload`` prints it beside the measured figure.
"""
from __future__ import annotations

import heapq
import random
import statistics
from dataclasses import dataclass

__all__ = ["Phases", "ideal_carried"]


@dataclass(frozen=True)
class Phases:
    """The script's timing (bench/overload.py ``Overload.step`` and box_harness's policy)."""

    access_s: float = 0.4  # the access call: rejected on-hook after its announcement (the
    # harness's prompts are 0.3 s tones; the box measured 0.38 s in bench/overload.py)
    callback_delay_s: float = 2.0  # box_harness's CallbackPolicy(delay_s=2.0)
    callback_retries: int = 2
    callback_retry_s: float = 20.0
    initiator_rings_s: float = 1.0  # answer_after=1.0
    keys_after_answer_s: float = 1.5
    key_s: float = 0.16  # 80 ms tone + 80 ms gap per key
    number_keys: int = 12  # 11 digits + '#', then '*' + 11 digits + '#' for the next
    held_after_keyed_s: float = 8.0  # the script holds from 8 s after keying


def ideal_carried(channels: int, seconds: float, rate: float, holds: list[float],
                  arrivals: list[float], phases: Phases = Phases(),
                  participants: int = 2) -> float:
    """Mean busy channels over the last 80 % of ``seconds`` (sampled each second) as a share
    of ``channels``, for conferences arriving at ``arrivals`` held ``holds``."""
    del rate  # the arrivals are given (the bench's own)
    p = phases
    free = channels
    # events: (time, order, kind, conference index); order keeps releases before seizures
    ev: list[tuple[float, int, str, int]] = []
    for i, t in enumerate(arrivals):
        heapq.heappush(ev, (t, 1, "access", i))
    tries = [0] * len(arrivals)
    held = [0] * len(arrivals)  # channels each conference holds
    busy_at: list[int] = []
    next_sample = 0.0
    while ev:
        t, _, kind, i = heapq.heappop(ev)
        if t >= seconds:
            break
        while next_sample <= t:
            busy_at.append(channels - free)
            next_sample += 1.0
        if kind == "release":
            free += held[i]
            held[i] = 0
        elif kind == "access_end":
            free += 1
            heapq.heappush(ev, (t + p.callback_delay_s, 1, "callback", i))
        elif kind == "access":
            if free:
                free -= 1
                heapq.heappush(ev, (t + p.access_s, 0, "access_end", i))
        elif kind == "callback":
            if free:
                free -= 1
                held[i] += 1
                keyed = t + p.initiator_rings_s + p.keys_after_answer_s
                for j in range(participants):
                    at = keyed + (j + 1) * p.number_keys * p.key_s + j * p.key_s
                    heapq.heappush(ev, (at, 1, "invite", i))
                heapq.heappush(ev, (keyed + p.held_after_keyed_s + holds[i], 0, "release", i))
            elif tries[i] < p.callback_retries:
                tries[i] += 1
                heapq.heappush(ev, (t + p.callback_retry_s, 1, "callback", i))
        elif kind == "invite":
            if free and held[i]:
                free -= 1
                held[i] += 1
    while next_sample < seconds:
        busy_at.append(channels - free)
        next_sample += 1.0
    steady = busy_at[int(0.2 * seconds):]
    return statistics.mean(steady) / channels if steady else 0.0


def bench_arrivals(seconds: float, rate: float, hold_s: tuple[float, float],
                   seed: int = 7) -> tuple[list[float], list[float]]:
    """The arrivals and holds ``Overload.plan`` draws (same generator, same order)."""
    rnd = random.Random(seed)
    t, arrivals, holds = 1.0, [], []
    while t < seconds:
        arrivals.append(t)
        holds.append(rnd.uniform(*hold_s))
        t += rnd.expovariate(rate)
    return arrivals, holds


def limits(spans: list[int], minutes: float, seeds: int) -> list[tuple[int, float, float]]:
    """(spans, mean, sd) of a perfect box's carried share over ``seeds`` arrival draws of the
    bench's traffic (1.3x offered, conferences of three held 40-80 s)."""
    import overload  # bench/overload.py: its rate estimate and hold times
    out = []
    for n in spans:
        cap = 30 * n
        rate = 1.3 * cap / overload.channel_seconds_per_conference()
        xs = []
        for seed in range(seeds):
            a, h = bench_arrivals(minutes * 60, rate, overload.HOLD_S, seed=seed)
            xs.append(ideal_carried(cap, minutes * 60, rate, h, a))
        out.append((n, statistics.mean(xs), statistics.stdev(xs) if seeds > 1 else 0.0))
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--short", action="store_true", help="5 seeds (CI)")
    args = ap.parse_args(argv)
    if args.short:
        args.seeds = 5
    print(f"a perfect box under bench/overload.py's traffic (1.3x offered, conferences of 3), "
          f"{args.minutes:g} virtual minutes, {args.seeds} arrival draws:")
    for n, mean, sd in limits([1, 2, 4, 8], args.minutes, args.seeds):
        print(f"  {n} E1 ({30 * n} B-channels): carries {mean * 100:.1f} % (sd {sd * 100:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
