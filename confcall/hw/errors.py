"""Errors raised while reading hardware profiles, trunk plans and span configs.

Why one error type: a NOC engineer who mistypes a profile or a plan must be told *which
file*, *which key* and *what is allowed*, never shown a traceback. Every validation
failure in `confcall.hw` therefore raises `HwConfigError` with those three parts, and the
CLI prints `str(err)` and exits non-zero.
"""

from __future__ import annotations

from pathlib import Path


class HwConfigError(ValueError):
    """A bad value in a profile, plan or span config, located by file and key."""

    def __init__(self, source: str | Path, key: str, problem: str, allowed: str = "") -> None:
        self.source = str(source)
        self.key = key
        self.problem = problem
        self.allowed = allowed
        text = f"{self.source}: {key}: {problem}" if key else f"{self.source}: {problem}"
        if allowed:
            text += f" (allowed: {allowed})"
        super().__init__(text)


class ProfileNotFound(HwConfigError):
    """The named profile has no TOML file in the profiles directory."""
