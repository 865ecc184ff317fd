"""Prompt tests: every test gets its own prompt directory (never <repo>/var/prompts) and
renders only a handful of keys."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from confcall.prompts.catalog import load_catalog, parse_catalog


@pytest.fixture(autouse=True)
def prompt_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "prompts"
    monkeypatch.setenv("CONFCALL_PROMPT_DIR", str(d))
    return d


@pytest.fixture
def small_catalog():
    """Three keys of the real catalog (a long prompt, a digit, a number word)."""
    full = load_catalog()
    return parse_catalog({k: dict(full.texts[k]) for k in ("goodbye", "d1", "n12")})


def write_wav(path: Path, audio: np.ndarray, rate: int, width: int = 2) -> Path:
    """A test WAV of any rate/channels/width (audio float in -1..1, shape (n,) or (n, ch))."""
    a = np.atleast_2d(audio.T).T
    scale = float(2 ** (8 * width - 1) - 1)
    ints = np.round(a * scale).astype(np.int64)
    if width == 1:
        data = (ints + 128).astype(np.uint8).tobytes()
    else:
        b = ints.astype("<i8").view(np.uint8).reshape(-1, 8)[:, :width]
        data = b.tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(a.shape[1])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)
    return path


def speechlike(rate: int, seconds: float = 1.2, channels: int = 2) -> np.ndarray:
    """Syllable-like bursts of a harmonic tone between silences (0.3 s lead and tail)."""
    t = np.arange(int(seconds * rate)) / rate
    f0 = 140 + 30 * np.sin(2 * np.pi * 1.5 * t)
    ph = 2 * np.pi * np.cumsum(f0) / rate
    x = sum(np.sin(k * ph) / k for k in range(1, 12))
    env = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 2
    x = 0.3 * x * env / np.abs(x).max()
    pad = np.zeros(int(0.3 * rate))
    x = np.concatenate([pad, x, pad])
    return np.stack([x] * channels, axis=1) if channels > 1 else x
