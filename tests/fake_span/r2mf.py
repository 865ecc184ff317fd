"""MFC/R2 inter-register tones for the simulated carrier: a generator and a detector of its own.

Why its own: confcall's side runs OpenR2's MF engine, so the carrier must not: the simulator
generates and detects the tones independently (numpy), which is what checks that confcall
really speaks R2 on the wire rather than agreeing with itself.

The tones (ITU-T Q.441, China No. 1 uses the same): signal n is two of six frequencies, the
forward set 1380–1980 Hz, the backward set 1140–540 Hz, 120 Hz apart. Signals 1..15 pair
frequencies (f0 f1), (f0 f2), (f1 f2), (f0 f3), (f1 f3), (f2 f3), (f0 f4) … (f4 f5); the codes are
OpenR2's: '1'..'9', '0' for 10, 'B'..'F' for 11..15. Each frequency is sent at -11 dBm0
(Q.454: -11.5 ± 1); the detector (Q.455 style) wants both strongest frequencies above -35 dBm0,
within 7 dB of each other and every other frequency at least 11 dB below the weaker of them,
judged on each 20 ms block.
"""
from __future__ import annotations

import numpy as np

from confcall.dsp import g711

__all__ = [
    "BACKWARD_HZ",
    "CODES",
    "FORWARD_HZ",
    "MfDetector",
    "MfGenerator",
    "code_of",
    "number_of",
]

FORWARD_HZ = (1380.0, 1500.0, 1620.0, 1740.0, 1860.0, 1980.0)
BACKWARD_HZ = (1140.0, 1020.0, 900.0, 780.0, 660.0, 540.0)
CODES = "1234567890BCDEF"  # signal 1..15
_PAIRS = [(a, b) for b in range(1, 6) for a in range(b)]  # (0,1) (0,2) (1,2) (0,3) ...
_DBM0_PEAK = 32768.0 * 10.0 ** (-3.14 / 20.0)  # a 0 dBm0 sine (G.711 full scale = +3.14 dBm0)
_LEVEL_DBM0 = -11.0
_DETECT_MIN_DBM0 = -35.0
_TWIST_DB = 7.0
_OTHERS_DB = 11.0


def code_of(signal: int) -> str:
    """Signal number 1..15 as its code character."""
    return CODES[signal - 1]


def number_of(code: str) -> int:
    """Code character as signal number 1..15."""
    return CODES.index(code) + 1


class MfGenerator:
    """Phase-continuous two-frequency tones, as G.711 codes in blocks."""

    def __init__(self, forward: bool, law: int = g711.LAW_ALAW) -> None:
        self.freqs = FORWARD_HZ if forward else BACKWARD_HZ
        self.law = law
        self.code: str | None = None
        self._t = 0
        self._amp = _DBM0_PEAK * 10 ** (_LEVEL_DBM0 / 20)

    def set(self, code: str | None) -> None:
        """Start sending ``code`` (None: silence)."""
        if code is not None and code not in CODES:
            raise ValueError(f"no R2 signal {code!r}")
        self.code = code

    def block(self, n: int = 160) -> bytes:
        t = np.arange(self._t, self._t + n)
        self._t += n
        if self.code is None:
            pcm = np.zeros(n)
        else:
            a, b = _PAIRS[number_of(self.code) - 1]
            pcm = self._amp * (np.sin(2 * np.pi * self.freqs[a] * t / 8000)
                               + np.sin(2 * np.pi * self.freqs[b] * t / 8000))
        enc = g711.alaw_encode if self.law == g711.LAW_ALAW else g711.ulaw_encode
        return enc(np.round(pcm).astype(np.int16)).tobytes()


class MfDetector:
    """Which signal (code) a 20 ms block of G.711 codes carries, or None."""

    def __init__(self, forward: bool, law: int = g711.LAW_ALAW) -> None:
        self.freqs = FORWARD_HZ if forward else BACKWARD_HZ
        self.law = law
        self._basis: np.ndarray | None = None

    def _levels_dbm0(self, x: np.ndarray) -> np.ndarray:
        n = x.size
        if self._basis is None or self._basis.shape[1] != n:
            t = np.arange(n)
            self._basis = np.exp(-2j * np.pi * np.outer(self.freqs, t) / 8000)
        amp = 2 * np.abs(self._basis @ x) / n  # each frequency's sine amplitude
        return 20 * np.log10(np.maximum(amp, 1e-3) / _DBM0_PEAK)

    def detect(self, codes: bytes) -> str | None:
        dec = g711.alaw_decode if self.law == g711.LAW_ALAW else g711.ulaw_decode
        x = dec(np.frombuffer(codes, np.uint8)).astype(np.float64)
        lv = self._levels_dbm0(x)
        order = np.argsort(lv)[::-1]
        first, second = int(order[0]), int(order[1])
        if lv[second] < _DETECT_MIN_DBM0 or lv[first] - lv[second] > _TWIST_DB:
            return None
        if lv[order[2]] > lv[second] - _OTHERS_DB:
            return None
        a, b = sorted((first, second))
        return code_of(_PAIRS.index((a, b)) + 1)
