"""Fixtures for the PRI tests (the harness lives in pri_harness.py: a conftest module name is
shared by every test directory, so tests import helpers from uniquely named modules)."""
import pytest

from pri_harness import PriHarness


@pytest.fixture
def pri():
    made = []

    def make(*args, **kwargs) -> PriHarness:
        h = PriHarness(*args, **kwargs)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()
