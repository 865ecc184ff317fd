"""Rendering: real espeak-ng + sox output in the telephone format and level, the hashed cache,
operator recordings, parallel builds, clear errors. Only three keys are rendered per test."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from confcall.prompts._audio import active_dbfs, read_wav
from confcall.prompts.catalog import PromptError, parse_catalog
from confcall.prompts.render import (
    SPEECH_DBFS,
    build,
    import_recording,
    prompt_path,
    recorded_path,
    remove_recording,
    tts_path,
)

from .conftest import speechlike, write_wav

DURATION = {"goodbye": (0.6, 3.5), "d1": (0.1, 0.9), "n12": (0.2, 1.2)}  # seconds


def _params(path: Path) -> tuple[int, int, int]:
    with wave.open(str(path), "rb") as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth()


def _peak_dbfs(a: np.ndarray) -> float:
    return 20 * np.log10(np.abs(a.astype(float)).max() / 32767)


def _check_speech(a: np.ndarray, lo: float, hi: float) -> None:
    assert a.dtype == np.int16
    assert lo <= len(a) / 8000 <= hi
    assert abs(active_dbfs(a) - SPEECH_DBFS) < 0.3
    assert _peak_dbfs(a) <= -0.9
    assert abs(a.mean()) < 100  # no DC
    # trimmed: sound within the first and last 25 ms (not a silent lead-in or tail)
    for edge in (a[:200], a[-200:]):
        assert np.abs(edge.astype(float)).max() > 32767 * 10 ** (-55 / 20)
    # band-limited: nothing of note above 3.5 kHz (anti-alias filter before resampling)
    spec = np.abs(np.fft.rfft(a.astype(float) * np.hanning(len(a)))) ** 2
    f = np.fft.rfftfreq(len(a), 1 / 8000)
    assert spec[f > 3550].sum() / spec.sum() < 1e-4


def test_render_makes_8k_mono_int16_at_speech_level(small_catalog, prompt_dir):
    report = build(catalog=small_catalog)
    assert report.rendered == sorted((lang, k) for lang in ("zh", "en")
                                     for k in ("goodbye", "d1", "n12"))
    assert report.cached == 0
    for lang in ("zh", "en"):
        manifest = json.loads((prompt_dir / lang / "manifest.json").read_text())
        assert set(manifest["keys"]) == {"goodbye", "d1", "n12"}
        for key, (lo, hi) in DURATION.items():
            p = tts_path(lang, key)
            assert p == prompt_dir / lang / f"{key}.wav" and p.is_file()
            assert _params(p) == (8000, 1, 2)
            _check_speech(read_wav(p), lo, hi)
    # Mandarin is really Mandarin: "goodbye" 感谢使用，再见 is longer than the digit 幺
    assert len(read_wav(tts_path("zh", "goodbye"))) > 3 * len(read_wav(tts_path("zh", "d1")))


def test_second_build_renders_nothing(small_catalog):
    build(catalog=small_catalog)
    root = Path(os.environ["CONFCALL_PROMPT_DIR"])
    stamps = {p: p.stat().st_mtime_ns for p in root.rglob("*.wav")}
    again = build(catalog=small_catalog)
    assert again.rendered == [] and again.cached == 6
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_changed_text_re_renders_only_that_key(small_catalog):
    build(catalog=small_catalog)
    texts = {k: dict(v) for k, v in small_catalog.texts.items()}
    texts["goodbye"]["en"] = "Thank you for calling. Goodbye."
    before = read_wav(tts_path("en", "goodbye"))
    report = build(catalog=parse_catalog(texts))
    assert report.rendered == [("en", "goodbye")] and report.cached == 5
    assert len(read_wav(tts_path("en", "goodbye"))) > len(before)


def test_missing_file_or_force_renders_again(small_catalog):
    build(catalog=small_catalog)
    tts_path("zh", "d1").unlink()
    assert build(catalog=small_catalog).rendered == [("zh", "d1")]
    assert len(build(("en",), catalog=small_catalog, force=True).rendered) == 3
    assert build(("zh",), keys=["n12"], catalog=small_catalog, force=True).rendered == [
        ("zh", "n12")]


def test_damaged_manifest_means_render_again(small_catalog, prompt_dir):
    build(("zh",), catalog=small_catalog)
    (prompt_dir / "zh" / "manifest.json").write_text("{not json")
    assert len(build(("zh",), catalog=small_catalog).rendered) == 3


def test_no_temp_files_are_left(small_catalog, prompt_dir):
    build(catalog=small_catalog)
    left = [p.name for p in prompt_dir.rglob(".*") if p.name != ".lock"]
    assert left == []


@pytest.mark.parametrize("rate, channels, width", [(44100, 2, 3), (11025, 1, 1), (16000, 1, 2),
                                                   (8000, 1, 2)])
def test_operator_recording_overrides_tts(small_catalog, tmp_path, rate, channels, width):
    build(("en",), catalog=small_catalog)
    src = write_wav(tmp_path / "rec.wav", speechlike(rate, channels=channels), rate, width)
    dst = import_recording("goodbye", "en", src, catalog=small_catalog)
    assert dst == recorded_path("en", "goodbye")
    assert prompt_path("en", "goodbye") == dst
    assert _params(dst) == (8000, 1, 2)
    a = read_wav(dst)
    assert 1.0 <= len(a) / 8000 <= 1.25  # the 0.3 s silences either side are trimmed
    assert abs(active_dbfs(a) - SPEECH_DBFS) < 0.3 and _peak_dbfs(a) <= -0.9
    # rebuilding does not touch it; removing it brings the TTS back
    build(("en",), catalog=small_catalog, force=True)
    assert np.array_equal(read_wav(prompt_path("en", "goodbye")), a)
    assert remove_recording("goodbye", "en") is True
    assert prompt_path("en", "goodbye") == tts_path("en", "goodbye")
    assert remove_recording("goodbye", "en") is False


def test_import_refuses_bad_input_clearly(small_catalog, tmp_path):
    good = write_wav(tmp_path / "ok.wav", speechlike(8000, channels=1), 8000)
    with pytest.raises(PromptError, match="unknown prompt key 'nope'"):
        import_recording("nope", "zh", good, catalog=small_catalog)
    with pytest.raises(PromptError, match="unknown prompt language 'de'"):
        import_recording("goodbye", "de", good, catalog=small_catalog)
    with pytest.raises(PromptError, match="does not exist"):
        import_recording("goodbye", "zh", tmp_path / "missing.wav", catalog=small_catalog)
    with pytest.raises(PromptError, match="does not exist or is not a file"):
        import_recording("goodbye", "zh", tmp_path, catalog=small_catalog)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF this is not audio at all" * 10)
    with pytest.raises(PromptError, match="sox could not convert .*junk.wav"):
        import_recording("goodbye", "zh", junk, catalog=small_catalog)
    silent = write_wav(tmp_path / "silent.wav", np.zeros(8000), 8000)
    with pytest.raises(PromptError, match="holds no sound"):
        import_recording("goodbye", "zh", silent, catalog=small_catalog)
    assert not recorded_path("zh", "goodbye").exists()


def test_build_refuses_unknown_keys_and_langs(small_catalog):
    with pytest.raises(PromptError, match="unknown prompt key"):
        build(keys=["nope"], catalog=small_catalog)
    with pytest.raises(PromptError, match="unknown prompt language"):
        build(("fr",), catalog=small_catalog)


def test_missing_tools_are_explained(small_catalog, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(PromptError, match="espeak-ng not found"):
        build(catalog=small_catalog)


def test_prompt_dir_from_env_or_argument(tmp_path, prompt_dir):
    assert tts_path("zh", "goodbye") == prompt_dir / "zh" / "goodbye.wav"
    assert tts_path("zh", "goodbye", tmp_path / "x") == tmp_path / "x" / "zh" / "goodbye.wav"


_BUILDER = """
import sys
from confcall.prompts.catalog import load_catalog
from confcall.prompts.render import build
r = build(catalog=load_catalog(sys.argv[1]), directory=sys.argv[2], force=True, jobs=3)
print(len(r.rendered))
"""


def test_two_processes_building_at_once_leave_a_sound_cache(small_catalog, tmp_path):
    toml = tmp_path / "cat.toml"
    toml.write_text("".join(f'{k} = {{ zh = "{v["zh"]}", en = "{v["en"]}" }}\n'
                            for k, v in small_catalog.texts.items()), encoding="utf-8")
    d = tmp_path / "shared"
    procs = [subprocess.Popen([sys.executable, "-c", _BUILDER, str(toml), str(d)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert [o.strip() for o, _ in outs] == [b"6", b"6"]
    for lang in ("zh", "en"):
        manifest = json.loads((d / lang / "manifest.json").read_text())
        assert set(manifest["keys"]) == {"goodbye", "d1", "n12"}
        for key in manifest["keys"]:
            a = read_wav(d / lang / f"{key}.wav")
            assert len(a) > 800
        assert [p.name for p in (d / lang).iterdir() if p.name.startswith(".")] == [".lock"]
    assert build(catalog=small_catalog, directory=d).rendered == []
