"""The default waiting music, synthesised; operator music converted on import.

What it does
------------
``synthesize()`` makes a calm 24 s loop (80 bpm, Cmaj7 – Am7 – Fmaj7 – G6, two bars each): a
soft pad, a plucked arpeggio and a low root, at 8 kHz mono int16 and **-20 dBFS RMS** (4 dB
under the prompts, so speech stands out). It loops seamlessly: every note is written modulo
the loop length, so the tails of the last bar ring into the first.

It cannot be mistaken for a key press: a DTMF detector needs one row tone (697–941 Hz) and one
column tone (1209–1633 Hz) dominating the signal. Every partial of every note is dropped if it
lies within ±4 % of any of the eight DTMF frequencies (Q.24 detectors accept ±1.5 % and must
reject ±3.5 %), so no row/column pair exists in the spectrum at all; the tests run
``confcall.dsp.dtmf`` over two loops and ``dtmf_pairs`` over the spectrum to prove it.

How to use it
-------------
``music_audio()`` → the operator's file if one was imported, else the default piece (built
into ``<prompt dir>/music/default.wav`` on first use); ``build_default_music(force=)``;
``import_music(path)`` converts any file sox reads (any rate, channels, width) to
``<prompt dir>/music/operator.wav`` at -20 dBFS; ``remove_music()`` reverts to the default.
``dtmf_pairs(audio)`` gives the longest run (ms) of a dominant row+column pair: an operator
file with a long run would make the detector fire (the CLI warns).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ._audio import RATE, convert_file, read_wav, set_level, write_wav
from .catalog import PromptError
from .render import prompt_dir

__all__ = [
    "DTMF_HZ",
    "LOOP_SECONDS",
    "MUSIC_DBFS",
    "build_default_music",
    "dtmf_pairs",
    "import_music",
    "music_audio",
    "music_path",
    "remove_music",
    "synthesize",
]

MUSIC_DBFS = -20.0  # RMS of the whole loop
LOOP_SECONDS = 24.0  # 8 bars of 4/4 at 80 bpm
MUSIC_VERSION = 1  # bump when synthesize() changes: the default file is made again
DTMF_HZ = (697.0, 770.0, 852.0, 941.0, 1209.0, 1336.0, 1477.0, 1633.0)
DTMF_MARGIN = 0.04  # no partial within ±4 % of a DTMF frequency
TOP_HZ = 3300.0  # no partial above this (telephone band)
BEAT = 60.0 / 80.0  # s

# chord tones as MIDI notes: pad voicing (octave 3-4), arpeggio pattern (octave 4-5), root
_CHORDS = (
    ((48, 52, 55, 59), (60, 64, 67, 71, 72, 71, 67, 64), 36),  # Cmaj7
    ((45, 48, 52, 55), (57, 60, 64, 67, 69, 67, 64, 60), 33),  # Am7
    ((41, 45, 48, 52), (53, 57, 60, 64, 65, 64, 60, 57), 29),  # Fmaj7
    ((43, 47, 50, 52), (55, 59, 62, 64, 67, 64, 62, 59), 31),  # G6
)


def _hz(midi: int) -> float:
    return 440.0 * 2.0 ** ((midi - 69) / 12.0)


def partial_ok(f: float) -> bool:
    """May a partial at ``f`` Hz sound? (inside the band, clear of every DTMF frequency)"""
    return 0.0 < f < TOP_HZ and all(abs(f / d - 1.0) > DTMF_MARGIN for d in DTMF_HZ)


def _add(buf: np.ndarray, start: int, sig: np.ndarray) -> None:
    """Add ``sig`` at ``start``, wrapping around the loop."""
    n = len(buf)
    idx = (start + np.arange(len(sig))) % n
    np.add.at(buf, idx, sig)


def _tone(f0: float, harmonics: tuple[float, ...], env: np.ndarray, detune: float = 0.0,
          phase: float = 0.0) -> np.ndarray:
    t = np.arange(len(env)) / RATE
    out = np.zeros(len(env))
    for k, a in enumerate(harmonics, start=1):
        f = f0 * k * (1.0 + detune)
        if a and partial_ok(f):
            out += a * np.sin(2 * np.pi * f * t + phase * k)
    return out * env


def synthesize(seconds: float = LOOP_SECONDS) -> np.ndarray:
    """The default loop, int16 at 8 kHz, -20 dBFS RMS. ``seconds`` scales the tempo grid."""
    if not 4.0 <= seconds <= 120.0:
        raise ValueError(f"music length {seconds} s out of range: 4 to 120 s")
    n = round(seconds * RATE)
    buf = np.zeros(n)
    chord_len = n // len(_CHORDS)
    beat = chord_len / 8.0  # eight beats (two bars) per chord, in samples
    for i, (pad, arp, root) in enumerate(_CHORDS):
        start = i * chord_len
        # pad: raised-cosine swell over the chord plus 1.5 s overlap into the next one
        m = chord_len + int(1.5 * RATE)
        env = np.sin(np.pi * np.arange(m) / m) ** 2
        for j, note in enumerate(pad):
            for det, ph in ((-0.0012, 0.3 * j), (0.0012, 1.1 * j)):
                _add(buf, start, 0.16 * _tone(_hz(note), (1.0, 0.35, 0.15, 0.06), env, det, ph))
        # low root: two soft half-bar pulses per bar
        for b in range(0, 8, 2):
            m = int(2 * beat)
            t = np.arange(m) / RATE
            env = (1 - np.exp(-t / 0.03)) * np.exp(-t / 0.9)
            _add(buf, start + int(b * beat), 0.22 * _tone(_hz(root + 12), (1.0, 0.5, 0.25), env))
        # arpeggio: plucked eighth notes, gently accented on the beat
        for s, note in enumerate(arp * 2):
            m = int(3 * beat)
            t = np.arange(m) / RATE
            env = (1 - np.exp(-t / 0.004)) * np.exp(-t / 0.45)
            acc = 1.0 if s % 2 == 0 else 0.7
            tone = _tone(_hz(note), (1.0, 0.3, 0.1), env)
            _add(buf, start + int(s * beat / 2), 0.12 * acc * tone)
    return set_level(buf, MUSIC_DBFS, active=False)


def music_path(directory: str | Path | None = None) -> Path:
    """The file played: the operator's import if any, else the default piece."""
    d = prompt_dir(directory) / "music"
    op = d / "operator.wav"
    return op if op.is_file() else d / "default.wav"


def build_default_music(directory: str | Path | None = None, force: bool = False) -> Path:
    """Write the default piece to ``<prompt dir>/music/default.wav`` unless it is current."""
    d = prompt_dir(directory) / "music"
    path, stamp = d / "default.wav", d / "default.version"
    current = path.is_file() and stamp.is_file() and stamp.read_text().strip() == str(MUSIC_VERSION)
    if force or not current:
        write_wav(path, synthesize())
        stamp.write_text(f"{MUSIC_VERSION}\n")
    return path


def import_music(path: str | Path, directory: str | Path | None = None) -> Path:
    """Convert an operator's music file (anything sox reads) to the telephone format at
    -20 dBFS RMS; it replaces the default piece."""
    src = Path(path)
    if not src.is_file():
        raise PromptError(f"music file {src} does not exist or is not a file")
    dst = prompt_dir(directory) / "music" / "operator.wav"
    out = convert_file(src, dst, MUSIC_DBFS, active=False)
    if len(out) < RATE:
        dst.unlink()
        raise PromptError(f"music file {src} is shorter than one second once silence is trimmed")
    return dst


def remove_music(directory: str | Path | None = None) -> bool:
    """Forget the operator's music (the default piece plays again); False if there was none."""
    try:
        (prompt_dir(directory) / "music" / "operator.wav").unlink()
    except FileNotFoundError:
        return False
    return True


def music_audio(directory: str | Path | None = None) -> np.ndarray:
    """The waiting music as int16 8 kHz (operator's file, else the default, built if needed)."""
    p = music_path(directory)
    if p.name == "default.wav":
        build_default_music(directory)
    return read_wav(p)


def dtmf_pairs(audio: np.ndarray, window: int = 102, hop: int = 51) -> float:
    """Longest run (ms) of windows where one DTMF row tone and one column tone together carry
    ≥ 50 % of the energy, each ≥ 10 %, and each is above -45 dBm0 — the shape of a key press.
    A key press gives its own length; speech or music that is safe gives 0 or a few ms."""
    x = np.asarray(audio, np.float64)
    nwin = 1 + (len(x) - window) // hop if len(x) >= window else 0
    if nwin <= 0:
        return 0.0
    frames = np.lib.stride_tricks.sliding_window_view(x, window)[::hop][:nwin]
    n = np.arange(window)
    basis = np.exp(-2j * np.pi * np.outer(DTMF_HZ, n) / RATE)  # (8, window)
    p = 2.0 * np.abs(frames @ basis.T) ** 2 / window**2  # mean square of each tone
    e = np.mean(frames**2, axis=1) + 1e-12
    row, col = p[:, :4].max(axis=1), p[:, 4:].max(axis=1)
    floor = (32768.0 * 10 ** (-3.14 / 20)) ** 2 / 2 * 10 ** (-45 / 10)  # -45 dBm0
    hit = ((row + col) >= 0.5 * e) & (row >= 0.1 * e) & (col >= 0.1 * e) & (row > floor) & (
        col > floor)
    best = run = 0
    for h in hit:
        run = run + 1 if h else 0
        best = max(best, run)
    return 0.0 if best == 0 else ((best - 1) * hop + window) * 1000.0 / RATE
