"""Fixtures: databases of both engines (tests/pgcluster.py), a real FreeRADIUS server
(tests/radiusd.py), and the RADIUS outbox switched on as a box with [[radius]] servers has it."""
import shutil

import pytest

from confcall.billing import handoff
from confcall.store import Store
from tests.pgcluster import cheap_argon2, db_url, empty_db_url, pg_cluster, store, template  # noqa: F401
from tests.radiusd import RadiusServer


@pytest.fixture
def sqlite_store(tmp_path):
    """The embedded default only (for the long simulations; short tests run on both)."""
    db = tmp_path / "confcall.db"
    shutil.copyfile(template("sqlite", None), db)
    s = Store(f"sqlite:///{db}")
    yield s
    s.dispose()


@pytest.fixture
def radius_outbox():
    handoff.configure(handoff.HandoffPolicy(radius=True))
    yield
    handoff.configure(handoff.HandoffPolicy())


@pytest.fixture
def radiusd():
    server = RadiusServer()
    server.start()
    yield server
    server.close()
