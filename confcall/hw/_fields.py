"""Typed access to a parsed TOML table that reports errors by file and dotted key.

Why: tomllib gives plain dicts; without this every loader would repeat "is it there, is it
the right type, is it one of the allowed values" and the error texts would drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confcall.hw.errors import HwConfigError

_MISSING = object()


@dataclass(frozen=True)
class Table:
    """One TOML table plus where it came from (file and dotted prefix of its keys)."""

    data: Mapping[str, Any]
    source: str
    prefix: str = ""

    def key(self, name: str) -> str:
        """Dotted key as the user wrote it, e.g. ``span[2].crc4``."""
        return f"{self.prefix}{name}"

    def error(self, name: str, problem: str, allowed: str = "") -> HwConfigError:
        return HwConfigError(self.source, self.key(name), problem, allowed)

    def has(self, name: str) -> bool:
        return name in self.data

    def _absent(self, name: str, default: Any) -> bool:
        """True when the key is absent and a default applies; raises when it is required."""
        if name in self.data:
            return False
        if default is _MISSING:
            raise self.error(name, "missing required key")
        return True

    def get_str(self, name: str, default: Any = _MISSING,
                choices: Iterable[str] | None = None) -> Any:
        """A string, optionally restricted to `choices` (compared case-sensitively)."""
        if self._absent(name, default):
            return default
        value = self.data[name]
        if not isinstance(value, str):
            raise self.error(name, f"expected a string, got {value!r}", _allowed(choices))
        if choices is not None and value not in tuple(choices):
            raise self.error(name, f"{value!r} is not allowed", _allowed(choices))
        return value

    def get_int(self, name: str, default: Any = _MISSING, lo: int | None = None,
            hi: int | None = None) -> Any:
        """An integer (booleans refused) within [lo, hi] when given."""
        if self._absent(name, default):
            return default
        value = self.data[name]
        rng = _range_text(lo, hi)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(name, f"expected an integer, got {value!r}", rng)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise self.error(name, f"{value} is out of range", rng)
        return value

    def get_bool(self, name: str, default: Any = _MISSING) -> Any:
        if self._absent(name, default):
            return default
        value = self.data[name]
        if not isinstance(value, bool):
            raise self.error(name, f"expected true or false, got {value!r}", "true, false")
        return value

    def get_str_list(self, name: str, default: Any = _MISSING,
                 choices: Iterable[str] | None = None) -> Any:
        if self._absent(name, default):
            return default
        value = self.data[name]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(name, f"expected a list of strings, got {value!r}",
                             _allowed(choices))
        if choices is not None:
            allowed = tuple(choices)
            for v in value:
                if v not in allowed:
                    raise self.error(name, f"{v!r} is not allowed", _allowed(allowed))
        return tuple(value)

    def table(self, name: str, required: bool = False) -> Table:
        """A sub-table; an empty one when absent and not required."""
        value = self.data.get(name, _MISSING)
        if value is _MISSING:
            if required:
                raise self.error(name, "missing required table")
            value = {}
        if not isinstance(value, dict):
            raise self.error(name, f"expected a table, got {value!r}")
        return Table(value, self.source, f"{self.key(name)}.")

    def tables(self, name: str) -> list[Table]:
        """An array of tables (``[[name]]``); empty when absent."""
        value = self.data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(name, "expected an array of tables ([[" + name + "]])")
        return [Table(v, self.source, f"{self.key(name)}[{i}].") for i, v in enumerate(value)]

    def reject_unknown(self, known: Iterable[str]) -> None:
        """Refuse keys we do not know: a typo must not silently fall back to a default."""
        allowed = tuple(known)
        for name in self.data:
            if name not in allowed:
                raise self.error(name, "unknown key", ", ".join(allowed))


def _allowed(choices: Iterable[str] | None) -> str:
    return ", ".join(choices) if choices is not None else ""


def _range_text(lo: int | None, hi: int | None) -> str:
    if lo is not None and hi is not None:
        return f"{lo}..{hi}"
    if lo is not None:
        return f">= {lo}"
    if hi is not None:
        return f"<= {hi}"
    return ""


def read_toml(path: Path) -> Table:
    """Parse a TOML file; syntax errors become HwConfigError naming the file."""
    import tomllib

    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise HwConfigError(path, "", "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise HwConfigError(path, "", f"not valid TOML: {exc}") from None
    return Table(data, str(path))
