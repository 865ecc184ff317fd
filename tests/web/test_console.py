"""The operator console: its own logins and roles, account and card actions through the
money services, every action in the audit log, CDR filters, the live view of the box."""
from __future__ import annotations

from confcall.rating import ops

from .conftest import A, B


def op_login(c, name="alice", password="operator-pass-1"):
    page = c.get("/ops/login").text
    return c.post("/ops/login", {"nonce": c.hidden(page, "nonce"), "name": name,
                                 "password": password}, follow=True)


def test_operator_login_is_separate_from_subscribers(world):
    c = world.client()
    assert c.get("/ops").code == 303
    assert op_login(c, "alice", "wrong-password").code == 403
    assert op_login(c, "nobody", "operator-pass-1").code == 403
    r = op_login(c)
    assert r.code == 200 and "运营控制台" in r.text
    assert c.get("/").code == 303, "an operator session is not a subscriber session"
    sub = world.client()
    sub.login("13800138000", "482913")
    assert sub.get("/ops/accounts").code == 303


def test_adjust_lock_unlock_are_audited_and_move_exact_fen(world):
    c = world.client()
    op_login(c)
    r = c.submit("/ops/accounts", "/ops/accounts", {"action": "adjust", "number": A,
                                                     "amount_fen": "-1234",
                                                     "reason": "refund of a double charge"})
    assert r.code == 200 and "37.66" in r.text
    assert ops.balance(world.store, A).balance_fen == 5000 - 1234
    r = c.submit("/ops/accounts", "/ops/accounts", {"action": "adjust", "number": A,
                                                     "amount_fen": "10", "reason": ""})
    assert r.code == 400 and "原因：必填" in r.text
    c.submit("/ops/accounts", "/ops/accounts", {"action": "lock", "number": A})
    assert world.client().login("13800138000", "482913").code == 403
    c.submit("/ops/accounts", "/ops/accounts", {"action": "unlock", "number": A})
    audit = c.get("/api/v1/ops/audit").json()
    assert [(e["action"], e["outcome"]) for e in audit[:3]] == [
        ("account.unlock", "ok"), ("account.lock", "ok"), ("account.adjust", "ok")]
    assert audit[2]["operator"] == "alice" and "refund of a double charge" in audit[2]["detail"]


def test_viewer_cannot_act(world):
    c = world.client()
    op_login(c, "victor", "viewer-pass-12")
    page = c.get("/ops/accounts").text
    assert 'value="adjust"' not in page
    r = c.post("/ops/accounts", {"csrf": c.hidden(c.get("/ops/rates").text, "csrf"),
                                 "action": "lock", "number": A})
    assert r.code == 403
    assert ops.balance(world.store, A).balance_fen == 5000


def test_card_batch_generate_activate_export(world):
    c = world.client()
    op_login(c)
    r = c.submit("/ops/cards", "/ops/cards", {"action": "generate", "label": "shop 7",
                                               "count": "3", "value_fen": "5000",
                                               "expires": "2027-12-31"})
    assert r.code == 200 and r.header("content-type").startswith("text/csv")
    rows = r.text.splitlines()[1:]
    assert len(rows) == 3
    batch, serial, pin = rows[0].split(",")
    r = c.submit("/ops/cards", "/ops/cards", {"action": "activate", "batch": batch})
    assert r.code == 200
    assert ops.recharge_by_card(world.store, A, serial, pin, source="cli").balance_fen == 10_000
    export = c.get(f"/ops/cards/{batch}/export.csv").text
    assert f"{batch},{serial},used" in export and pin not in export


def test_rates_quote_and_cdrs(world):
    c = world.client()
    op_login(c)
    r = c.submit("/ops/rates", "/ops/rates", {"action": "quote", "payer": A,
                                               "dialled": "13900139000", "duration_s": "90"})
    assert r.code == 200 and 'id="quote"' in r.text
    r = c.get("/ops/cdrs?cls=nonsense")
    assert r.code == 400
    assert c.get("/ops/cdrs?number=138").code == 200
    csv = c.get("/ops/rates/default.csv")
    assert csv.code == 200 and "," in csv.text


def test_live_view_without_a_box_says_so(world):
    c = world.client()
    op_login(c)
    assert "未连接交换设备" in c.get("/ops").text
    assert c.get("/api/v1/ops/live").json()["box"] is False


def test_operator_sees_every_booking_and_cancels_one_audited(world):
    sub = world.client()
    sub.login("13800138000", "482913")
    page = sub.get("/book").text
    sub.post("/book", {"csrf": sub.hidden(page, "csrf"), "participants": "13900139000",
                       "start": "2026-11-25T18:00", "timezone": "Asia/Shanghai",
                       "action": "book"})
    c = world.client()
    op_login(c)
    listing = c.get("/ops/bookings").text
    booking_id = listing.split('<tr data-id="')[1].split('"')[0]
    assert 'data-state="booked"' in listing and A in listing
    r = c.post(f"/ops/bookings/{booking_id}/cancel", {"csrf": c.hidden(listing, "csrf")})
    assert r.code == 200 and f'data-id="{booking_id}" data-state="cancelled"' in r.text
    audit = c.get("/api/v1/ops/audit").json()[0]
    assert (audit["action"], audit["target"], audit["outcome"]) == (
        "booking.cancel", booking_id, "ok")


def test_rates_import_replaces_a_plan_and_bad_files_change_nothing(world):
    c = world.client()
    op_login(c)
    before = c.get("/ops/rates/default.csv").text
    r = c.submit("/ops/rates", "/ops/rates", {"action": "import", "plan": "default",
                                               "csv": "not,a,rate,file\n1,2"})
    assert r.code == 422 and "费率文件" in r.text
    assert c.get("/ops/rates/default.csv").text == before
    r = c.submit("/ops/rates", "/ops/rates", {"action": "import", "plan": "night",
                                               "csv": before})
    assert r.code == 200
    assert c.get("/ops/rates/night.csv").text == before
    audit = c.get("/api/v1/ops/audit").json()
    assert [(e["action"], e["target"], e["outcome"]) for e in audit[:2]] == [
        ("rates.import", "night", "ok"), ("rates.import", "default", "refused")]


def test_void_batch_makes_its_cards_unusable(world):
    c = world.client()
    op_login(c)
    batch = c.get("/api/v1/ops/card-batches").json()[0]["id"]
    r = c.submit("/ops/cards", "/ops/cards", {"action": "void", "batch": str(batch)})
    assert r.code == 200
    import pytest

    from confcall.rating.errors import MoneyError
    serial, pin = world.cards[0]
    with pytest.raises(MoneyError) as e:
        ops.recharge_by_card(world.store, A, serial, pin, source="cli")
    assert e.value.key == "card.state"


def test_operator_opens_an_account_that_can_then_log_in_audited(world):
    c = world.client()
    op_login(c)
    r = c.submit("/ops/accounts", "/ops/accounts", {"action": "create",
                                                     "number": "13600136000", "pin": "739182",
                                                     "area": "", "plan": ""})
    assert r.code == 200 and "+8613600136000" in r.text
    assert ops.balance(world.store, "+8613600136000").balance_fen == 0
    home = world.client().login("13600136000", "739182")
    assert home.code == 200 and "0.00" in home.text, "the new subscriber logs in"
    r = c.submit("/ops/accounts", "/ops/accounts", {"action": "create",
                                                     "number": "13600136000", "pin": "739182"})
    assert r.code == 422, "an account exists once"
    r = c.submit("/ops/accounts", "/ops/accounts", {"action": "create", "number": "1360013",
                                                     "pin": "12"})
    assert r.code == 400
    csrf = c.hidden(c.get("/ops/rates").text, "csrf")
    r = c.request("POST", "/api/v1/ops/accounts", headers={"X-CSRF-Token": csrf},
                  json_body={"number": "13500135000", "pin": "529174"})
    assert r.code == 201 and r.json() == {"number": "+8613500135000"}
    audit = c.get("/api/v1/ops/audit").json()
    assert [(e["action"], e["target"], e["outcome"]) for e in audit[:3]] == [
        ("account.create", "13500135000", "ok"), ("account.create", "13600136000", "refused"),
        ("account.create", "13600136000", "ok")]
    viewer = world.client()
    op_login(viewer, "victor", "viewer-pass-12")
    r = viewer.request("POST", "/api/v1/ops/accounts", json_body={
        "number": "13300133000", "pin": "529174"},
        headers={"X-CSRF-Token": viewer.hidden(viewer.get("/ops/rates").text, "csrf")})
    assert r.code == 403


def test_operator_pages_through_every_booking_newest_start_first(world):
    """/ops/bookings a page at a time: following "more" shows every account's bookings once,
    latest start first (``list_all``'s order); a bad page size or cursor is a 400 naming it."""
    import re
    from datetime import timedelta

    from confcall.booking import list_all

    for number in (A, B):
        ops.adjust(world.store, number, 1_000_000, f"fund-more-{number}", "test funding",
                   now=world.clock.now)
    made = []
    for number, pin, n in (("13800138000", "482913", 4), ("13900139000", "604729", 2)):
        api = world.client()
        r = api.request("POST", "/api/v1/session", json_body={"number": number,
                                                              "password": pin})
        h = {"X-CSRF-Token": r.json()["csrf"]}
        for k in range(n):  # two at the same start (the id breaks the tie)
            start = world.clock.now + timedelta(hours=2, minutes=(5 * k) % 3 + 10 * (n == 2))
            r = api.request("POST", "/api/v1/bookings", headers=h, json_body={
                "participants": ["13700137000"], "start": start.isoformat()})
            assert r.code == 201, r.text
            made.append(r.json()["id"])
    c = world.client()
    op_login(c)
    seen, pages, path = [], 0, "/ops/bookings?limit=4"
    while path:
        page = c.get(path)
        assert page.code == 200
        seen += [int(i) for i in re.findall(r'<tr data-id="(\d+)"', page.text)]
        pages += 1
        m = re.search(r'id="more" href="([^"]+)"', page.text)
        path = m.group(1).replace("&amp;", "&") if m else None
    assert pages == 2
    assert seen == [v.id for v in world.store.run(list_all)]
    assert sorted(seen) == sorted(made)
    assert B in c.get("/ops/bookings").text and A in c.get("/ops/bookings").text
    for query, label in (("limit=0", "每页条数"), ("cursor=zz", "翻页位置")):
        r = c.get(f"/ops/bookings?{query}")
        assert r.code == 400 and label in r.text and '<tr data-id="' not in r.text, query
    assert world.client().get("/ops/bookings?limit=2").code == 303, "the session first"
