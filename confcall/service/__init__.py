"""The box as a service: the systemd unit, `confcall install` and `confcall doctor`."""
from __future__ import annotations

from pathlib import Path

__all__ = ["UNIT_FILE", "unit_text"]

UNIT_FILE = Path(__file__).resolve().parent / "confcall.service"


def unit_text(executable: str) -> str:
    """The shipped unit with ExecStart pointing at this installation's ``confcall``."""
    text = UNIT_FILE.read_text(encoding="utf-8")
    return text.replace("ExecStart=/usr/local/bin/confcall ", f"ExecStart={executable} ", 1)
