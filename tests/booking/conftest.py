"""Fixtures: a throwaway PostgreSQL cluster and per-test databases of both engines."""
from tests.pgcluster import cheap_argon2, db_url, empty_db_url, pg_cluster, store  # noqa: F401
