"""Compile (or load from numba's cache) and run once every media kernel, before a box takes
calls (issue 13: a cold start dropped audio).

Why: numba compiles a kernel at its first call. On an empty cache that is minutes of CPU; the
first tick of a freshly started box then blocks the media thread while calls are already
coming in: the first callers heard 0.0 s of their announcement and the engine dropped tens of
thousands of blocks. Even from a warm cache, loading the kernels takes a second or two. So
the box runs a tiny engine through every path a call takes (decode, echo canceller on and off,
DTMF, key suppression, the N-1 mix with a prompt and both musics, channel reset) *before* it
opens its spans, and ``scripts/setup.sh`` (and any package's post-install) runs
``python -m confcall.warmup`` so the cache is filled at install time, not at the first call.

The same kernels with the same argument types as production: the engine is the production
class, only small (numba's compiled code does not depend on the number of channels).
"""
from __future__ import annotations

import time

import numpy as np

__all__ = ["warm_kernels"]


def warm_kernels() -> float:
    """Run every media kernel once; returns the seconds it took (compile or cache load)."""
    t0 = time.perf_counter()
    from confcall.dsp import dtmf, g711
    from confcall.dsp.engine import BLOCK, MediaEngine

    eng = MediaEngine(3, [g711.LAW_ALAW, g711.LAW_MULAW, g711.LAW_ALAW], echo_cancel=True)
    sound = eng.register_sound((np.arange(4 * BLOCK) % 64 * 100).astype(np.int16))
    for ch in range(3):
        eng.join(ch, 0)
    eng.play(0, sound)
    eng.waiting_music(0, sound)
    eng.background_music(0, sound)
    eng.hear_music(1, True)
    keys = g711.alaw_encode(np.clip(dtmf.generate("5", -10.0, 60, 40), -32768, 32767))
    rx = np.full((3, BLOCK), 0xD5, np.uint8)
    tx = np.zeros((3, BLOCK), np.uint8)
    for k in range(6):  # echo cancellers on; a key press on channel 0 (the detector's paths)
        seg = keys[k * BLOCK:(k + 1) * BLOCK]
        if seg.size == BLOCK:
            rx[0] = seg
        eng.process_tick(rx, tx)
    for ch in range(3):
        eng.echo_canceller(ch, False)
    for _ in range(3):  # off: the path without the echo stage
        eng.process_tick(rx, tx)
    eng.echo_canceller(1, True)
    eng.reset_channel(2)
    eng.process_tick(rx, tx)
    eng.levels_dbm0()
    return time.perf_counter() - t0


def main() -> None:
    """``python -m confcall.warmup``: fill numba's cache (install time)."""
    import numba

    took = warm_kernels()
    print(f"confcall: media kernels compiled and cached in {took:.1f} s "
          f"({numba.config.CACHE_DIR or 'numba default cache'})")


if __name__ == "__main__":
    main()
