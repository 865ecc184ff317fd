"""The prompt text catalog: every prompt key with its Mandarin (zh) and English (en) text.

What it does
------------
Loads ``catalog.toml`` (shipped in the package) into a frozen ``Catalog`` and checks it: every
key is lower_snake_case and has a non-empty text in every language of ``LANGS``. Call control
and ``say`` refer to keys only; the texts are for the TTS renderer and for operators.

How to use it
-------------
``cat = load_catalog()`` (or ``load_catalog(path)`` for another file); ``cat.text("zh", key)``,
``cat.keys()``, ``key in cat``; ``check_lang(lang)`` / ``cat.check_key(key)`` raise
``PromptError`` with a readable message.
"""
from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

LANGS: tuple[str, ...] = ("zh", "en")
CATALOG_PATH = Path(__file__).with_name("catalog.toml")
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class PromptError(ValueError):
    """A bad prompt key, language, file or catalog (the message says which and why)."""


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise PromptError(f"unknown prompt language {lang!r}: expected one of {', '.join(LANGS)}")
    return lang


@dataclass(frozen=True)
class Catalog:
    """Key → {lang → text}, in file order."""

    texts: Mapping[str, Mapping[str, str]]
    path: Path | None = field(default=None, compare=False)

    def keys(self) -> list[str]:
        return list(self.texts)

    def __contains__(self, key: object) -> bool:
        return key in self.texts

    def __iter__(self) -> Iterator[str]:
        return iter(self.texts)

    def __len__(self) -> int:
        return len(self.texts)

    def check_key(self, key: str) -> str:
        if key not in self.texts:
            raise PromptError(f"unknown prompt key {key!r} (not in {self.path or 'the catalog'})")
        return key

    def text(self, lang: str, key: str) -> str:
        check_lang(lang)
        return self.texts[self.check_key(key)][lang]


def parse_catalog(data: Mapping[str, object], path: Path | None = None) -> Catalog:
    """Validate a decoded TOML mapping and freeze it."""
    where = path or "catalog"
    texts: dict[str, Mapping[str, str]] = {}
    for key, entry in data.items():
        if not _KEY_RE.match(key):
            raise PromptError(f"{where}: bad prompt key {key!r} (use lower_snake_case)")
        if not isinstance(entry, dict):
            raise PromptError(f"{where}: {key} must be a table {{ zh = \"…\", en = \"…\" }}")
        extra = set(entry) - set(LANGS)
        if extra:
            raise PromptError(f"{where}: {key} has unknown language(s) {sorted(extra)}")
        for lang in LANGS:
            t = entry.get(lang)
            if not isinstance(t, str) or not t.strip():
                raise PromptError(f"{where}: {key} has no {lang} text")
        texts[key] = MappingProxyType({lang: entry[lang].strip() for lang in LANGS})
    if not texts:
        raise PromptError(f"{where}: no prompts")
    return Catalog(MappingProxyType(texts), path)


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load and check a catalog file (default: the packaged ``catalog.toml``)."""
    p = Path(path) if path is not None else CATALOG_PATH
    try:
        with open(p, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise PromptError(f"cannot read prompt catalog {p}: {e.strerror}") from e
    except tomllib.TOMLDecodeError as e:
        raise PromptError(f"prompt catalog {p} is not valid TOML: {e}") from e
    return parse_catalog(data, p)
