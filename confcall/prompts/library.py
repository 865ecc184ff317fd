"""The daemon's view of the prompts: int16 8 kHz arrays by key, loaded once.

How to use it
-------------
::

    libs = load_all(("zh", "en"))          # render what is missing, load every key
    zh = libs["zh"]
    eng.register_sound(zh.audio("confirmed"))
    zh.sequence(["ivr_balance_is", *say_amount("zh", 1234)])   # one array, keys back to back

``PromptLibrary(lang, directory=None)``: ``keys()``, ``audio(key)`` (operator recording if
imported, else the TTS render; a key not rendered yet is rendered on the spot),
``ensure_rendered()``, ``source(key)`` (``"recorded"``/``"tts"``/None), ``text(key)``,
``reload()`` (forget loaded audio after an import). Arrays are read-only and shared.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ._audio import RATE, read_wav
from .catalog import LANGS, Catalog, check_lang, load_catalog
from .render import RenderReport, build, prompt_dir, recorded_path, tts_path

__all__ = ["PromptLibrary", "load_all"]


class PromptLibrary:
    """Prompts of one language, as the media engine wants them (int16, 8 kHz, mono)."""

    def __init__(self, lang: str, directory: str | Path | None = None,
                 catalog: Catalog | None = None):
        self.lang = check_lang(lang)
        self.directory = prompt_dir(directory)
        self.catalog = catalog or load_catalog()
        self._audio: dict[str, np.ndarray] = {}

    def __repr__(self) -> str:
        return f"PromptLibrary({self.lang!r}, {str(self.directory)!r})"

    def keys(self) -> list[str]:
        return self.catalog.keys()

    def text(self, key: str) -> str:
        return self.catalog.text(self.lang, key)

    def ensure_rendered(self, jobs: int | None = None) -> RenderReport:
        """Render every key whose text changed or whose file is missing."""
        report = build((self.lang,), directory=self.directory, catalog=self.catalog, jobs=jobs)
        for _, key in report.rendered:
            self._audio.pop(key, None)
        return report

    def source(self, key: str) -> str | None:
        self.catalog.check_key(key)
        if recorded_path(self.lang, key, self.directory).is_file():
            return "recorded"
        if tts_path(self.lang, key, self.directory).is_file():
            return "tts"
        return None

    def audio(self, key: str) -> np.ndarray:
        """The prompt as a read-only int16 array at 8 kHz."""
        a = self._audio.get(key)
        if a is None:
            src = self.source(key)  # checks the key
            if src is None:
                build((self.lang,), keys=[key], directory=self.directory, catalog=self.catalog)
                src = "tts"
            path = (recorded_path if src == "recorded" else tts_path)(self.lang, key,
                                                                      self.directory)
            a = read_wav(path)
            a.flags.writeable = False
            self._audio[key] = a
        return a

    def sequence(self, keys: Sequence[str], gap_ms: float = 0.0) -> np.ndarray:
        """Several prompts back to back (``gap_ms`` of silence between them), int16."""
        gap = np.zeros(round(gap_ms * RATE / 1000), np.int16)
        parts: list[np.ndarray] = []
        for i, k in enumerate(keys):
            if i and len(gap):
                parts.append(gap)
            parts.append(self.audio(k))
        return np.concatenate(parts) if parts else np.zeros(0, np.int16)

    def load(self) -> PromptLibrary:
        """Load every key into memory now (start-up, not on the first call)."""
        for k in self.keys():
            self.audio(k)
        return self

    def reload(self) -> None:
        self._audio.clear()


def load_all(langs: Iterable[str] = LANGS, directory: str | Path | None = None,
             catalog: Catalog | None = None, jobs: int | None = None) -> dict[str, PromptLibrary]:
    """Render what is missing (all languages in one parallel pass) and load every prompt."""
    langs = tuple(check_lang(lang) for lang in langs)
    cat = catalog or load_catalog()
    build(langs, directory=directory, catalog=cat, jobs=jobs)
    return {lang: PromptLibrary(lang, directory, cat).load() for lang in langs}
