"""The bookings list a page at a time (API and page): following the cursors shows every one of
the subscriber's bookings exactly once in the service's order (live soonest first, then past
latest first), never another subscriber's; a bad cursor or page size is a 400 naming the
field; the OpenAPI document describes the parameters and the Link header."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from confcall.booking import list_bookings
from confcall.rating import ops
from confcall.store.models import Booking

from .conftest import A, B, PIN, PIN_B


def api_login(c, number, pin):
    r = c.request("POST", "/api/v1/session", json_body={"number": number, "password": pin})
    assert r.code == 200, r.text
    return {"X-CSRF-Token": r.json()["csrf"]}


def make(world, c, h, n):
    made = []
    for k in range(n):
        # out of order on purpose, two at the same time (the id breaks the tie)
        start = world.clock.now + timedelta(hours=2, minutes=(7 * k) % n + (k == 1))
        r = c.request("POST", "/api/v1/bookings", headers=h, json_body={
            "participants": ["13700137000"], "start": start.isoformat()})
        assert r.code == 201, r.text
        made.append(r.json()["id"])
    return made


def follow(c, path):
    """Every page from ``path`` on: the ids in order and the number of pages."""
    ids, pages = [], 0
    while path:
        r = c.get(path)
        assert r.code == 200, r.text
        ids += [b["id"] for b in r.json()]
        pages += 1
        link = r.header("link")
        path = None
        if link:
            m = re.fullmatch(r'<(/api/v1/bookings\?limit=\d+&cursor=[lp0-9_]+)>; rel="next"',
                             link)
            assert m, link
            path = m.group(1)
    return ids, pages


def test_pages_show_every_booking_once_in_the_service_order(world):
    ops.adjust(world.store, A, 1_000_000, "fund-more", "test funding", now=world.clock.now)
    c = world.client()
    h = api_login(c, "13800138000", PIN)
    made = make(world, c, h, 11)
    # some are over: two the dialler finished, one the subscriber cancelled
    with world.store.transaction() as s:
        s.execute(update(Booking).where(Booking.id.in_(made[2:4])).values(state="done"))
    assert c.request("POST", f"/api/v1/bookings/{made[5]}/cancel", headers=h).code == 200
    other = world.client()
    hb = api_login(other, "13900139000", PIN_B)
    ops.adjust(world.store, B, 1_000_000, "fund-b", "test funding", now=world.clock.now)
    theirs = make(world, other, hb, 2)

    expected = [v.id for v in world.store.run(list_bookings, A, now=world.clock.now)]
    assert sorted(expected) == sorted(made)
    first = c.get("/api/v1/bookings").json()
    assert [b["id"] for b in first] == expected, "one page by default when it fits"
    for limit in (1, 3, 4, 11):
        ids, pages = follow(c, f"/api/v1/bookings?limit={limit}")
        assert ids == expected, limit
        assert pages == -(-len(expected) // limit), "no empty last page"
    states = [b["state"] for b in first]
    assert states[:8] == ["booked"] * 8 and sorted(states[8:]) == ["cancelled", "done", "done"]
    ids, _ = follow(other, "/api/v1/bookings?limit=1")
    assert ids == [v.id for v in world.store.run(list_bookings, B, now=world.clock.now)]
    assert not set(ids) & set(made) and sorted(ids) == sorted(theirs)


def test_a_page_of_another_subscribers_cursor_shows_only_ones_own(world):
    ops.adjust(world.store, A, 1_000_000, "fund-more", "test funding", now=world.clock.now)
    a, b = world.client(), world.client()
    ha = api_login(a, "13800138000", PIN)
    api_login(b, "13900139000", PIN_B)
    make(world, a, ha, 3)
    link = a.get("/api/v1/bookings?limit=1").header("link")
    cursor = re.search(r"cursor=([lp0-9_]+)", link).group(1)
    r = b.get(f"/api/v1/bookings?cursor={cursor}")
    assert r.code == 200 and r.json() == []


def test_bad_page_parameters_are_refused_naming_the_field(world):
    c = world.client()
    api_login(c, "13800138000", PIN)
    for query, field in (("limit=0", "limit"), ("limit=101", "limit"), ("limit=x", "limit"),
                         ("cursor=zz", "cursor"), ("cursor=l1_", "cursor"),
                         ("cursor=" + "1" * 50, "cursor")):
        r = c.get(f"/api/v1/bookings?{query}")
        assert r.code == 400, query
        assert r.json()["error"]["field"] == field, query
    assert world.client().get("/api/v1/bookings?cursor=zz").code == 401, "session first"
    page = c.get("/bookings?cursor=zz")
    assert page.code == 400 and "翻页位置" in page.text


def test_the_page_links_to_the_next_page(world):
    ops.adjust(world.store, A, 1_000_000, "fund-more", "test funding", now=world.clock.now)
    c = world.client()
    c.login("13800138000", PIN)
    api = world.client()
    made = make(world, api, api_login(api, "13800138000", PIN), 3)
    seen, path = [], "/bookings?limit=2"
    while path:
        page = c.get(path).text
        seen += [int(i) for i in re.findall(r'data-id="(\d+)"', page)]
        m = re.search(r'id="more" href="([^"]+)"', page)
        path = m.group(1).replace("&amp;", "&") if m else None
    assert seen == [v.id for v in world.store.run(list_bookings, A, now=world.clock.now)]
    assert sorted(seen) == sorted(made)


def test_openapi_documents_the_page_parameters_and_link(world):
    doc = world.client().get("/api/v1/openapi.json").json()
    op = doc["paths"]["/api/v1/bookings"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert params["limit"]["in"] == "query" and params["limit"]["schema"]["maximum"] == 100
    assert params["cursor"]["schema"]["pattern"].startswith("^")
    assert "Link" in op["responses"]["200"]["headers"]


def _metric(text: str, name: str) -> float:
    m = re.search(rf"^{name} ([\d.e+-]+)$", text, re.M)
    assert m, name
    return float(m.group(1))


def test_metrics_show_the_bookings_group_commits(world):
    """/metrics counts every booking in a group commit and times each batch (what tells a
    NOC whether slow bookings are the disk's flushes or the site's CPU)."""
    c = world.client()
    h = api_login(c, A, PIN)
    before = c.get("/metrics").text
    make(world, c, h, 3)
    after = c.get("/metrics").text
    assert _metric(after, "confcall_web_commit_units_sum") - \
        _metric(before, "confcall_web_commit_units_sum") == 3
    batches = _metric(after, "confcall_web_commit_seconds_count") - \
        _metric(before, "confcall_web_commit_seconds_count")
    assert 1 <= batches <= 3
    assert _metric(after, "confcall_web_commit_seconds_sum") > \
        _metric(before, "confcall_web_commit_seconds_sum")
