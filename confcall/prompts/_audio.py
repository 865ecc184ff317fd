"""Audio plumbing shared by the renderer and the music: sox conversion, WAV I/O, levels.

Every sound confcall plays is stored as a WAV file: 8 kHz, mono, 16-bit signed PCM, the
media engine's format. ``sox_to_telephone`` turns anything sox reads into that (band-limited
to 80–3400 Hz before ``rate -v``, sox's very-high-quality polyphase resampler, so nothing
aliases), ``set_level`` brings it to a target RMS with a peak ceiling, ``write_wav`` writes it
atomically (temp file in the same directory, then ``os.replace``), so a reader or a second
writer never sees half a file.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from contextlib import suppress
from pathlib import Path

import numpy as np

from .catalog import PromptError

RATE = 8000  # Hz, the media engine's sample rate
FRAME = 160  # samples: 20 ms frames for the active-level measurement
ACTIVE_RANGE_DB = 30.0  # frames more than this below the loudest frame are pauses, not speech
CEILING_DBFS = -1.0  # peak ceiling after levelling
FULL_SCALE = 32767.0


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise PromptError(f"{tool} not found on PATH: install the Debian package "
                          f"({'espeak-ng' if tool == 'espeak-ng' else 'sox'}), "
                          "e.g. with `bash scripts/setup.sh env`")
    return path


def sox_to_telephone(src: str | Path, dst: Path, *, stdin: bytes | None = None,
                     trim: bool = True) -> None:
    """Convert ``src`` (a file, or ``"-"`` with WAV bytes in ``stdin``) to 8 kHz mono 16-bit.

    Peak-normalised to -6 dBFS (the level is set afterwards by ``set_level``), leading and
    trailing silence (below -50 dBFS, after normalising) trimmed when ``trim``.
    """
    cmd = [require("sox"), "-V1"]
    cmd += ["-t", "wav", "-"] if stdin is not None else [str(src)]
    cmd += ["-t", "wav", "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer", str(dst),
            "gain", "-n", "-6"]
    if trim:
        cmd += ["silence", "1", "0.01", "-50d", "reverse",
                "silence", "1", "0.01", "-50d", "reverse"]
    cmd += ["highpass", "-2", "80", "sinc", "-3400", "rate", "-v", str(RATE)]
    r = subprocess.run(cmd, input=stdin, capture_output=True, check=False)
    if r.returncode != 0:
        msg = r.stderr.decode("utf-8", "replace").strip().splitlines()
        raise PromptError(f"sox could not convert {src if stdin is None else 'TTS output'}: "
                          f"{msg[-1] if msg else f'exit status {r.returncode}'}")


def read_wav(path: str | Path) -> np.ndarray:
    """Read one of our WAVs (8 kHz mono 16-bit) as int16; anything else is a PromptError."""
    try:
        with wave.open(str(path), "rb") as w:
            rate, ch, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
            data = w.readframes(w.getnframes())
    except (OSError, EOFError, wave.Error) as e:
        raise PromptError(f"cannot read {path}: {e}") from e
    if (rate, ch, width) != (RATE, 1, 2):
        raise PromptError(f"{path} is {rate} Hz, {ch} channel(s), {8 * width}-bit: expected "
                          f"{RATE} Hz mono 16-bit (import it with `confcall prompts import`)")
    return np.frombuffer(data, "<i2").astype(np.int16)


def write_wav(path: Path, audio: np.ndarray) -> None:
    """Write int16 8 kHz mono atomically (temp file + rename in the target directory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f, wave.open(f, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(np.asarray(audio, "<i2").tobytes())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def dbfs(x: np.ndarray) -> float:
    """RMS of ``x`` in dBFS (a full-scale square wave is 0 dBFS)."""
    ms = float(np.mean(np.square(np.asarray(x, np.float64)))) if len(x) else 0.0
    return 10.0 * np.log10(ms / FULL_SCALE**2) if ms > 0 else -np.inf


def active_dbfs(x: np.ndarray) -> float:
    """RMS over the 20 ms frames within ``ACTIVE_RANGE_DB`` of the loudest one (pauses skipped)."""
    x = np.asarray(x, np.float64)
    n = len(x) // FRAME
    if n == 0:
        return dbfs(x)
    e = np.mean(np.square(x[: n * FRAME].reshape(n, FRAME)), axis=1)
    if e.max() <= 0:
        return -np.inf
    act = e[e >= e.max() * 10.0 ** (-ACTIVE_RANGE_DB / 10.0)]
    return 10.0 * np.log10(float(act.mean()) / FULL_SCALE**2)


def _limit(x: np.ndarray, ceiling: float, radius: int = 40) -> np.ndarray:
    """Smooth peak limiter: gain = min(1, ceiling / (max |x| within ±radius)), averaged over
    ±radius samples (5 ms). Averaging within the max window never lets a sample exceed the
    ceiling, and the gain moves smoothly, so nothing clicks."""
    a = np.abs(x)
    if a.max() <= ceiling:
        return x
    w = 2 * radius + 1
    env = np.lib.stride_tricks.sliding_window_view(np.pad(a, radius), w).max(axis=1)
    g = np.minimum(1.0, ceiling / np.maximum(env, 1e-9))
    c = np.concatenate(([0.0], np.cumsum(np.pad(g, radius, constant_values=1.0))))
    gs = (c[w:] - c[:-w]) / w
    return x * gs


def set_level(audio: np.ndarray, target_dbfs: float, *, active: bool = True) -> np.ndarray:
    """Scale to ``target_dbfs`` RMS (active frames only when ``active``), limit peaks to
    ``CEILING_DBFS``, return int16."""
    x = np.asarray(audio, np.float64)
    level = active_dbfs(x) if active else dbfs(x)
    if not np.isfinite(level):
        raise PromptError("the audio is silent")
    ceiling = FULL_SCALE * 10.0 ** (CEILING_DBFS / 20.0)
    y = x
    for _ in range(4):  # limiting lowers the level a little: correct and limit again
        y = _limit(x * 10.0 ** ((target_dbfs - level) / 20.0), ceiling)
        miss = target_dbfs - (active_dbfs(y) if active else dbfs(y))
        if abs(miss) < 0.1:
            break
        level -= miss
    x = y
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def convert_file(src: str | Path, dst: Path, target_dbfs: float, *, trim: bool = True,
                 stdin: bytes | None = None, active: bool = True) -> np.ndarray:
    """sox-convert ``src`` to the telephone format, level it (active level for speech, whole
    file RMS for music: ``active=False``), write ``dst`` atomically."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.stem}.sox.", suffix=".wav", dir=dst.parent)
    os.close(fd)
    try:
        sox_to_telephone(src, Path(tmp), stdin=stdin, trim=trim)
        raw = read_wav(tmp)
    finally:
        with suppress(OSError):
            os.unlink(tmp)
    if len(raw) < FRAME:
        raise PromptError(f"{src if stdin is None else 'TTS output'} holds no sound "
                          f"(nothing left after trimming silence)")
    out = set_level(raw, target_dbfs, active=active)
    write_wav(dst, out)
    return out
