"""Fixtures for the site in process: a migrated SQLite copy, funded subscribers, cards, an
operator, and the site (real Klein resource, real services) driven by WebClient."""
from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest

from confcall.rating import ops
from confcall.store import Store
from confcall.store.inline import InlineRunner
from confcall.web import WebConfig, WebSite
from confcall.web.operators import create_operator
from tests.pgcluster import cheap_argon2, template  # noqa: F401

from .webclient import WebClient

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
A, B, C = "+8613800138000", "+8613900139000", "+8613700137000"
PIN, PIN_B = "482913", "604729"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world(tmp_path, cheap_argon2):  # noqa: F811
    db = tmp_path / "web.db"
    shutil.copyfile(template("sqlite", None), db)
    store = Store(f"sqlite:///{db}")
    for number, pin, fen in ((A, PIN, 5_000), (B, PIN_B, 1_000)):
        ops.create_account(store, number, pin, now=NOW)
        ops.adjust(store, number, fen, f"fund-{number}", "test funding", now=NOW)
    batch, cards = ops.generate_cards(store, "test", 4, 3_000, NOW + timedelta(days=365), now=NOW)
    ops.activate_batch(store, batch)
    create_operator(store, "alice", "operator-pass-1", "admin", NOW)
    create_operator(store, "victor", "viewer-pass-12", "viewer", NOW)
    clock = Clock()
    site = WebSite(InlineRunner(store), config=WebConfig(), now=clock)

    class World:
        pass
    w = World()
    w.store, w.site, w.cards, w.clock, w.url = store, site, cards, clock, f"sqlite:///{db}"
    w.client = lambda: WebClient(site)
    yield w
    store.dispose()
