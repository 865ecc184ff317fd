"""G.711 exhaustive sweeps (as spandsp's g711 tests): every 16-bit input, every code, both laws.

Oracle: Python 3.11's ``audioop`` (independent C implementation). For μ-law *encode* audioop
rounds negative inputs differently from ITU-T G.191 (which we follow); for ``x <= -5``
``audioop.lin2ulaw(x + 4)`` is exactly the G.191 result, and -4..-1 map to code 0x7F.
"""
from __future__ import annotations

import warnings

import numpy as np

from confcall.dsp import g711

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

ALL = np.arange(-32768, 32768, dtype=np.int16)
CODES = np.arange(256, dtype=np.uint8)


def _oracle(fn, x: np.ndarray, width: int = 2) -> np.ndarray:
    return np.frombuffer(fn(x.astype(np.int16).tobytes(), width), np.uint8)


# 1. A-law encode: all 65,536 inputs
def test_01_alaw_encode_all_inputs():
    assert np.array_equal(g711.alaw_encode(ALL), _oracle(audioop.lin2alaw, ALL))


# 2. A-law decode: all 256 codes
def test_02_alaw_decode_all_codes():
    ref = np.frombuffer(audioop.alaw2lin(CODES.tobytes(), 2), np.int16)
    assert np.array_equal(g711.alaw_decode(CODES), ref)


# 3. μ-law decode: all 256 codes
def test_03_ulaw_decode_all_codes():
    ref = np.frombuffer(audioop.ulaw2lin(CODES.tobytes(), 2), np.int16)
    assert np.array_equal(g711.ulaw_decode(CODES), ref)


# 4. μ-law encode, G.191 convention: all 65,536 inputs
def test_04_ulaw_encode_all_inputs_g191():
    got = g711.ulaw_encode(ALL)
    pos = ALL >= 0
    assert np.array_equal(got[pos], _oracle(audioop.lin2ulaw, ALL[pos]))
    neg = ALL <= -5
    shifted = (ALL[neg].astype(np.int32) + 4).astype(np.int16)
    assert np.array_equal(got[neg], _oracle(audioop.lin2ulaw, shifted))
    assert list(got[(ALL < 0) & (ALL > -5)]) == [0x7F] * 4
    # and the convention differs from audioop only on a few hundred negative inputs
    diff = got != _oracle(audioop.lin2ulaw, ALL)
    assert 0 < diff.sum() < 1000 and np.all(ALL[diff] < 0)


# 5. round trip code → linear → code is the identity (except μ-law's two zeros)
def test_05_round_trip_codes():
    assert np.array_equal(g711.alaw_encode(g711.alaw_decode(CODES)), CODES)
    back = g711.ulaw_encode(g711.ulaw_decode(CODES))
    assert np.array_equal(back[CODES != 0x7F], CODES[CODES != 0x7F])


# 6. the per-channel kernels: mixed laws, float input rounding and saturation
def test_06_kernels_mixed_laws():
    rng = np.random.default_rng(711)
    law = np.array([1, 2, 2, 1], np.int8)
    codes = rng.integers(0, 256, (4, 160)).astype(np.uint8)
    lin = np.zeros((4, 160), np.float32)
    g711.decode(codes, law, lin)
    for c in range(4):
        dec = g711.ulaw_decode if law[c] == 1 else g711.alaw_decode
        assert np.array_equal(lin[c], dec(codes[c]).astype(np.float32))
    out = np.zeros((4, 160), np.uint8)
    g711.encode(lin, law, out)
    x = ALL[::410][:160].astype(np.float32)
    src = np.stack([x, x, x * 4.0, x + 0.4])
    g711.encode(src, law, out)
    ref = np.clip(np.floor(src.astype(np.float64) + 0.5), -32768, 32767).astype(np.int16)
    for c in range(4):
        enc = g711.ulaw_encode if law[c] == 1 else g711.alaw_encode
        assert np.array_equal(out[c], enc(ref[c]))


# 7. idle codes decode to zero
def test_07_idle_codes():
    assert g711.alaw_decode(np.array([g711.IDLE_ALAW]))[0] == 8  # A-law has no zero: ±8
    assert g711.ulaw_decode(np.array([g711.IDLE_MULAW]))[0] == 0


# 8. the engine's arithmetic encoder equals the G.191 tables for every 16-bit input, for
# half-way values either side (rounding half up) and beyond the 16-bit range (saturation)
def test_08_kernel_encoder_every_input():
    allv = np.arange(-32768, 32768).astype(np.float32)
    xs = np.concatenate([allv, allv + 0.5, allv - 0.5, allv + 0.49, allv - 0.49,
                         np.array([40000, -40000, 1e9, -1e9, 32767.5, -32768.5, -32768.6],
                                  np.float32)]).astype(np.float32)
    xs = np.concatenate([xs, np.zeros((-xs.size) % 160, np.float32)])
    ref = np.clip(np.floor(xs.astype(np.float64) + 0.5), -32768, 32767).astype(np.int16)
    lin = xs.reshape(-1, 160)
    for law, enc in ((g711.LAW_MULAW, g711.ulaw_encode), (g711.LAW_ALAW, g711.alaw_encode)):
        out = np.zeros(lin.shape, np.uint8)
        g711.encode(lin, np.full(lin.shape[0], law, np.int8), out)
        assert np.array_equal(out.ravel(), enc(ref))
