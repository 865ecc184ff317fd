"""Shared paths and helpers for the hardware-profile tests (all data is small text files)."""

from __future__ import annotations

import pytest
from _hw_helpers import REPO_PROFILES

from confcall.hw import CardProfile, load_profile


@pytest.fixture(autouse=True)
def _repo_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test reads the profiles shipped in the repo unless it overrides the variable."""
    monkeypatch.setenv("CONFCALL_HW_PROFILES", str(REPO_PROFILES))


@pytest.fixture
def te420() -> CardProfile:
    return load_profile("te420")


@pytest.fixture
def te133() -> CardProfile:
    return load_profile("te133")


@pytest.fixture
def a104d() -> CardProfile:
    return load_profile("a104d")

