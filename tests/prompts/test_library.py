"""PromptLibrary / load_all: what the daemon loads and hands to the media engine."""
from __future__ import annotations

import numpy as np
import pytest

from confcall.prompts import PromptLibrary, load_all, say_amount
from confcall.prompts.catalog import PromptError
from confcall.prompts.render import import_recording, tts_path

from .conftest import speechlike, write_wav


def test_audio_is_int16_8k_and_read_only(small_catalog):
    lib = PromptLibrary("zh", catalog=small_catalog)
    assert lib.keys() == ["goodbye", "d1", "n12"]
    report = lib.ensure_rendered()
    assert len(report.rendered) == 3
    a = lib.audio("goodbye")
    assert a.dtype == np.int16 and a.ndim == 1 and 4000 < len(a) < 28000
    assert lib.audio("goodbye") is a  # loaded once
    with pytest.raises(ValueError):
        a[0] = 1
    assert lib.source("goodbye") == "tts" and lib.text("goodbye") == "感谢使用，再见。"
    assert lib.ensure_rendered().rendered == []


def test_unrendered_key_is_rendered_on_first_use(small_catalog):
    lib = PromptLibrary("en", catalog=small_catalog)
    assert lib.source("d1") is None
    assert len(lib.audio("d1")) > 400
    assert lib.source("d1") == "tts" and not tts_path("en", "goodbye").exists()


def test_sequence_plays_keys_back_to_back(small_catalog):
    lib = PromptLibrary("zh", catalog=small_catalog)
    seq = lib.sequence(["n12", "d1"])
    assert np.array_equal(seq, np.concatenate([lib.audio("n12"), lib.audio("d1")]))
    gapped = lib.sequence(["n12", "d1"], gap_ms=100)
    assert len(gapped) == len(seq) + 800
    assert lib.sequence([]).dtype == np.int16


def test_recording_wins_after_reload(small_catalog, tmp_path):
    lib = PromptLibrary("en", catalog=small_catalog)
    tts = lib.audio("goodbye")
    rec = write_wav(tmp_path / "r.wav", speechlike(22050), 22050)
    import_recording("goodbye", "en", rec, catalog=small_catalog)
    assert lib.source("goodbye") == "recorded"
    lib.reload()
    assert not np.array_equal(lib.audio("goodbye"), tts)


def test_errors(small_catalog):
    with pytest.raises(PromptError, match="unknown prompt language"):
        PromptLibrary("jp", catalog=small_catalog)
    lib = PromptLibrary("zh", catalog=small_catalog)
    with pytest.raises(PromptError, match="unknown prompt key 'ivr_menu'"):
        lib.audio("ivr_menu")


def test_foreign_wav_in_the_cache_is_refused(small_catalog, prompt_dir):
    p = prompt_dir / "recorded" / "zh" / "d1.wav"
    p.parent.mkdir(parents=True)
    write_wav(p, speechlike(16000, channels=1), 16000)
    with pytest.raises(PromptError, match="16000 Hz, 1 channel.*expected 8000 Hz mono 16-bit"):
        PromptLibrary("zh", catalog=small_catalog).audio("d1")


def test_load_all_loads_both_languages(small_catalog, prompt_dir):
    libs = load_all(catalog=small_catalog, directory=prompt_dir)
    assert set(libs) == {"zh", "en"}
    for lang, lib in libs.items():
        assert lib.lang == lang and set(lib._audio) == {"goodbye", "d1", "n12"}
    # an amount is played as fragments of the real catalog: every key exists there
    full = PromptLibrary("zh")
    assert all(k in full.catalog for k in say_amount("zh", 1234))
