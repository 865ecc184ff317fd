"""DTMF detector, numbered like the Q.24 / Mitel test set. Every signal passes through A-law."""
from __future__ import annotations

import numpy as np
import pytest

from confcall.dsp import dtmf

from .dsp_helpers import detect, digits_of

FS = dtmf.FS
RNG = np.random.default_rng(24)


def _pair(digit: str, n: int, level=-10.0, twist=0.0, dev=(0.0, 0.0), phase=None):
    i = dtmf.DIGITS.index(digit)
    ph = tuple(RNG.uniform(0, 2 * np.pi, 2)) if phase is None else phase
    return dtmf.tones(dtmf.ROW_HZ[i // 4] * (1 + dev[0]), dtmf.COL_HZ[i % 4] * (1 + dev[1]),
                      n, level, level - twist, ph)


def _burst(digit: str, on_ms: float, lead: int | None = None, **kw) -> np.ndarray:
    lead = int(RNG.integers(0, 400)) if lead is None else lead
    return np.concatenate([np.zeros(lead), _pair(digit, int(on_ms * 8), **kw), np.zeros(400)])


# 1. all 16 digits, 40 ms on / 40 ms off, in chunks of 160 and of 8 samples
@pytest.mark.parametrize("chunk", [160, 8])
def test_01_all_digits_40_40(chunk):
    sigs = [np.concatenate([np.zeros(k * 37), dtmf.generate(dtmf.DIGITS, -10, 40, 40)])
            for k in range(6)]
    for ev in detect(sigs, chunk=chunk):
        assert digits_of(ev) == dtmf.DIGITS
        assert [k for k, _, _ in ev] == [dtmf.START, dtmf.END] * 16


# 2. frequency deviation: accept ±1.5 %, reject ±3.5 % (each tone and both)
@pytest.mark.parametrize("dev", [0.015, -0.015])
def test_02a_accept_1_5_percent(dev):
    sigs, want = [], []
    for d in dtmf.DIGITS:
        for dv in [(dev, 0.0), (0.0, dev), (dev, dev), (dev, -dev)]:
            sigs.append(_burst(d, 60, dev=dv, level=-15))
            want.append(d)
    assert [digits_of(e) for e in detect(sigs)] == want


@pytest.mark.parametrize("dev", [0.035, -0.035])
def test_02b_reject_3_5_percent(dev):
    sigs = []
    for d in dtmf.DIGITS:
        for dv in [(dev, 0.0), (0.0, dev), (dev, dev)]:
            sigs.append(_burst(d, 80, dev=dv, level=-15))
    assert [digits_of(e) for e in detect(sigs)] == [""] * len(sigs)


# 3. twist: 8 dB normal (column weaker), 4 dB reverse (column stronger)
@pytest.mark.parametrize("twist", [8.0, -4.0])
def test_03_twist(twist):
    sigs = [_burst(d, 60, level=-12, twist=twist) for d in dtmf.DIGITS]
    assert [digits_of(e) for e in detect(sigs)] == list(dtmf.DIGITS)


# 4. dynamic range: detect down to -36 dBm0 per tone; nothing at -55 dBm0
def test_04_sensitivity():
    sigs = [_burst(d, 50, level=-36) for d in dtmf.DIGITS]
    assert [digits_of(e) for e in detect(sigs)] == list(dtmf.DIGITS)
    sigs = [_burst(d, 50, level=-55) for d in dtmf.DIGITS]
    assert [digits_of(e) for e in detect(sigs)] == [""] * 16


# 5. duration: ≥ 40 ms always detected, ≤ 20 ms never, at random phases and offsets
def test_05a_40ms_always():
    sigs = [_burst(dtmf.DIGITS[i % 16], 40) for i in range(160)]
    assert [digits_of(e) for e in detect(sigs)] == [dtmf.DIGITS[i % 16] for i in range(160)]


def test_05b_20ms_never():
    sigs = [_burst(dtmf.DIGITS[i % 16], 20) for i in range(160)]
    sigs += [_burst(dtmf.DIGITS[i % 16], 20, level=-30) for i in range(32)]
    assert [digits_of(e) for e in detect(sigs)] == [""] * len(sigs)


# 6. two digits across a 40 ms pause (same digit twice, and different digits)
def test_06_interdigit_pause_40ms():
    sigs = []
    for d in dtmf.DIGITS:
        a = _pair(d, 400)
        b = _pair(d, 400)
        sigs.append(np.concatenate([np.zeros(int(RNG.integers(0, 200))), a, np.zeros(320), b]))
    assert [digits_of(e) for e in detect(sigs)] == [d + d for d in dtmf.DIGITS]


# 7. a dropout of ≤ 10 ms inside a tone stays one digit
def test_07_dropout_10ms():
    sigs = []
    for i in range(64):
        d = dtmf.DIGITS[i % 16]
        s = _pair(d, 800, phase=(0.0, 0.0))
        gap = 80 if i % 2 == 0 else int(RNG.integers(8, 80))
        at = int(RNG.integers(200, 500))
        s[at : at + gap] = 0.0
        sigs.append(np.concatenate([np.zeros(int(RNG.integers(0, 200))), s]))
    assert [digits_of(e) for e in detect(sigs)] == [dtmf.DIGITS[i % 16] for i in range(64)]


def _jump(digit: str, n_before: int, gap: int, n_after: int, jump) -> np.ndarray:
    """A key press whose tones break for ``gap`` samples after ``n_before`` and come back with
    their phases moved by ``jump`` (radians, per tone) from where they would have been."""
    i = dtmf.DIGITS.index(digit)
    fr, fc = dtmf.ROW_HZ[i // 4], dtmf.COL_HZ[i % 4]
    ph = tuple(RNG.uniform(0, 2 * np.pi, 2))
    a = dtmf.tones(fr, fc, n_before + gap + n_after, -10.0, -10.0, ph)
    b = dtmf.tones(fr, fc, n_before + gap + n_after, -10.0, -10.0,
                   (ph[0] + jump[0], ph[1] + jump[1]))
    s = np.concatenate([a[:n_before], np.zeros(gap), b[n_before + gap :]])
    return np.concatenate([np.zeros(int(RNG.integers(0, 200))), s, np.zeros(400)])


# 7b. a phase jump inside a key press stays one digit, whatever the phase after the break:
#     a 180° reversal of both tones with no gap, at every offset inside the detector's
#     half-blocks (the worst case splits at half-block edges), and random phases after breaks
#     of 0-6 ms and of 10 ms
def test_07b_phase_jumps_bridged():
    sigs, want = [], []
    for i in range(64):
        d = dtmf.DIGITS[i % 16]
        sigs.append(_jump(d, 300 + i, 0, 500, (np.pi, np.pi)))  # reversal: no gap
        want.append(d)
    for i in range(96):
        d = dtmf.DIGITS[i % 16]
        gap = int(RNG.integers(0, 49)) if i < 80 else 80  # 0-6 ms, and 10 ms
        sigs.append(_jump(d, int(RNG.integers(200, 500)), gap, 500,
                          tuple(RNG.uniform(0, 2 * np.pi, 2))))
        want.append(d)
    got = [digits_of(e) for e in detect(sigs)]
    bad = [(k, g) for k, (g, w) in enumerate(zip(got, want, strict=True)) if g != w]
    assert not bad, f"{len(bad)} of {len(sigs)} presses wrong: {bad[:8]}"


# 8. noise: ≥ 99 % detection at 12 dB SNR (each tone vs white noise), no false digits
def test_08_snr_12db():
    n_digits = 20
    sigs, want = [], []
    noise_rms = dtmf.dbm0_amplitude(-10 - 12) / np.sqrt(2)
    for _ch in range(24):
        ds = "".join(RNG.choice(list(dtmf.DIGITS), n_digits))
        s = dtmf.generate(ds, -10, 50, 50, lead_ms=float(RNG.uniform(0, 30)))
        sigs.append(s + RNG.normal(0, noise_rms, s.size))
        want.append(ds)
    got = [digits_of(e) for e in detect(sigs)]
    hits = sum(sum(a == b for a, b in zip(g, w, strict=True))
               for g, w in zip(got, want, strict=True) if len(g) == len(w))
    assert all(len(g) <= len(w) for g, w in zip(got, want, strict=True))
    assert hits >= 0.99 * n_digits * len(want)


# 9. events: start before end, times in samples near the tone edges
def test_09_event_times():
    s = np.concatenate([np.zeros(1000), _pair("5", 800), np.zeros(800)])
    (ev,) = detect([s])
    assert [(k, d) for k, d, _ in ev] == [(dtmf.START, "5"), (dtmf.END, "5")]
    assert abs(ev[0][2] - 1000) <= 60
    assert abs(ev[1][2] - 1800) <= 160


# 10. generator: level and duration as asked
def test_10_generator_level_duration():
    s = dtmf.generate("1", -10.0, 50.0, 0.0)
    assert s.size == 400
    for f in (697.0, 1209.0):
        t = np.arange(s.size) / FS
        amp = 2 * abs(np.sum(s * np.exp(-2j * np.pi * f * t))) / s.size
        assert abs(20 * np.log10(amp / dtmf.DBM0_PEAK) - (-10.0)) < 0.2


# 11. talk-off: ≤ 2 false digits per hour over ≥ 30 minutes of Mandarin and English speech
#     (espeak-ng, 12 voices incl. high-pitched female ones) and synthetic music (sox)
@pytest.mark.slow
def test_11_talk_off():
    from . import corpus

    if not corpus.available():
        pytest.fail("espeak-ng and sox are needed (installed by scripts/setup.sh)")
    audio = corpus.load()
    minutes = sum(a.size for a in audio.values()) / FS / 60
    assert minutes >= 30
    assert any(k.startswith("music") for k in audio)
    assert {k.split("_")[2][:3] for k in audio if k.startswith("speech")} >= {"cmn", "en-"}
    events = detect(list(audio.values()))
    false = sum(len(digits_of(e)) for e in events)
    assert false <= 2 * minutes / 60, f"{false} false digits in {minutes:.0f} min"


# 11b. talk-off on the wide corpus (tests/dsp/corpus.py load_wide: ≥ 2 h of 72 espeak-ng voice
#      variants in 19 languages at pitches 0-99, chant-like singing, sustained chords,
#      arpeggios and sweeps): at most 1 false digit per hour
@pytest.mark.slow
def test_11b_talk_off_wide_corpus():
    from . import corpus

    if not corpus.available():
        pytest.fail("espeak-ng and sox are needed (installed by scripts/setup.sh)")
    audio = corpus.load_wide()
    minutes = sum(a.size for a in audio.values()) / FS / 60
    assert minutes >= 120
    names = sorted(audio)
    false = {}
    for i in range(0, len(names), 12):  # in batches: one array of 2 h would take 300 MB
        batch = names[i : i + 12]
        for name, ev in zip(batch, detect([audio[k] for k in batch]), strict=True):
            if digits_of(ev):
                false[name] = digits_of(ev)
    n = sum(len(d) for d in false.values())
    assert n <= minutes / 60, f"{n} false digits in {minutes:.0f} min: {false}"
