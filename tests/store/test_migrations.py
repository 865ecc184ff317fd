"""Alembic: upgrade from empty, downgrade -1, models agree with the migrated schema."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from confcall.store import current, downgrade, make_engine, upgrade
from confcall.store.models import Base

ENGINES = pytest.mark.parametrize("empty_db_url", ["sqlite", "postgresql"], indirect=True)


def tables(url):
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def head_revision():
    from alembic.script import ScriptDirectory

    from confcall.store.migrate import alembic_config
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


BOOKING_TABLES = {"bookings", "booking_participants", "booking_attempts"}


@ENGINES
def test_upgrade_from_empty_then_downgrade_one_then_base(empty_db_url):
    assert current(empty_db_url) is None
    upgrade(empty_db_url)
    assert current(empty_db_url) == head_revision()
    assert {"accounts", "ledger", "cards", "reservations", "rates",
            "call_legs"} | BOOKING_TABLES <= tables(empty_db_url)
    downgrade(empty_db_url, "0003")
    assert current(empty_db_url) == "0003"
    assert not BOOKING_TABLES & tables(empty_db_url) and "call_legs" in tables(empty_db_url)
    downgrade(empty_db_url, "-1")
    assert current(empty_db_url) == "0002"
    assert "call_legs" not in tables(empty_db_url)
    downgrade(empty_db_url, "-1")
    assert current(empty_db_url) == "0001"
    assert "reservations" not in tables(empty_db_url)
    assert "ledger" in tables(empty_db_url)
    upgrade(empty_db_url)
    assert current(empty_db_url) == head_revision()
    downgrade(empty_db_url, "base")
    assert tables(empty_db_url) == set()


@ENGINES
def test_models_match_migrated_schema(empty_db_url):
    upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []
