"""Simulated telephone line for the echo canceller and mixer tests.

A 2-wire/4-wire hybrid returns a filtered, attenuated copy of what we send (the echo path: a
bulk delay then a few ms of dispersive response, scaled to the wanted echo return loss, ERL),
plus the line subscriber's own speech and background noise; everything we receive has passed
through G.711 (the line is digital from the exchange on), as has everything we send.
"""
from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from confcall.dsp import dtmf, g711


def echo_path(erl_db: float = 6.0, delay_ms: float = 60.0, seed: int = 1) -> np.ndarray:
    """Impulse response (8 kHz) of a hybrid echo path: bulk delay + decaying band-pass part."""
    rng = np.random.default_rng(seed)
    d = int(delay_ms * 8)
    n = 64  # 8 ms dispersive part
    t = np.arange(n)
    core = rng.normal(0, 1, n) * np.exp(-t / 12.0)
    core = lfilter([1, 0, -1], [1, -1.2, 0.5], core)[:n]  # band limit (no DC), some ringing
    h = np.zeros(d + n)
    h[d:] = core
    # ERL measured over the telephone band: mean power gain over 300-3400 Hz
    f = np.fft.rfft(h, 8192)
    band = slice(int(300 / 4000 * 4096), int(3400 / 4000 * 4096))
    h *= 10 ** (-erl_db / 20) / np.sqrt(np.mean(np.abs(f[band]) ** 2))
    return h


def rms_dbm0(x: np.ndarray) -> float:
    ms = float(np.mean(np.asarray(x, np.float64) ** 2)) + 1e-12
    return 10 * np.log10(ms / (dtmf.DBM0_PEAK**2 / 2))


def noise(n: int, level_dbm0: float, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0, dtmf.DBM0_PEAK / np.sqrt(2) * 10 ** (level_dbm0 / 20), n)


class Line:
    """ref (what we send, 16-bit linear) → rx we receive: G.711(echo + near speech + noise)."""

    def __init__(self, h: np.ndarray, law: int = g711.LAW_ALAW, noise_dbm0: float = -65.0,
                 erl_db: float | None = 6.0):
        self.h = h
        self.law = law
        self.noise_dbm0 = noise_dbm0
        self.erl_db = erl_db  # if set, the ERL *on the signal sent* (level in - level back)

    def run(self, ref: np.ndarray, near: np.ndarray | None = None):
        """Returns (tx as sent, rx as received, echo component alone) for the whole signal."""
        tx = g711.law_round_trip(ref, self.law).astype(np.float64)
        echo = lfilter(self.h, [1.0], tx)
        if self.erl_db is not None:  # as an ERL is measured on a line: on the signal itself
            echo *= np.sqrt(np.mean(tx**2) / np.mean(echo**2) * 10 ** (-self.erl_db / 10))
        rx = echo + noise(tx.size, self.noise_dbm0)
        if near is not None:
            rx = rx + near[: tx.size]
        return tx.astype(np.float32), g711.law_round_trip(rx, self.law), echo


def css(seconds: float, level_dbm0: float = -10.0, seed: int = 3) -> np.ndarray:
    """Composite-source-like signal (after G.168's CSS): voiced 48.6 ms, noise 200 ms, pause
    101.4 ms, repeated with alternating polarity, active parts at ``level_dbm0``."""
    rng = np.random.default_rng(seed)
    nv, nn, npz = 389, 1600, 811
    pulses = np.zeros(nv)
    pulses[:: 8000 // 160] = 1.0
    voiced = lfilter([1.0], [1, -1.3, 0.8], pulses)
    voiced = lfilter([1.0], [1, 0.6, 0.5], voiced)
    nz = lfilter([1.0, 0.5], [1.0], rng.normal(0, 1, nn))
    a = dtmf.DBM0_PEAK / np.sqrt(2) * 10 ** (level_dbm0 / 20)
    voiced *= a / np.sqrt(np.mean(voiced**2))
    nz *= a / np.sqrt(np.mean(nz**2))
    period = np.concatenate([voiced, nz, np.zeros(npz)])
    reps = int(np.ceil(seconds * 8000 / period.size))
    out = np.concatenate([period * (1 if k % 2 == 0 else -1) for k in range(reps)])
    return out[: int(seconds * 8000)]
