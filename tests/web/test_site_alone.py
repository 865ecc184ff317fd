"""The site in its own process (``confcall web``) beside a box (no [web]) over the same SQLite
file: what the booking path needs from the box works across processes.  A booking made over
HTTP to the site's process is a row the box's scheduler finds by polling and dials at its time;
the site's capacity check counts the bookings already stored, whoever stored them.

The site runs on the wall clock, the box on virtual time from an epoch a few minutes ahead of
it, so the booked time is in the future for both."""
from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from tests.conference.box_harness import Box
from tests.pgcluster import cheap_argon2  # noqa: F401

from .server import SiteProcess

A, B, C, D = "13800138000", "13900139000", "13700137000", "13600136000"


def call(opener, url, method="GET", body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Content-Type": "application/json", **(headers or {})})
    try:
        with opener.open(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


@pytest.fixture
def pair(tmp_path, cheap_argon2):  # noqa: F811
    epoch = (datetime.now(UTC) + timedelta(minutes=5)).replace(second=0, microsecond=0)
    box = Box(tmp_path, epoch=epoch, config_overrides={"web_enabled": False})
    box.account(A, pin="482913")
    # a booked conference may hold 4 channels at a time (the site's [booking] channels)
    site = SiteProcess(f"sqlite:///{box.db_path}", tmp_path, pepper="test-pepper",
                       toml="[booking]\nchannels = 4\nkeyed_room = 0\n")
    yield box, site
    site.stop()
    box.close()


def test_a_booking_made_on_the_site_alone_is_dialled_by_the_box(pair):
    bx, site = pair
    a = bx.phone(A, answer_after=1.0)
    b = bx.phone(B, answer_after=2.0)
    c = bx.phone(C, answer_after=2.0)
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    status, who = call(opener, site.base + "/api/v1/session", "POST",
                       {"number": A, "password": "482913"})
    assert status == 200, who
    h = {"X-CSRF-Token": who["csrf"]}
    start = bx.epoch + timedelta(seconds=60)
    status, made = call(opener, site.base + "/api/v1/bookings", "POST",
                        {"participants": [B, C], "start": start.isoformat(),
                         "retry_count": 1, "retry_interval_s": 30}, h)
    assert status == 201, made
    # the same hour again: 3 + 3 channels > 4, refused by the site from the stored rows
    status, refused = call(opener, site.base + "/api/v1/bookings", "POST",
                           {"participants": [B, D], "start": start.isoformat()}, h)
    assert status == 409 and refused["error"]["code"] == "booking.capacity", refused
    assert bx.run_until(lambda: bool(a.calls), 90), "the box's scheduler found the row"
    assert 60.0 <= a.last.started_at <= 62.1, "dialled at the booked time (poll every 2 s)"
    assert bx.run_until(lambda: a.last.connected and b.calls and c.calls, 15)
    status, listed = call(opener, site.base + "/api/v1/bookings")
    assert status == 200 and [x["id"] for x in listed] == [made["id"]]
    assert listed[0]["state"] in ("dialing", "in_progress")
    assert listed[0]["attempts"] and listed[0]["attempts"][0]["number"]
