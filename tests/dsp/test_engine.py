"""The media engine: one call per tick over all channels, commands at tick boundaries, events
through an injected ``deliver``, its own thread driven by an injected tick source."""
from __future__ import annotations

import queue
import threading

import numpy as np
import pytest
from numba.core.runtime import _nrt_python, rtsys

from confcall.dsp import BLOCK, DigitEvent, MediaEngine, PromptDone, dtmf, g711, keysuppress

L = keysuppress.LOOKAHEAD


def _codes(x: np.ndarray, law: int) -> np.ndarray:
    xi = np.clip(np.round(x), -32768, 32767).astype(np.int16)
    return g711.ulaw_encode(xi) if law == g711.LAW_MULAW else g711.alaw_encode(xi)


def _decode(c: np.ndarray, law: int) -> np.ndarray:
    return (g711.ulaw_decode(c) if law == g711.LAW_MULAW else g711.alaw_decode(c)).astype(float)


def _level(x: np.ndarray, f: float) -> float:
    t = np.arange(x.size) / 8000
    return 2 * abs(np.sum(x * np.exp(-2j * np.pi * f * t))) / x.size


def _run(eng: MediaEngine, rx: np.ndarray) -> np.ndarray:
    n = rx.shape[1] // BLOCK
    out = np.zeros_like(rx)
    tx = np.zeros((eng.nchan, BLOCK), np.uint8)
    for k in range(n):
        eng.process_tick(np.ascontiguousarray(rx[:, k * BLOCK : (k + 1) * BLOCK]), tx)
        out[:, k * BLOCK : (k + 1) * BLOCK] = tx
    return out


# 1. N-1 over channels of both laws (T1 μ-law and E1 A-law in one array)
def test_01_n_minus_1_mixed_laws():
    laws = np.array([1, 2, 1, 2], np.int8)
    eng = MediaEngine(4, laws, echo_cancel=False)
    freqs = [400.0, 700.0, 1100.0, 1900.0]
    for c in range(3):
        eng.join(c, 2)  # channel 3 stays out
    n = 50 * BLOCK
    t = np.arange(n) / 8000
    rx = np.stack([_codes(6000 * np.sin(2 * np.pi * f * t), int(law))
                   for f, law in zip(freqs, laws, strict=True)])
    out = _run(eng, rx)
    for c in range(4):
        heard = _decode(out[c, 20 * BLOCK :], int(laws[c]))
        for j, f in enumerate(freqs):
            lvl = _level(heard, f)
            if c < 3 and j < 3 and j != c:
                assert 5000 < lvl < 7000, (c, j, lvl)
            else:
                assert lvl < 60, (c, j, lvl)


# 2. digits reach call control through deliver(), with channel, tick and sample time
def test_02_digit_events_via_deliver():
    calls: list = []
    got: list = []
    eng = MediaEngine(3, g711.LAW_ALAW, deliver=lambda fn, *a: calls.append((fn, a)),
                      on_event=got.append)
    sig = np.concatenate([np.zeros(800), dtmf.generate("7*", -12, 80, 80)])
    rx = np.full((3, 30 * BLOCK), g711.IDLE_ALAW, np.uint8)
    rx[1, : sig.size] = _codes(sig, g711.LAW_ALAW)
    _run(eng, rx)
    for fn, args in calls:
        fn(*args)
    digits = [e for e in got if isinstance(e, DigitEvent)]
    assert [(e.chan, e.digit, e.start) for e in digits] == [
        (1, "7", True), (1, "7", False), (1, "*", True), (1, "*", False)]
    assert abs(digits[0].sample - 800) <= 60
    assert abs(digits[2].sample - (800 + 1280)) <= 60
    for e in digits:
        assert e.tick * BLOCK <= e.sample + 3 * BLOCK + 400 and e.sample < (e.tick + 1) * BLOCK


# 3. commands from another thread take effect at the next tick boundary, not before
def test_03_commands_from_another_thread():
    eng = MediaEngine(2, g711.LAW_MULAW)
    t = threading.Thread(target=lambda: (eng.join(0, 1), eng.join(1, 1)))
    t.start()
    t.join()
    assert eng.mix.conf.tolist() == [-1, -1]  # queued, not applied
    rx = np.full((2, BLOCK), g711.IDLE_MULAW, np.uint8)
    eng.process_tick(rx, np.zeros_like(rx))
    assert eng.mix.conf.tolist() == [1, 1]
    with pytest.raises(ValueError):
        eng.join(5, 1)
    with pytest.raises(ValueError):
        eng.play(0, 99)


# 4. its own thread, driven by an injected tick source (no sleeping: the source blocks)
def test_04_own_thread_tick_source():
    eng = MediaEngine(2, g711.LAW_ALAW)
    eng.join(0, 0)
    eng.join(1, 0)
    ticks: queue.Queue = queue.Queue()
    written: list = []
    tone = _codes(8000 * np.sin(2 * np.pi * 1000 * np.arange(BLOCK) / 8000), 2)
    for _ in range(30):
        blk = np.full((2, BLOCK), g711.IDLE_ALAW, np.uint8)
        blk[0] = tone
        ticks.put(blk)
    ticks.put(None)

    def read(rx):
        blk = ticks.get()
        if blk is None:
            return False
        rx[:] = blk
        return True

    eng.start(read, lambda tx: written.append(tx.copy()))
    eng.wait()  # the thread ends when the source runs dry
    assert len(written) == 30 and eng.tick == 30
    heard = _decode(np.concatenate([w[1] for w in written])[5 * BLOCK :], 2)
    assert _level(heard, 1000.0) > 7000


# 5. a prompt plays to its channel only; its end is an event
def test_05_prompt_to_one_channel():
    got: list = []
    eng = MediaEngine(3, g711.LAW_MULAW, on_event=got.append)
    beep = (5000 * np.sin(2 * np.pi * 600 * np.arange(1200) / 8000)).astype(np.int16)
    pid = eng.register_sound(beep)
    for c in range(3):
        eng.join(c, 0)
    eng.play(1, pid)
    rx = np.full((3, 20 * BLOCK), g711.IDLE_MULAW, np.uint8)
    out = _run(eng, rx)
    heard = [_decode(out[c], 1) for c in range(3)]
    assert _level(heard[1][:1200], 600.0) > 4500
    assert np.max(np.abs(heard[0])) == 0 and np.max(np.abs(heard[2])) == 0
    assert [e for e in got if isinstance(e, PromptDone)] == [PromptDone(1, pid, 7)]


# 6. background music at its level, waiting music not to the initiator, mute and deaf
def test_06_music_mute_deaf():
    eng = MediaEngine(4, g711.LAW_MULAW, echo_cancel=False)
    music = (8000 * np.sin(2 * np.pi * 500 * np.arange(4000) / 8000)).astype(np.int16)
    mid = eng.register_sound(music)
    for c in range(4):
        eng.join(c, 3)
    eng.background_music(3, mid, level_db=-20.0)
    eng.hear_music(0, False)
    eng.mute(2)
    eng.deaf(3)
    n = 40 * BLOCK
    t = np.arange(n) / 8000
    rx = np.full((4, n), g711.IDLE_MULAW, np.uint8)
    rx[2] = _codes(6000 * np.sin(2 * np.pi * 1300 * t), 1)  # muted talker
    out = _run(eng, rx)
    h = [_decode(out[c, 10 * BLOCK :], 1) for c in range(4)]
    assert _level(h[0], 500.0) < 30 and abs(_level(h[1], 500.0) - 800) < 40
    assert all(_level(x, 1300.0) < 30 for x in h)
    assert abs(_level(h[3], 500.0) - 800) < 40 and _level(h[3], 1300.0) < 30


# 7. the tick path allocates no buffers: numba's runtime only wraps the array arguments of the
#    kernel calls (a constant number of meminfos, whatever the channel count), all freed
def _allocs_per_tick(nchan: int) -> tuple:
    eng = MediaEngine(nchan, g711.LAW_ALAW)
    for c in range(nchan):
        eng.join(c, c // 4)
    rx = np.random.default_rng(1).integers(0, 256, (nchan, BLOCK)).astype(np.uint8)
    tx = np.zeros_like(rx)
    eng.process_tick(rx, tx)
    _nrt_python.memsys_enable_stats()
    before = rtsys.get_allocation_stats()
    for _ in range(20):
        eng.process_tick(rx, tx)
    after = rtsys.get_allocation_stats()
    return (after.alloc - before.alloc) / 20, after.alloc - after.free


def test_07_no_allocation_per_tick():
    small, _ = _allocs_per_tick(8)
    big, leaked = _allocs_per_tick(240)
    assert small == big < 100  # argument wrappers only, independent of nchan
    assert leaked == 0


# 8. wrong shapes and laws are refused with a real error
def test_08_input_validation():
    with pytest.raises(ValueError):
        MediaEngine(2, [1, 3])
    eng = MediaEngine(2, 1)
    with pytest.raises(ValueError):
        eng.process_tick(np.zeros((2, 80), np.uint8), np.zeros((2, 80), np.uint8))


# 9. through the engine: a trunk member's hybrid echoes what it hears; with its canceller the
#    talker does not hear itself back (the reference is the previous tick's output)
def test_09_echo_of_a_trunk_member_cancelled():
    from scipy.signal import lfilter

    from . import corpus
    from .line_model import echo_path, noise, rms_dbm0

    if not corpus.available():
        pytest.fail("espeak-ng and sox are needed (installed by scripts/setup.sh)")
    speech = next(a for k, a in sorted(corpus.load().items()) if k.startswith("speech"))
    n = 10 * 8000
    h = echo_path(6.0, 30.0, seed=9)
    results = {}
    for ec in (False, True):
        eng = MediaEngine(2, g711.LAW_ALAW, echo_cancel=ec)
        eng.join(0, 0)  # A: talks, no echo of its own (digital subscriber)
        eng.join(1, 0)  # B: silent trunk subscriber behind a hybrid
        zi = np.zeros(h.size - 1)
        line_noise = noise(n, -65.0)
        rx = np.full((2, BLOCK), g711.IDLE_ALAW, np.uint8)
        tx = np.zeros_like(rx)
        heard_by_a = np.zeros(n)
        to_b = np.zeros(BLOCK)
        for k in range(n // BLOCK):
            s = slice(k * BLOCK, (k + 1) * BLOCK)
            rx[0] = _codes(speech[s], 2)
            back, zi = lfilter(h, [1.0], to_b, zi=zi)
            rx[1] = _codes(back + line_noise[s], 2)
            eng.process_tick(rx, tx)
            heard_by_a[s] = _decode(tx[0], 2)
            to_b = _decode(tx[1], 2)
        results[ec] = rms_dbm0(heard_by_a[4 * 8000 :])
    talk = rms_dbm0(speech[4 * 8000 : n])
    assert results[False] > talk - 12.0  # the echo is there without the canceller
    assert results[True] < talk - 45.0  # and gone with it (ERL 6 dB + ERLE and NLP)


# 10. a trunk member (hybrid echo, canceller and NLP on) keys quiet digits while another member
#     talks loudly: every digit is detected, and the talker never hears the tones
def test_10_quiet_keys_under_loud_far_speech():
    from scipy.signal import lfilter

    from .line_model import css, echo_path, noise

    got: list = []
    eng = MediaEngine(2, g711.LAW_ALAW, on_event=got.append)
    eng.join(0, 0)  # A talks loudly
    eng.join(1, 0)  # B: trunk behind a hybrid, presses keys
    n = 12 * 8000
    talk = css(12.0, -8.0)
    keys = np.zeros(n)
    digits = "159#"
    at = [3 * 8000, 5 * 8000, 7 * 8000, 9 * 8000]
    for d, a in zip(digits, at, strict=True):
        i = dtmf.DIGITS.index(d)
        keys[a : a + 640] = dtmf.tones(dtmf.ROW_HZ[i // 4], dtmf.COL_HZ[i % 4], 640, -26.0)
    h = echo_path(6.0, 20.0, seed=5)
    zi = np.zeros(h.size - 1)
    line_noise = noise(n, -65.0)
    rx = np.zeros((2, BLOCK), np.uint8)
    tx = np.zeros_like(rx)
    heard_by_a = np.zeros(n)
    to_b = np.zeros(BLOCK)
    for k in range(n // BLOCK):
        s = slice(k * BLOCK, (k + 1) * BLOCK)
        rx[0] = _codes(talk[s], 2)
        back, zi = lfilter(h, [1.0], to_b, zi=zi)
        rx[1] = _codes(back + keys[s] + line_noise[s], 2)
        eng.process_tick(rx, tx)
        heard_by_a[s] = _decode(tx[0], 2)
        to_b = _decode(tx[1], 2)
    starts = [e for e in got if isinstance(e, DigitEvent) and e.start]
    assert "".join(e.digit for e in starts) == digits and {e.chan for e in starts} == {1}
    for d, a in zip(digits, at, strict=True):
        i = dtmf.DIGITS.index(d)
        seg = heard_by_a[a + L : a + L + 640]
        for f in (dtmf.ROW_HZ[i // 4], dtmf.COL_HZ[i % 4]):
            assert _level(seg, f) < dtmf.dbm0_amplitude(-60.0)


# 11. with no channel's canceller on, the tick skips the echo stage altogether; turning one on
#     brings it back at the next tick boundary
def test_11_echo_stage_skipped_while_no_canceller_is_on(monkeypatch):
    from confcall.dsp import echo

    calls = []
    real = echo.process
    monkeypatch.setattr(echo, "process", lambda *a, **k: calls.append(1) or real(*a, **k))
    eng = MediaEngine(2, g711.LAW_ALAW, echo_cancel=False)
    eng.join(0, 0)
    eng.join(1, 0)
    t = np.arange(4 * BLOCK)
    rx = np.stack([_codes(8000 * np.sin(2 * np.pi * f * t / 8000), 2) for f in (300, 620)])
    out = _run(eng, rx)
    assert not calls
    assert _level(_decode(out[1, BLOCK:], 2), 300) > 4000  # the mix got the line audio
    eng.echo_canceller(1, True)
    _run(eng, rx)
    assert len(calls) == 4


def _levelled_conference(lines: list, level: bool) -> np.ndarray:
    """One conference of len(lines) members through the engine (A-law); returns what member 0
    hears (linear)."""
    n = min(x.size for x in lines) // BLOCK * BLOCK
    eng = MediaEngine(len(lines), g711.LAW_ALAW, echo_cancel=False)
    for c in range(len(lines)):
        eng.join(c, 0)
        eng.level_control(c, level)
    rx = np.stack([_codes(x[:n], 2) for x in lines])
    return _decode(_run(eng, rx)[0], 2)


# 12. conference levelling: with the noise gate the line noise heard in an 8-member conference
#     is no higher than in a 3-member one (without it: +5.4 dB); a member 12 dB quieter than
#     the others is heard within 3 dB of them once the automatic gain has settled
def test_12_conference_levelling_noise_floor_and_quiet_member():
    from . import corpus
    from .line_model import noise, rms_dbm0

    n = 8 * 8000
    floors = {}
    for level in (False, True):
        for size in (3, 8):
            lines = [noise(n, -50.0 + (c % 3), seed=c) for c in range(size)]
            heard = _levelled_conference(lines, level)
            floors[level, size] = rms_dbm0(heard[4 * 8000 :])
    assert floors[False, 8] > floors[False, 3] + 3.0  # N-1 noise adds up
    assert floors[True, 8] <= floors[True, 3] + 0.2, floors

    if not corpus.available():
        pytest.fail("espeak-ng and sox are needed (installed by scripts/setup.sh)")
    speech = [a for k, a in sorted(corpus.load().items()) if k.startswith("speech")]
    turn, rounds, talkers = 3 * 8000, 4, 3  # members 1-3 talk in turn, member 0 listens
    n = turn * talkers * rounds
    lines = [noise(n, -60.0, seed=9)]
    for m in range(talkers):
        x = noise(n, -60.0, seed=10 + m)
        gain = 10 ** ((-16.0 + 12.0 - (12.0 if m == 2 else 0.0)) / 20)  # corpus: -12 dBm0
        for r in range(rounds):
            a = (r * talkers + m) * turn
            x[a : a + turn] += speech[m][r * turn : (r + 1) * turn] * gain
        lines.append(x)
    for level, within in ((False, None), (True, 3.0)):
        heard = _levelled_conference(lines, level)
        last = [(rounds - 1) * talkers * turn + m * turn for m in range(talkers)]
        lv = [rms_dbm0(heard[a : a + turn]) for a in last]
        gap = max(lv[0], lv[1]) - lv[2]
        if within is None:
            assert gap > 9.0, lv  # as they come: the quiet member 12 dB down
        else:
            assert gap <= within, lv


# 13. level control from the engine's constructor (the [media] level_control key) is on for
#     every channel, and a new call on a channel keeps it
def test_13_level_control_default_survives_a_new_call():
    eng = MediaEngine(3, g711.LAW_ALAW, echo_cancel=False, level_control=True)
    assert eng.mix.level_on.tolist() == [1, 1, 1]
    eng.level_control(1, False)
    eng.reset_channel(2)
    _run(eng, np.full((3, BLOCK), g711.IDLE_ALAW, np.uint8))
    assert eng.mix.level_on.tolist() == [1, 0, 1]
