"""The store: SQLAlchemy models, engines (SQLite WAL / PostgreSQL), Alembic migrations and a
thread-pool runner for Twisted.  Business rules live in ``confcall.rating``."""
from .claim import claim
from .engine import DEFAULT_URL, Store, default_url, make_engine
from .migrate import current, downgrade, upgrade
from .runner import DbRunner

__all__ = ["Store", "make_engine", "default_url", "DEFAULT_URL", "upgrade", "downgrade",
           "current", "DbRunner", "claim"]
