"""Fixtures: a throwaway PostgreSQL cluster and per-test databases of both engines; ``box``, the
simulated box factory of the call-control tests."""
from tests.pgcluster import cheap_argon2, db_url, empty_db_url, pg_cluster, store  # noqa: F401
from tests.conference.box_harness import box  # noqa: F401
