"""Shared helpers of the DSP tests: run signals through a law and the DTMF detector."""
from __future__ import annotations

import numpy as np

from confcall.dsp import dtmf, g711


def through_law(x: np.ndarray, law: int = g711.LAW_ALAW) -> np.ndarray:
    return g711.law_round_trip(x, law)


def detect(signals: list, chunk: int = 160, law: int = g711.LAW_ALAW) -> list:
    """Run each signal (one channel each) through ``law`` and the detector.

    Returns, per channel, the list of (kind, digit char, time) events.
    """
    n = max(len(s) for s in signals) + 800
    n = (n + chunk - 1) // chunk * chunk
    x = np.zeros((len(signals), n), np.float32)
    for i, s in enumerate(signals):
        x[i, : len(s)] = through_law(s, law)
    st = dtmf.init(len(signals))
    ev = dtmf.Events(4096)
    out: list = [[] for _ in signals]
    for i in range(0, n, chunk):
        k = dtmf.rx(st, np.ascontiguousarray(x[:, i : i + chunk]), ev)
        for j in range(k):
            out[ev.chan[j]].append((int(ev.kind[j]), dtmf.DIGITS[ev.digit[j]], int(ev.time[j])))
    return out


def digits_of(events: list) -> str:
    return "".join(d for k, d, _ in events if k == dtmf.START)
