"""Render the prompt catalog to telephone WAVs with espeak-ng, cached; operator recordings.

What it does
------------
``build()`` speaks every catalog text with espeak-ng and stores it as
``<dir>/<lang>/<key>.wav``: 8 kHz mono 16-bit, band-limited to 80–3400 Hz (sox ``sinc`` +
``rate -v``), leading/trailing silence trimmed, levelled to **-16 dBFS active RMS** (RMS over
the 20 ms frames within 30 dB of the loudest, i.e. pauses not counted; about -13 dBm0 on an
A-law line, where 0 dBm0 is -3.14 dBFS), peaks limited to -1 dBFS. ``<dir>`` is
``$CONFCALL_PROMPT_DIR`` or ``<repo>/var/prompts``. Operator recordings imported with
``import_recording`` live in ``<dir>/recorded/<lang>/<key>.wav``, converted the same way, and
win over the TTS file.

How it works
------------
A manifest per language (``<dir>/<lang>/manifest.json``) holds a SHA-256 per key over the
text, the voice and ``RENDER_VERSION``; a key is rendered only when its hash changed or its
file is missing. espeak-ng and sox run as subprocesses from a thread pool (several at once).
Each result is written to a temp file and, under an exclusive ``flock`` on
``<dir>/<lang>/.lock``, renamed into place and recorded in the manifest (itself replaced
atomically), so two processes building at once never leave a torn file or a manifest entry that
does not match its WAV.

Mandarin uses espeak-ng's ``cmn-latn-pinyin`` voice: with espeak-ng 1.51 (Debian 12) plain
``cmn`` turns many Hanzi into pinyin with tone digits and reads those as English words
(``espeak-ng -v cmn -x 您好`` shows ``(en)…``); ``cmn-latn-pinyin`` reads them as Mandarin.

How to use it
-------------
``report = build(("zh", "en"))`` (``keys=``, ``force=``, ``jobs=``, ``directory=``,
``catalog=``); ``import_recording("goodbye", "zh", "goodbye.wav")``;
``remove_recording(key, lang)``; ``prompt_path(lang, key)`` → the file that will be played.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from ._audio import convert_file, require
from .catalog import LANGS, Catalog, PromptError, check_lang, load_catalog

__all__ = [
    "RENDER_VERSION",
    "SPEECH_DBFS",
    "VOICES",
    "RenderReport",
    "Voice",
    "build",
    "import_recording",
    "prompt_dir",
    "prompt_path",
    "recorded_path",
    "remove_recording",
    "render_text",
    "tts_path",
]

RENDER_VERSION = 1  # bump when the pipeline changes: every key is rendered again
SPEECH_DBFS = -16.0  # active speech level, dBFS RMS
ENV_DIR = "CONFCALL_PROMPT_DIR"
_REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Voice:
    name: str  # espeak-ng voice
    speed: int  # words per minute
    pitch: int = 50  # 0..99

    def args(self) -> list[str]:
        return ["-v", self.name, "-s", str(self.speed), "-p", str(self.pitch)]


VOICES: dict[str, Voice] = {
    "zh": Voice("cmn-latn-pinyin", 150),
    "en": Voice("en-us", 160),
}


@dataclass
class RenderReport:
    rendered: list[tuple[str, str]] = field(default_factory=list)  # (lang, key)
    cached: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        return (f"rendered {len(self.rendered)}, cached {self.cached}, "
                f"{self.seconds:.2f} s")


def prompt_dir(directory: str | Path | None = None) -> Path:
    """The prompt root: ``directory``, else ``$CONFCALL_PROMPT_DIR``, else
    ``<repo>/var/prompts``."""
    if directory is not None:
        return Path(directory)
    env = os.environ.get(ENV_DIR)
    return Path(env) if env else _REPO / "var" / "prompts"


def tts_path(lang: str, key: str, directory: str | Path | None = None) -> Path:
    return prompt_dir(directory) / check_lang(lang) / f"{key}.wav"


def recorded_path(lang: str, key: str, directory: str | Path | None = None) -> Path:
    return prompt_dir(directory) / "recorded" / check_lang(lang) / f"{key}.wav"


def prompt_path(lang: str, key: str, directory: str | Path | None = None) -> Path | None:
    """The file played for ``key``: the operator recording if any, else the TTS render, else
    None (not rendered yet)."""
    for p in (recorded_path(lang, key, directory), tts_path(lang, key, directory)):
        if p.is_file():
            return p
    return None


def _hash(lang: str, text: str) -> str:
    blob = json.dumps({"v": RENDER_VERSION, "voice": VOICES[lang].args(), "level": SPEECH_DBFS,
                       "text": text}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


@contextmanager
def _locked(d: Path) -> Iterator[None]:
    d.mkdir(parents=True, exist_ok=True)
    with open(d / ".lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _read_manifest(d: Path) -> dict[str, str]:
    try:
        with open(d / "manifest.json", encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}  # missing or damaged: everything is rendered again
    return {k: v for k, v in data.get("keys", {}).items() if isinstance(v, str)}


def _write_manifest(d: Path, keys: dict[str, str]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".manifest.", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"version": RENDER_VERSION, "keys": dict(sorted(keys.items()))}, f, indent=1)
        os.replace(tmp, d / "manifest.json")
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def render_text(lang: str, text: str, dst: Path) -> None:
    """Speak ``text`` with the language's voice into ``dst`` (telephone format, levelled)."""
    cmd = [require("espeak-ng"), *VOICES[check_lang(lang)].args(), "-b", "1", "--stdout"]
    r = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, check=False)
    if r.returncode != 0 or not r.stdout:
        raise PromptError(f"espeak-ng failed on {text!r}: "
                          f"{r.stderr.decode('utf-8', 'replace').strip() or r.returncode}")
    convert_file("-", dst, SPEECH_DBFS, stdin=r.stdout)


def build(langs: Iterable[str] = LANGS, *, keys: Iterable[str] | None = None,
          directory: str | Path | None = None, catalog: Catalog | None = None,
          force: bool = False, jobs: int | None = None) -> RenderReport:
    """Render what changed (or everything with ``force``); returns what was done."""
    t0 = time.perf_counter()
    cat = catalog or load_catalog()
    langs = [check_lang(lang) for lang in langs]
    wanted = [cat.check_key(k) for k in keys] if keys is not None else cat.keys()
    root = prompt_dir(directory)
    report = RenderReport()
    todo: list[tuple[str, str, str]] = []
    for lang in langs:
        d = root / lang
        d.mkdir(parents=True, exist_ok=True)
        manifest = _read_manifest(d)
        for k in wanted:
            h = _hash(lang, cat.text(lang, k))
            if force or manifest.get(k) != h or not (d / f"{k}.wav").is_file():
                todo.append((lang, k, h))
            else:
                report.cached += 1
    if todo:
        require("espeak-ng")
        require("sox")
        workers = jobs or min(8, 2 * (os.cpu_count() or 2))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futs = {pool.submit(_render_one, root / lang, lang, k, cat.text(lang, k)): (lang, k, h)
                    for lang, k, h in todo}
            for fut in as_completed(futs):
                lang, k, h = futs[fut]
                tmp = fut.result()
                _commit(root / lang, k, h, tmp)
                report.rendered.append((lang, k))
    report.rendered.sort()
    report.seconds = time.perf_counter() - t0
    return report


def _render_one(d: Path, lang: str, key: str, text: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{key}.", suffix=".wav", dir=d)
    os.close(fd)
    try:
        render_text(lang, text, Path(name))
    except BaseException:
        with suppress(OSError):
            os.unlink(name)
        raise
    return Path(name)


def _commit(d: Path, key: str, h: str, tmp: Path) -> None:
    """Move a finished render into place and record its hash, atomically with other writers."""
    with _locked(d):
        os.replace(tmp, d / f"{key}.wav")
        m = _read_manifest(d)
        m[key] = h
        _write_manifest(d, m)


def import_recording(key: str, lang: str, wav_path: str | Path, *,
                     directory: str | Path | None = None,
                     catalog: Catalog | None = None) -> Path:
    """Convert an operator recording (any WAV sox reads: any rate, channels, width) to the
    telephone format and level, and store it so it replaces the TTS render of ``key``."""
    cat = catalog or load_catalog()
    check_lang(lang)
    cat.check_key(key)
    src = Path(wav_path)
    if not src.is_file():
        raise PromptError(f"recording {src} does not exist or is not a file")
    if not os.access(src, os.R_OK):
        raise PromptError(f"recording {src} is not readable")
    dst = recorded_path(lang, key, directory)
    convert_file(src, dst, SPEECH_DBFS)
    return dst


def remove_recording(key: str, lang: str, *, directory: str | Path | None = None) -> bool:
    """Drop an operator recording (the TTS render is played again); False if there was none."""
    try:
        recorded_path(lang, key, directory).unlink()
    except FileNotFoundError:
        return False
    return True
