"""DSP benchmark: per-kernel µs per tick and channels per core in real time.

Run: ``.venv/bin/python bench/dsp.py [--nchan 960] [--ticks 50]``

960 channels (32 E1 spans) in conferences of 3-8 members, every channel talking noise-like
audio at -20 dBm0 so the mixer and the DTMF detector have work; timings are on one thread
(one core). "Channels per core" = nchan × 20 ms / (median time of one tick: this machine is a
shared VM whose neighbours steal time; the mean is printed too). Three figures for the
chain: echo cancellers off; on with uncorrelated audio (the worst case: they never converge
and filter the whole 128 ms tail); and on trunks with a hybrid echo once converged (sparse
window), the usual state of a call.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))

import numpy as np

from confcall.dsp import BLOCK, MediaEngine, dtmf, echo, g711, keysuppress, mixer

TICK_S = BLOCK / 8000.0


def _engine(nchan: int, echo_on: bool, rng) -> MediaEngine:
    laws = np.where(np.arange(nchan) % 2 == 0, g711.LAW_ALAW, g711.LAW_MULAW).astype(np.int8)
    eng = MediaEngine(nchan, laws, echo_cancel=echo_on)
    c, k = 0, 0
    while c < nchan:
        size = min(int(rng.integers(3, 9)), nchan - c)
        for m in range(size):
            eng.join(c + m, k)
        c += size
        k += 1
    music = (3000 * np.sin(np.arange(8000) * 0.2)).astype(np.int16)
    mid = eng.register_sound(music)
    for kk in range(0, k, 4):
        eng.background_music(kk, mid, -20.0)
    return eng


def _input(nchan: int, ticks: int, rng) -> np.ndarray:
    lin = rng.normal(0, dtmf.dbm0_amplitude(-20.0) / np.sqrt(2), (ticks, nchan, BLOCK))
    codes = np.empty(lin.shape, np.uint8)
    for c in range(nchan):
        f = g711.alaw_encode if c % 2 == 0 else g711.ulaw_encode
        codes[:, c] = f(np.clip(np.round(lin[:, c]), -32768, 32767).astype(np.int16))
    return codes


class _StageBuffers:
    """Work arrays for timing each stage alone over all channels (the engine itself fuses the
    stages per channel and has no such arrays)."""

    def __init__(self, n: int):
        shape = (n, BLOCK)
        self.lin, self.clean, self.pre_nlp, self.delayed, self.out, self.sent = (
            np.zeros(shape, np.float32) for _ in range(6))


def _stages(eng: MediaEngine, buf: _StageBuffers, rx: np.ndarray, tx: np.ndarray) -> dict:
    """Each stage as its own array-wide pass (as the engine ran them before fusing)."""
    t = {}
    t0 = time.perf_counter()
    g711.decode(rx, eng.law, buf.lin)
    t1 = time.perf_counter()
    echo.process(eng.echo, buf.lin, buf.sent, buf.clean, buf.pre_nlp)
    t2 = time.perf_counter()
    dtmf.rx(eng.dtmf, buf.pre_nlp, eng.events)
    t3 = time.perf_counter()
    keysuppress.process(eng.ks, buf.clean, eng.dtmf.kfirst, eng.dtmf.klast, buf.delayed)
    t4 = time.perf_counter()
    mixer.mix(eng.mix, eng.bank, buf.delayed, buf.out, eng.done, eng.done_id)
    t5 = time.perf_counter()
    g711.encode(buf.out, eng.law, tx)
    t6 = time.perf_counter()
    buf.sent, buf.out = buf.out, buf.sent
    t.update(decode=t1 - t0, echo=t2 - t1, dtmf=t3 - t2, keysuppress=t4 - t3, mix=t5 - t4,
             encode=t6 - t5)
    return t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nchan", type=int, default=960)
    ap.add_argument("--ticks", type=int, default=200)
    ap.add_argument("--echo-ticks", type=int, default=10)
    a = ap.parse_args()
    rng = np.random.default_rng(1)
    n = a.nchan
    codes = _input(n, max(a.ticks, a.echo_ticks) + 5, rng)
    tx = np.zeros((n, BLOCK), np.uint8)
    print(f"confcall DSP benchmark: {n} channels, conferences of 3-8, 160-sample ticks, "
          f"1 thread, numba cache {os.environ['NUMBA_CACHE_DIR']}")

    chain_no_ec = 0.0
    for echo_on, ticks in ((False, a.ticks), (True, a.echo_ticks)):
        eng = _engine(n, echo_on, rng)
        for k in range(3):  # warm-up (compile or load from cache), applies commands
            eng.process_tick(codes[k], tx)
        times = []
        for k in range(ticks):
            t0 = time.perf_counter()
            eng.process_tick(codes[3 + k], tx)
            times.append(time.perf_counter() - t0)
        whole = float(np.median(times))
        if not echo_on:
            chain_no_ec = whole / n
        label = ("with 128 ms echo cancellers (uncorrelated audio: never converge, whole tail)"
                 if echo_on else "echo canceller off")
        print(f"\n== whole chain, {label}: {whole * 1e3:.2f} ms per tick for {n} channels "
              f"(median of {ticks}; mean {np.mean(times) * 1e3:.2f}) -> "
              f"{n * TICK_S / whole:,.0f} channels per core in real time")
        if echo_on:
            continue
        p10, p90 = (float(np.percentile(times, q)) for q in (10, 90))
        print(f"   tick time spread: 10th percentile {p10 * 1e3:.2f} ms "
              f"({n * TICK_S / p10:,.0f} ch/core), 90th {p90 * 1e3:.2f} ms "
              f"({n * TICK_S / p90:,.0f} ch/core): this shared VM's neighbours, not the code")
        print("   each stage as its own pass over all channels (the engine fuses them):")
        buf = _StageBuffers(n)
        acc: dict = {}
        for k in range(ticks):
            for name, v in _stages(eng, buf, codes[3 + k], tx).items():
                acc.setdefault(name, []).append(v)
        for name, v in acc.items():
            per = float(np.median(v))
            if name == "echo":
                continue
            print(f"   {name:12s} {per * 1e6:10.1f} µs/tick  {per / n * 1e6:8.3f} µs/channel-tick"
                  f"  -> {n * TICK_S / per:>12,.0f} channels/core for this stage")

    m = 96
    conv, steady, sparse, erle_db = bench_echo_converged(m, rng)
    print(f"\n== echo canceller on {m} trunk channels with hybrid echo (6 dB ERL):")
    print(f"   converging (1024 taps)   {conv * 1e6:8.1f} µs/channel-tick -> "
          f"{TICK_S / conv:8,.0f} channels/core for this stage")
    print(f"   converged  ({sparse}/{m} sparse, median ERLE est. {erle_db:.0f} dB) "
          f"{steady * 1e6:8.1f} µs/channel-tick -> {TICK_S / steady:8,.0f} channels/core")
    print(f"   whole chain with converged cancellers: "
          f"{TICK_S / (steady + chain_no_ec):,.0f} channels per core in real time")

def bench_echo_converged(nchan: int, rng) -> tuple:
    """Echo canceller alone on trunk channels with a hybrid echo (6 dB ERL, bulk delay 5-100 ms,
    8 ms dispersion), far end noise-like at -20 dBm0: µs per channel-tick while converging
    (whole 128 ms tail) and once converged (sparse window)."""
    from scipy.signal import lfilter

    st = echo.init(nchan)
    hs = []
    for _c in range(nchan):
        h = np.zeros(int(rng.uniform(40, 800)) + 64)
        h[-64:] = rng.normal(0, 1, 64) * np.exp(-np.arange(64) / 12.0)
        hs.append(h * 0.5 / np.sqrt(np.sum(h**2)))
    n = 300 * BLOCK
    ref = rng.normal(0, dtmf.dbm0_amplitude(-20.0) / np.sqrt(2), (nchan, n)).astype(np.float32)
    rx = np.stack([lfilter(hs[c], [1.0], ref[c]) for c in range(nchan)]).astype(np.float32)
    rx += rng.normal(0, 5.0, rx.shape).astype(np.float32)
    out = np.zeros((nchan, BLOCK), np.float32)
    times = []
    for k in range(n // BLOCK):
        s = slice(k * BLOCK, (k + 1) * BLOCK)
        r, f = np.ascontiguousarray(rx[:, s]), np.ascontiguousarray(ref[:, s])
        t0 = time.perf_counter()
        echo.process(st, r, f, out)
        times.append(time.perf_counter() - t0)
    sparse = int(np.sum(st.lo_hi[:, 1] - st.lo_hi[:, 0] < echo.TAPS))
    return (np.mean(times[1:20]) / nchan, np.mean(times[-50:]) / nchan, sparse,
            float(np.median(st.erle)))


if __name__ == "__main__":
    main()
