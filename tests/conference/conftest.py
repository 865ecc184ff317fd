"""Fixtures for the end-to-end call-control tests (the harness is box_harness.py)."""
from box_harness import box  # noqa: F401
from tests.pgcluster import cheap_argon2  # noqa: F401
