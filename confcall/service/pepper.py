"""Where the CLI finds the PIN pepper that `serve` uses, so both hash PINs alike.

Why: `serve` takes ``$CONFCALL_PEPPER`` / ``$CONFCALL_PEPPER_FILE`` when set, else creates
``var/confcall.pepper`` in its working directory; under systemd the unit sets
``CONFCALL_PEPPER_FILE=/var/lib/confcall/var/confcall.pepper``. An operator's shell has none
of that, so an account created from the CLI would fail ("no pepper") or — worse — be hashed
with another secret. The CLI looks in the same places, in the same order, and never creates
a pepper itself.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["INSTALLED", "locate_pepper"]

INSTALLED = Path("/var/lib/confcall/var/confcall.pepper")  # `confcall install`'s layout


def locate_pepper(candidates: tuple[Path, ...] = (Path("var/confcall.pepper"), INSTALLED),
                  env: dict[str, str] | None = None) -> str | None:
    """Point ``$CONFCALL_PEPPER_FILE`` at the first readable pepper file when the environment
    names none; returns where the pepper comes from (None: nowhere found)."""
    e = os.environ if env is None else env
    if e.get("CONFCALL_PEPPER"):
        return "environment"
    if e.get("CONFCALL_PEPPER_FILE"):
        return e["CONFCALL_PEPPER_FILE"]
    for path in candidates:
        if path.is_file() and os.access(path, os.R_OK):
            e["CONFCALL_PEPPER_FILE"] = str(path.resolve())
            return str(path)
    return None
