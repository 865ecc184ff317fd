"""The JSON API in process: login, CSRF on writes, typed field errors in the caller's
language, refusals with stable codes, the OpenAPI document listing every route served."""
from __future__ import annotations

from confcall.rating import ops

from .conftest import PIN, A, B


def api_login(c, number="13800138000", pin=PIN):
    r = c.request("POST", "/api/v1/session", json_body={"number": number, "password": pin})
    assert r.code == 200, r.text
    return r.json()["csrf"]


def test_account_needs_a_session_and_login_gives_one(world):
    c = world.client()
    r = c.get("/api/v1/account")
    assert r.code == 401 and r.json()["error"]["code"] == "error.login_needed"
    api_login(c)
    r = c.get("/api/v1/account")
    assert r.json() == {"number": A, "balance_fen": 5000, "reserved_fen": 0,
                        "available_fen": 5000}


def test_wrong_password_and_unknown_number_answer_alike(world):
    c = world.client()
    r1 = c.request("POST", "/api/v1/session", json_body={"number": "13800138000",
                                                         "password": "111111"})
    r2 = c.request("POST", "/api/v1/session", json_body={"number": "13500135000",
                                                         "password": PIN})
    assert r1.code == r2.code == 403
    assert r1.json() == r2.json()


def test_writes_need_the_csrf_header(world):
    c = world.client()
    csrf = api_login(c)
    serial, pin = world.cards[0]
    body = {"serial": serial, "pin": pin, "number": "13900139000"}
    r = c.request("POST", "/api/v1/recharge", json_body=body)
    assert r.code == 403 and r.json()["error"]["code"] == "error.csrf"
    assert ops.balance(world.store, B).balance_fen == 1000
    r = c.request("POST", "/api/v1/recharge", json_body=body, headers={"X-CSRF-Token": csrf})
    assert r.code == 200 and r.json() == {"number": B, "balance_fen": 4000, "own": False}


def test_field_errors_are_typed_named_and_translated(world):
    c = world.client()
    csrf = api_login(c)
    h = {"X-CSRF-Token": csrf}
    r = c.request("POST", "/api/v1/recharge", json_body={"serial": 12, "pin": "x", "z": 1},
                  headers=h)
    err = r.json()["error"]
    assert r.code == 400
    assert {(f["field"], f["code"]) for f in err["fields"]} == {
        ("serial", "field.type"), ("pin", "field.digits"), ("z", "field.unknown")}
    r = c.request("POST", "/api/v1/recharge?lang=en", json_body={"serial": "1"}, headers=h)
    msgs = [f["message"] for f in r.json()["error"]["fields"]]
    assert "Card number: at least 6 characters" in msgs and "Card PIN: required" in msgs
    r = c.request("POST", "/api/v1/recharge", raw=b"[1,2", headers={
        **h, "Content-Type": "application/json"})
    assert r.code == 400 and r.json()["error"]["code"] == "error.bad_json"


def test_refusals_carry_the_service_key(world):
    c = world.client()
    csrf = api_login(c)
    serial, _pin = world.cards[0]
    r = c.request("POST", "/api/v1/recharge", json_body={"serial": serial, "pin": "000000000000"},
                  headers={"X-CSRF-Token": csrf})
    assert r.code == 403 and r.json()["error"]["code"] == "card.wrong_pin"
    r = c.request("POST", "/api/v1/recharge", json_body={
        "serial": serial, "pin": world.cards[0][1], "number": "13500135000"},
        headers={"X-CSRF-Token": csrf})
    assert r.code == 404 and r.json()["error"]["code"] == "account.unknown"
    assert ops.balance(world.store, A).balance_fen == 5000


def test_history_json(world):
    c = world.client()
    api_login(c)
    r = c.get("/api/v1/history?from=2026-11-01&to=2026-11-30")
    body = r.json()
    assert r.code == 200 and body["closing_fen"] == 5000
    assert [e["amount_fen"] for e in body["ledger"]] == [5000]
    r = c.get("/api/v1/history?from=2026-11-30&to=2026-11-01")
    assert r.code == 422 and r.json()["error"]["code"] == "period.order"


def test_openapi_lists_every_api_route(world):
    c = world.client()
    spec = c.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    served = set()
    for rule in world.site.app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/openapi.json":
            path = rule.rule.replace("<", "{").replace(">", "}")
            for m in rule.methods - {"HEAD", "OPTIONS"}:
                served.add((path, m.lower()))
    documented = {(p, m) for p, ops_ in spec["paths"].items() for m in ops_}
    assert served == documented
    from openapi_spec_validator import validate
    validate(spec)


def test_metrics_count_requests(world):
    c = world.client()
    c.get("/login")
    text = c.get("/metrics").text
    assert 'confcall_web_requests_total{method="GET",route="/login",status="200"}' in text
    assert "confcall_web_request_seconds_bucket" in text


def test_operator_api_login_and_roles(world):
    c = world.client()
    r = c.request("POST", "/api/v1/ops/session", json_body={"name": "alice",
                                                            "password": "nope-nope-nope"})
    assert r.code == 403 and r.json()["error"]["code"] == "operator.unknown"
    r = c.request("POST", "/api/v1/ops/session", json_body={"name": "victor",
                                                            "password": "viewer-pass-12"})
    h = {"X-CSRF-Token": r.json()["csrf"]}
    assert c.get("/api/v1/ops/accounts?q=138").json()[0]["number"] == A
    r = c.request("POST", f"/api/v1/ops/accounts/{A}/lock", headers=h)
    assert r.code == 403 and r.json()["error"]["code"] == "error.forbidden"
    assert c.get("/api/v1/account").code == 401, "an operator is not a subscriber"
