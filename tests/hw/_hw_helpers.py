"""Paths and helpers shared by the hw tests (not in conftest.py: several conftest modules
exist in this tree, so `from conftest import …` could pick up the wrong one)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PLANS = FIXTURES / "plans"
REPO_PROFILES = Path(__file__).resolve().parents[2] / "hw_profiles"


def config_lines(text: str) -> list[str]:
    """The lines dahdi_cfg acts on: no comments, no blank lines."""
    return [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
