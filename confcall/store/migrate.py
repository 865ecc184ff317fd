"""Programmatic Alembic: ``upgrade(url)``, ``downgrade(url, "-1")``, ``current(url)``."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from .engine import default_url, make_engine

__all__ = ["alembic_config", "current", "downgrade", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _run(url: str | None, fn, revision: str) -> None:  # type: ignore[no-untyped-def]
    url = url or default_url()
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            fn(cfg, revision)
    finally:
        engine.dispose()


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (default: the newest)."""
    _run(url, command.upgrade, revision)


def downgrade(url: str | None = None, revision: str = "-1") -> None:
    _run(url, command.downgrade, revision)


def current(url: str | None = None) -> str | None:
    engine = make_engine(url or default_url())
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
