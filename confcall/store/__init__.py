"""The store: SQLAlchemy models, engines (SQLite WAL / PostgreSQL), Alembic migrations and a
thread-pool runner for Twisted.  Business rules live in ``confcall.rating``."""
from .claim import claim
from .engine import DEFAULT_URL, Store, default_url, make_engine
from .migrate import current, downgrade, upgrade
from .runner import DbRunner

__all__ = [
           "DEFAULT_URL",
           "DbRunner",
           "Store",
           "claim",
           "current",
           "default_url",
           "downgrade",
           "make_engine",
           "upgrade",
]
