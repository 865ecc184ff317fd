"""Fixtures for the MFC/R2 trunk tests (the harness is r2_harness.py: conftest module names are
shared by every test directory, so helpers live in uniquely named modules)."""
import pytest

from r2_harness import R2Harness


@pytest.fixture
def r2():
    made = []

    def make(**kwargs) -> R2Harness:
        h = R2Harness(**kwargs)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()
