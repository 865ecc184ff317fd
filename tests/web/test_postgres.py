"""The site on PostgreSQL (the several-boxes store): sessions, the subscriber's recharge and
booking, an operator's audited adjustment — the same flows as on SQLite."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from confcall.rating import ops
from confcall.store import Store
from confcall.store.inline import InlineRunner
from confcall.web import WebSite
from confcall.web.operators import create_operator
from tests.pgcluster import cheap_argon2, db_url, pg_cluster  # noqa: F401

from .test_console import op_login
from .webclient import WebClient

A, B = "+8613800138000", "+8613900139000"


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_site_on_postgresql(db_url, cheap_argon2):  # noqa: F811
    store = Store(db_url)
    now = datetime.now(UTC)
    try:
        for n in (A, B):
            ops.create_account(store, n, "482913", now=now)
        ops.adjust(store, A, 5_000, "fund-a", "test funding", now=now)
        batch, cards = ops.generate_cards(store, "pg", 1, 2_000, now + timedelta(days=30),
                                          now=now)
        ops.activate_batch(store, batch)
        create_operator(store, "alice", "operator-pass-1", "admin", now)
        site = WebSite(InlineRunner(store))
        c = WebClient(site)
        assert c.login("13800138000", "482913").code == 200
        serial, pin = cards[0]
        r = c.submit("/recharge", "/recharge", {"number": "13900139000", "serial": serial,
                                                "pin": pin})
        assert r.code == 200 and ops.balance(store, B).balance_fen == 2_000
        start = (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")  # read as UTC below
        r = c.submit("/book", "/book", {"participants": "13900139000", "start": start,
                                        "timezone": "UTC", "action": "book"})
        assert r.code == 303, r.text
        later = (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
        r = c.submit("/book", "/book", {"participants": "13900139000", "start": later,
                                        "timezone": "UTC", "action": "book"})
        assert r.code == 303, r.text
        # the list a page at a time (prepared statements through Connection.execute here)
        first = c.get("/api/v1/bookings?limit=1")
        assert first.code == 200 and first.json()[0]["start"].startswith(start[:10])
        nxt = re.fullmatch(r'<([^>]+)>; rel="next"', first.header("link") or "")
        assert nxt, first.header("link")
        second = c.get(nxt.group(1))
        assert second.code == 200 and second.json()[0]["start"].startswith(later[:10])
        assert second.header("link") is None
        o = WebClient(site)
        op_login(o)
        r = o.submit("/ops/accounts", "/ops/accounts", {"action": "adjust", "number": A,
                                                         "amount_fen": "-100",
                                                         "reason": "pg test"})
        assert r.code == 200 and ops.balance(store, A).balance_fen == 4_900
        assert o.get("/api/v1/ops/audit").json()[0]["outcome"] == "ok"
    finally:
        store.dispose()
