"""What a simulated subscriber says into the line, and tools to check what they heard.

A phone's outgoing audio is, in priority order: queued DTMF key presses (real dual tones from
``confcall.dsp.dtmf.generate``, at a realistic −8 dBm0 per tone, 80 ms on / 80 ms off unless
told otherwise), then its "voice" while talking (a steady tone at the phone's own frequency,
so a test can tell in anyone's recording whose voice reached them), else silence.

Listening tools decode a recording and measure the level of a frequency (Goertzel), find the
DTMF digits in it with confcall's own Q.24 detector, and measure DTMF tone energy.
"""
from __future__ import annotations

import functools
from collections import deque

import numpy as np

from confcall.dsp import dtmf, g711

__all__ = ["Voice", "decode", "level_db", "digits_heard", "dtmf_energy_db", "windows"]


_SILENCE: dict[tuple[int, int], bytes] = {}  # (law, samples) -> the encoded silence


class Voice:
    def __init__(self, law: int = g711.LAW_ALAW, voice_hz: float | None = None,
                 voice_dbm0: float = -16.0) -> None:
        self.law = law
        self.voice_hz = voice_hz
        self.voice_amp = dtmf.dbm0_amplitude(voice_dbm0)
        self.talking = False
        self._queue: deque[np.ndarray] = deque()
        self._phase = 0
        self.samples = 0

    def press(self, keys: str, on_ms: float = 80.0, off_ms: float = 80.0,
              level_dbm0: float = -8.0) -> None:
        for k in keys:
            if k.upper() not in dtmf.DIGITS:
                raise ValueError(f"no DTMF key {k!r}")
        self._queue.append(dtmf.generate(keys, level_dbm0, on_ms, off_ms))

    def pause(self, ms: float) -> None:
        self._queue.append(np.zeros(int(ms * 8)))

    @property
    def keying(self) -> bool:
        return bool(self._queue)

    def produce(self, n: int) -> bytes:
        if not self._queue and not (self.talking and self.voice_hz):
            self._phase += n  # silence: the same codes every time (hours of idle phones)
            self.samples += n
            return _silence(self.law, n)
        out = np.zeros(n)
        filled = 0
        while filled < n and self._queue:
            head = self._queue[0]
            take = min(n - filled, head.size)
            out[filled:filled + take] = head[:take]
            if take == head.size:
                self._queue.popleft()
            else:
                self._queue[0] = head[take:]
            filled += take
        if filled < n and self.talking and self.voice_hz:
            t = np.arange(self._phase, self._phase + n - filled)
            out[filled:] = self.voice_amp * np.sin(2 * np.pi * self.voice_hz * t / 8000)
        self._phase += n
        self.samples += n
        pcm = np.clip(np.round(out), -32768, 32767).astype(np.int16)
        enc = g711.alaw_encode if self.law == g711.LAW_ALAW else g711.ulaw_encode
        return enc(pcm).tobytes()


@functools.lru_cache(maxsize=16)
def _silence(law: int, n: int) -> bytes:
    enc = g711.alaw_encode if law == g711.LAW_ALAW else g711.ulaw_encode
    return enc(np.zeros(n, dtype=np.int16)).tobytes()


def decode(codes: bytes | bytearray, law: int = g711.LAW_ALAW) -> np.ndarray:
    dec = g711.alaw_decode if law == g711.LAW_ALAW else g711.ulaw_decode
    return dec(np.frombuffer(bytes(codes), np.uint8)).astype(np.float64)


def level_db(x: np.ndarray, hz: float) -> float:
    """Level of one frequency in dB relative to a full-scale sine (Goertzel, Hann window)."""
    if x.size == 0:
        return -200.0
    w = np.hanning(x.size)
    t = np.arange(x.size)
    z = np.sum(x * w * np.exp(-2j * np.pi * hz * t / 8000))
    amp = 2 * abs(z) / np.sum(w)
    return float(20 * np.log10(max(amp, 1e-9) / 32768))


def windows(x: np.ndarray, ms: float = 100.0) -> list[np.ndarray]:
    n = int(ms * 8)
    return [x[i:i + n] for i in range(0, x.size - n + 1, n)]


def dtmf_energy_db(x: np.ndarray, ms: float = 20.0) -> float:
    """The strongest DTMF dual-tone pair level (dB re full scale) over any ``ms`` window: the
    weaker of its row and column tones, so speech or music with one loud partial scores low."""
    best = -200.0
    for w in windows(x, ms):
        rows = [level_db(w, f) for f in dtmf.ROW_HZ]
        cols = [level_db(w, f) for f in dtmf.COL_HZ]
        best = max(best, min(max(rows), max(cols)))
    return best


def digits_heard(x: np.ndarray) -> str:
    """The DTMF digits confcall's own detector finds in a recording."""
    st = dtmf.init(1)
    ev = dtmf.Events(256)
    out = []
    for i in range(0, x.size - 159, 160):
        n = dtmf.rx(st, x[i:i + 160].astype(np.float32).reshape(1, 160), ev)
        for j in range(n):
            if ev.kind[j] == dtmf.START:
                out.append(dtmf.DIGITS[ev.digit[j]])
    return "".join(out)
