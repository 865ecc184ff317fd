"""Booking through the site in process, on the booking service: book a 3-party call, see it
with its state, check classes and prices, cancel, and find that another subscriber's ids
answer exactly like ids that do not exist."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from confcall.store.models import Booking

from .conftest import PIN, PIN_B

START = "2026-11-25T15:30"  # local time in Shanghai, 3.5 h after the test clock's now


def book(c, participants="13900139000\n13700137000", start=START, **extra):
    fields = {"participants": participants, "start": start, "timezone": "Asia/Shanghai",
              "retry_count": "2", "retry_interval_s": "60", "action": "book", **extra}
    return c.submit("/book", "/book", fields)


def rows(world):
    with world.store.transaction() as s:
        return s.scalars(select(Booking).order_by(Booking.id)).all()


def test_book_a_three_party_call_and_see_it_listed(world):
    c = world.client()
    c.login("13800138000", PIN)
    r = book(c)
    assert r.code == 303
    loc = r.header("location")
    assert loc.startswith("/bookings/") and loc.endswith("?booked=1")
    page = c.get(loc).text
    assert "预约成功" in page and "已预约" in page and "2026-11-25 15:30" in page
    assert "+8613900139000, +8613700137000" in page
    (b,) = rows(world)
    assert b.start_at.isoformat() == "2026-11-25T07:30:00+00:00", "stored UTC"
    assert b.retries == 2 and b.retry_interval_s == 60
    listing = c.get("/bookings").text
    assert f'data-id="{b.id}" data-state="booked"' in listing


def test_check_shows_class_and_price_and_refusals(world):
    c = world.client()
    c.login("13800138000", PIN)
    r = c.submit("/book", "/book", {"participants": "13900139000\n110\n13800138000",
                                    "start": START, "action": "check"})
    assert r.code == 200
    assert 'id="quotes"' in r.text and "手机" in r.text
    assert "不允许呼叫" in r.text  # 110: an emergency number is never dialled out
    assert "不能呼叫自己的号码" in r.text
    assert rows(world) == []


def test_refusals_name_the_reason_and_store_nothing(world):
    c = world.client()
    c.login("13800138000", PIN)
    r = book(c, start="2026-11-25T09:00")
    assert r.code == 422 and "已经过去" in r.text
    r = book(c, participants="13900139000\n13900139000")
    assert r.code == 422 and "重复" in r.text
    r = book(c, start="nonsense")
    assert r.code == 400 and "开始时间：格式为 年-月-日 时:分" in r.text
    r = book(c, retry_count="99")
    assert r.code == 400 and "未接通时重拨次数：必须在 0 到 5 之间" in r.text
    assert rows(world) == []


def test_cancel_and_the_dialler_winning_the_race(world):
    c = world.client()
    c.login("13800138000", PIN)
    first = book(c).header("location").split("?")[0]
    second = book(c, start="2026-11-25T16:00").header("location").split("?")[0]
    r = c.submit(first, first + "/cancel", {})
    assert r.code == 200 and "预约已取消" in r.text
    with world.store.transaction() as s:  # a box claims and starts dialling the second
        b = s.get(Booking, int(second.rsplit("/", 1)[1]))
        b.state = "dialing"
    page = c.get(second).text
    assert 'id="cancel"' not in page
    r = c.post(second + "/cancel", {"csrf": c.hidden(c.get("/bookings").text, "csrf")})
    assert r.code == 409 and "已开始呼叫，无法取消" in r.text
    states = [b.state for b in rows(world)]
    assert states == ["cancelled", "dialing"]


def test_another_subscribers_booking_is_like_a_missing_one(world):
    a = world.client()
    a.login("13800138000", PIN)
    mine = a.get(book(a).header("location")).text
    booking_id = int(rows(world)[0].id)
    b = world.client()
    b.login("13900139000", PIN_B)
    for path in (f"/bookings/{booking_id}", f"/bookings/{booking_id}/calendar.ics",
                 "/bookings/999999"):
        r = b.get(path)
        assert r.code == 404 and "页面不存在" in r.text, path
    r = b.post(f"/bookings/{booking_id}/cancel", {"csrf": b.hidden(b.get("/bookings").text,
                                                                   "csrf")})
    assert r.code == 404
    api = b.get(f"/api/v1/bookings/{booking_id}")
    missing = b.get("/api/v1/bookings/999999")
    assert api.code == missing.code == 404 and api.json() == missing.json()
    assert "+8613900139000" not in b.get("/bookings").text.split("<main>")[1] or \
        f'data-id="{booking_id}"' not in b.get("/bookings").text
    assert rows(world)[0].state == "booked"
    assert "已预约" in mine


def test_calendar_file_and_participant_page(world):
    c = world.client()
    c.login("13800138000", PIN)
    loc = book(c).header("location").split("?")[0]
    ics = c.get(loc + "/calendar.ics")
    assert ics.code == 200 and ics.header("content-type").startswith("text/calendar")
    assert "DTSTART:20261125T073000Z" in ics.text
    share = c.hidden(c.get(loc).text.replace('id="share" href=', 'name="share" value='),
                     "share")
    anon = world.client()
    page = anon.get(share)
    assert page.code == 200 and "2026-11-25 15:30" in page.text
    assert "+86138****8000" in page.text and "13900139000" not in page.text
    assert anon.get(share[:-1] + ("0" if share[-1] != "0" else "1")).code == 404


def test_api_booking_roundtrip(world):
    c = world.client()
    r = c.request("POST", "/api/v1/session", json_body={"number": "13800138000",
                                                         "password": PIN})
    h = {"X-CSRF-Token": r.json()["csrf"]}
    start = (world.clock.now + timedelta(hours=2)).isoformat()
    r = c.request("POST", "/api/v1/bookings", headers=h, json_body={
        "participants": ["13900139000", "13700137000"], "start": start, "music": True})
    assert r.code == 201, r.text
    made = r.json()
    assert made["state"] == "booked" and made["music"] is True
    assert made["start"] == "2026-11-25T06:00:00Z"
    r = c.request("POST", "/api/v1/bookings", headers=h, json_body={
        "participants": ["13900139000"], "start": "2026-11-25T06:00:00"})
    assert r.code == 400 and r.json()["error"]["field"] == "start"
    assert [b["id"] for b in c.get("/api/v1/bookings").json()] == [made["id"]]
    r = c.request("POST", f"/api/v1/bookings/{made['id']}/cancel", headers=h)
    assert r.code == 200 and r.json()["state"] == "cancelled"
    r = c.request("POST", f"/api/v1/bookings/{made['id']}/cancel", headers=h)
    assert r.code == 200 and r.json()["state"] == "cancelled", "a repeated cancel is a no-op"


def test_api_booking_checks_the_session_in_its_own_unit_with_the_usual_answers(world):
    """The API books and lists with the session looked up inside the booking's own unit of
    work: no session, a wrong CSRF token, an operator's session, a logged-out session and a
    malformed body still get the answers every other write gets, and nothing is stored."""
    body = {"participants": ["13900139000"], "start": (world.clock.now + timedelta(hours=2))
            .isoformat()}
    anon = world.client()
    r = anon.request("POST", "/api/v1/bookings", json_body=body)
    assert r.code == 401 and r.json()["error"]["code"] == "error.login_needed"
    assert anon.get("/api/v1/bookings").code == 401
    c = world.client()
    csrf = c.request("POST", "/api/v1/session", json_body={
        "number": "13800138000", "password": PIN}).json()["csrf"]
    r = c.request("POST", "/api/v1/bookings", json_body=body, headers={"X-CSRF-Token": "x"})
    assert r.code == 403 and r.json()["error"]["code"] == "error.csrf"
    r = c.request("POST", "/api/v1/bookings", json_body=body)
    assert r.code == 403 and r.json()["error"]["code"] == "error.csrf"
    ops = world.client()
    ops_csrf = ops.request("POST", "/api/v1/ops/session", json_body={
        "name": "alice", "password": "operator-pass-1"}).json()["csrf"]
    r = ops.request("POST", "/api/v1/bookings", json_body=body,
                    headers={"X-CSRF-Token": ops_csrf})
    assert r.code == 401, "an operator is not a subscriber"
    assert rows(world) == []
    # malformed: the same precedence as everywhere (session, CSRF, then the fields)
    r = anon.request("POST", "/api/v1/bookings", json_body={"participants": []})
    assert r.code == 401
    r = c.request("POST", "/api/v1/bookings", json_body={"participants": []},
                  headers={"X-CSRF-Token": csrf})
    assert r.code == 400 and r.json()["error"]["field"] == "participants"
    r = c.request("POST", "/api/v1/bookings", headers={"X-CSRF-Token": csrf,
                                                       "Content-Type": "application/json"},
                  raw=b"{not json")
    assert r.code == 400 and r.json()["error"]["code"] == "error.bad_json"
    r = c.request("POST", "/api/v1/bookings", json_body=body, headers={"X-CSRF-Token": csrf})
    assert r.code == 201 and [b["id"] for b in c.get("/api/v1/bookings").json()] == \
        [r.json()["id"]]
    assert c.request("DELETE", "/api/v1/session", headers={"X-CSRF-Token": csrf}).code == 204
    r = c.request("POST", "/api/v1/bookings", json_body=body, headers={"X-CSRF-Token": csrf})
    assert r.code == 401 and len(rows(world)) == 1


def test_every_dial_attempt_is_shown_with_time_number_result_and_cause(world):
    """Once a booking has run, its page and the API list every dial (the scheduler's rows,
    written here as a box would): local time, the number dialled, the try, the result in the
    page's language and the network's cause."""
    from datetime import UTC, datetime

    from confcall.store.models import BookingAttempt
    c = world.client()
    c.login("13800138000", PIN)
    path = book(c).header("location").split("?")[0]
    booking_id = int(path.rsplit("/", 1)[1])
    at = datetime(2026, 11, 25, 7, 30, tzinfo=UTC)  # 15:30 in Shanghai
    with world.store.transaction() as s:
        s.get(Booking, booking_id).state = "done"
        for i, (pos, number, no, result, cause) in enumerate((
                (0, "13800138000", 1, "answered", 16), (1, "13900139000", 1, "busy", 17),
                (1, "13900139000", 2, "answered", 16), (2, "13700137000", 1, "no_answer", 19))):
            s.add(BookingAttempt(reference=f"t-{i}", booking_id=booking_id, position=pos,
                                 attempt_no=no, number=number, box="box1",
                                 started_at=at + timedelta(seconds=70 * i), answered_at=None,
                                 ended_at=at + timedelta(seconds=70 * i + 30), result=result,
                                 cause=cause))
    page = c.get(path).text
    table = page.split('id="attempts"')[1].split("</table>")[0]
    rows_ = table.split("<tr>")[2:]
    assert len(rows_) == 4
    assert "15:31" in rows_[1] and "13900139000" in rows_[1] and "忙" in rows_[1] and \
        "17" in rows_[1]
    assert "无人接听" in rows_[3] and "13700137000" in rows_[3]
    c.get("/lang/en?next=/")
    assert "no answer" in c.get(path).text.split('id="attempts"')[1]
    api = c.get(f"/api/v1/bookings/{booking_id}").json()
    assert [(a["number"], a["attempt"], a["result"], a["cause"]) for a in api["attempts"]] == [
        ("13800138000", 1, "answered", 16), ("13900139000", 1, "busy", 17),
        ("13900139000", 2, "answered", 16), ("13700137000", 1, "no_answer", 19)]
    assert api["state"] == "done" and api["attempts"][1]["time"] == "2026-11-25T07:31:10Z"


def test_a_booking_that_cannot_be_served_is_refused_with_the_reason(world):
    """No credit for the expected length, too many participants, no channels left at that
    time: each refused with its reason on the page and in the API, nothing stored."""
    from confcall.booking import BookingLimits
    from confcall.store.inline import InlineRunner
    from confcall.web import WebConfig, WebSite

    from .webclient import WebClient
    site = WebSite(InlineRunner(world.store), now=world.clock,
                   config=WebConfig(limits=BookingLimits(max_participants=3, channels=5)))
    b = WebClient(site)
    b.login("13900139000", PIN_B)  # 10 yuan: not 30 minutes with two others
    r = book(b, participants="13800138000\n13700137000")
    assert r.code == 422 and "余额不足以支持全体通话 30 分钟" in r.text
    a = WebClient(site)
    a.login("13800138000", PIN)
    r = book(a, participants="13900139000\n13700137000\n13600136000\n13500135000")
    assert r.code == 400 and "最多 3 项" in r.text
    assert rows(world) == []
    assert book(a).code == 303  # 3 channels of 5
    r = book(a, participants="13900139000\n13600136000")
    assert r.code == 422 and "时线路不足：需要 3 条，空闲 2 条" in r.text
    csrf = a.request("POST", "/api/v1/session", json_body={
        "number": "13800138000", "password": PIN}).json()["csrf"]
    r = a.request("POST", "/api/v1/bookings", headers={"X-CSRF-Token": csrf}, json_body={
        "participants": ["13900139000", "13600136000"], "start": "2026-11-25T15:45:00+08:00"})
    assert r.code == 409 and r.json()["error"]["code"] == "booking.capacity"
    a.get("/lang/en?next=/")
    r = book(a, participants="13900139000\n13600136000")
    assert r.code == 422 and "not enough lines at" in r.text
    assert len(rows(world)) == 1
