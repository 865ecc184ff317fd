"""Waiting music: length, level, seamless loop, no DTMF pair (spectrum and the real detector),
operator import."""
from __future__ import annotations

import numpy as np
import pytest

from confcall.dsp import dtmf
from confcall.prompts._audio import dbfs, read_wav
from confcall.prompts.catalog import PromptError
from confcall.prompts.music import (
    DTMF_HZ,
    LOOP_SECONDS,
    MUSIC_DBFS,
    build_default_music,
    dtmf_pairs,
    import_music,
    music_audio,
    music_path,
    partial_ok,
    remove_music,
    synthesize,
)

from .conftest import speechlike, write_wav


@pytest.fixture(scope="module")
def piece() -> np.ndarray:
    return synthesize()


def test_length_and_level(piece):
    assert piece.dtype == np.int16 and piece.ndim == 1
    assert len(piece) == LOOP_SECONDS * 8000
    assert abs(dbfs(piece) - MUSIC_DBFS) < 0.3
    assert np.abs(piece.astype(float)).max() < 32767 * 10 ** (-1 / 20)
    # it keeps playing: no second in the loop is near silent
    sec = piece.astype(float).reshape(-1, 8000)
    assert min(dbfs(s) for s in sec) > MUSIC_DBFS - 10


def test_loops_without_a_click(piece):
    x = piece.astype(float)
    jump = abs(x[0] - x[-1])
    steps = np.abs(np.diff(x))
    assert jump <= np.percentile(steps, 99.9)


def test_partials_keep_clear_of_dtmf():
    for f in DTMF_HZ:
        for dev in (-0.035, -0.015, 0.0, 0.015, 0.035):
            assert not partial_ok(f * (1 + dev))
    assert partial_ok(440.0) and partial_ok(1050.0) and not partial_ok(3500.0)


def test_spectrum_holds_no_dtmf_pair(piece):
    assert dtmf_pairs(np.tile(piece, 2)) == 0.0
    # the checker is not blind: a 50 ms key press inside the music is found
    x = np.tile(piece, 2).astype(float)
    key = dtmf.generate("5", level_dbm0=-10.0, on_ms=50, off_ms=0)
    x[8000:8000 + len(key)] += key
    assert 45 <= dtmf_pairs(x) <= 70


def test_dtmf_detector_stays_silent_over_two_loops(piece):
    x = np.tile(piece, 2).astype(np.float32)[None, :]
    st, ev = dtmf.init(1), dtmf.Events()
    n = 0
    for i in range(0, x.shape[1], 160):
        n += dtmf.rx(st, np.ascontiguousarray(x[:, i:i + 160]), ev)
    assert n == 0
    # and hears a key pressed over it
    y = x.copy()
    key = dtmf.generate("5", level_dbm0=-10.0, on_ms=60, off_ms=0).astype(np.float32)
    y[0, 8000:8000 + len(key)] += key
    st = dtmf.init(1)
    digits = []
    for i in range(0, y.shape[1], 160):
        k = dtmf.rx(st, np.ascontiguousarray(y[:, i:i + 160]), ev)
        digits += [dtmf.DIGITS[ev.digit[j]] for j in range(k) if ev.kind[j] == dtmf.START]
    assert digits == ["5"]


def test_default_music_is_built_once(prompt_dir):
    p = build_default_music()
    assert p == prompt_dir / "music" / "default.wav"
    stamp = p.stat().st_mtime_ns
    assert build_default_music() == p and p.stat().st_mtime_ns == stamp
    a = music_audio()
    assert a.dtype == np.int16 and len(a) == LOOP_SECONDS * 8000


def test_operator_music_replaces_the_default(tmp_path, prompt_dir):
    src = write_wav(tmp_path / "song.wav", np.tile(speechlike(44100), (3, 1)), 44100, 2)
    dst = import_music(src)
    assert dst == prompt_dir / "music" / "operator.wav" == music_path()
    a = music_audio()
    assert np.array_equal(a, read_wav(dst))
    assert abs(dbfs(a) - MUSIC_DBFS) < 0.3  # music: whole-file RMS
    assert remove_music() is True
    assert music_path() == prompt_dir / "music" / "default.wav"
    assert len(music_audio()) == LOOP_SECONDS * 8000


def test_music_import_errors(tmp_path):
    with pytest.raises(PromptError, match="does not exist"):
        import_music(tmp_path / "none.wav")
    short = write_wav(tmp_path / "short.wav", speechlike(8000, seconds=0.3, channels=1), 8000)
    with pytest.raises(PromptError, match="shorter than one second"):
        import_music(short)
    assert remove_music() is False
    with pytest.raises(ValueError, match="music length"):
        synthesize(1.0)
