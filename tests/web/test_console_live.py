"""The operator's live view on the box itself (its [web] site, virtual time): span alarms as
the card reports them, the channel map, and a call in progress on its channel."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from confcall.web import WebConfig, WebSite
from confcall.web.operators import create_operator
from tests.conference.box_harness import ACCESS, Box
from tests.pgcluster import cheap_argon2  # noqa: F401

from .test_console import op_login
from .webclient import WebClient


@pytest.fixture
def bx(tmp_path, cheap_argon2):  # noqa: F811
    box = Box(tmp_path)
    # the site as the daemon builds it for [web] (the harness's config has no [web] section)
    box.web = WebSite(box.runner, config=WebConfig.from_config(box.daemon.config, 30),
                      now=box.money.now, daemon=box.daemon)
    yield box
    box.close()


def test_live_view_shows_alarms_and_calls(bx):
    create_operator(bx.store, "alice", "operator-pass-1", "admin", datetime.now(UTC))
    web = WebClient(bx.web, flush=bx.reactor.settle)  # the box runs the real DB pool
    op_login(web)
    live = web.get("/api/v1/ops/live").json()
    assert live["box"] is True and live["spans"][0]["ok"] is True
    assert live["spans"][0]["map"].count("B") == 30 and "D" in live["spans"][0]["map"]
    bx.account("13800138000")
    bx.phone("13800138000", answer_after=1.0)
    call = bx.switch.place_call("13800138000", ACCESS)
    assert bx.run_until(lambda: bool(web.get("/api/v1/ops/live").json()["calls"]), 5)
    calls = web.get("/api/v1/ops/live").json()["calls"]
    assert calls[0]["number"].endswith("13800138000") and calls[0]["direction"] == "in"
    bx.card.spans[0].raise_alarm("RED", "LOS")
    bx.run(1)
    page = web.get("/ops").text
    assert 'class="alarm"' in page and "RED" in page
    assert web.get("/api/v1/ops/live").json()["spans"][0]["alarms"] == ["RED", "LOS"]
    bx.card.spans[0].clear_alarm()
    bx.run_until(lambda: call.ended, 10)


def test_live_view_shows_a_conference_with_each_seat_on_its_timeslot(bx):
    create_operator(bx.store, "alice", "operator-pass-1", "admin", datetime.now(UTC))
    web = WebClient(bx.web, flush=bx.reactor.settle)  # the box runs the real DB pool
    op_login(web)
    a_num, b_num = "13800138000", "13900139000"
    bx.account(a_num)
    a = bx.phone(a_num, answer_after=1.0)
    b = bx.phone(b_num, answer_after=1.0)
    access = bx.switch.place_call(a_num, ACCESS)
    assert bx.run_until(lambda: access.ended and len(a.calls) == 2 and a.last.connected, 15)
    bx.run(1.5)
    a.press(b_num + "#")
    assert bx.run_until(lambda: bool(b.calls) and b.last.connected, 10)
    bx.run(1)
    (conf,) = web.get("/api/v1/ops/live").json()["conferences"]
    seats = {s["seat"]: s for s in conf["seats"]}
    assert seats[1]["role"] == "initiator" and seats[1]["number"].endswith(a_num)
    assert seats[2]["number"].endswith(b_num)
    legs = {leg.channo: leg for t in bx.trunks for leg in t.legs.values()}
    for seat in seats.values():
        leg = legs[seat["channel"]]
        assert (seat["span"], seat["timeslot"]) == (leg.trunk.name, leg.chanpos)
    page = web.get("/ops").text
    assert f"{seats[2]['span']}/{seats[2]['timeslot']}" in page
    bx.switch.hangup(a.last, 16)
    bx.run_until(lambda: b.last.ended, 5)
