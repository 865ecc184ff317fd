"""Fixtures for the end-to-end call-control tests (the harness is box_harness.py)."""
import pytest

from box_harness import Box
from tests.pgcluster import cheap_argon2  # noqa: F401


@pytest.fixture
def box(tmp_path):
    made = []

    def make(**kwargs) -> Box:
        b = Box(tmp_path, **kwargs)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()
