"""Subscriber self-care through the real site in process: what the subscriber sees, and the
fen that moved."""
from __future__ import annotations

from confcall.rating import ops

from .conftest import PIN, A, B


def test_login_shows_balance_and_wrong_password_is_refused_in_the_page_language(world):
    c = world.client()
    r = c.login("13800138000", "000000")
    assert r.code == 403 and "号码或密码错误" in r.text
    assert "confcall_session" not in c.cookies
    c.get("/lang/en")
    r = c.login("13800138000", "111111")
    assert "Wrong number or password" in r.text
    r = c.login("13800138000", PIN)
    assert r.code == 200 and 'id="balance">¥50.00' in r.text


def test_unknown_number_answers_like_a_wrong_password(world):
    c = world.client()
    r1 = c.login("13500135000", PIN)
    r2 = c.login("13800138000", "999999")
    assert r1.code == r2.code == 403
    assert "号码或密码错误" in r1.text and "号码或密码错误" in r2.text


def test_pages_need_a_login(world):
    r = world.client().get("/recharge")
    assert r.code == 303 and r.header("location").startswith("/login?next=/recharge")


def test_recharge_own_and_named_number(world):
    c = world.client()
    c.login("13800138000", PIN)
    serial, pin = world.cards[0]
    r = c.submit("/recharge", "/recharge", {"serial": serial, "pin": pin})
    assert r.code == 200 and "新余额 80.00 元" in r.text
    serial, pin = world.cards[1]
    r = c.submit("/recharge", "/recharge", {"number": "13900139000", "serial": serial,
                                            "pin": pin})
    assert r.code == 200 and "+8613900139000" in r.text
    assert ops.balance(world.store, B).balance_fen == 1_000 + 3_000
    assert ops.balance(world.store, A).balance_fen == 5_000 + 3_000


def test_recharge_refusals_name_the_field_and_move_nothing(world):
    c = world.client()
    c.login("13800138000", PIN)
    r = c.submit("/recharge", "/recharge", {"serial": "12ab", "pin": ""})
    assert r.code == 400
    assert "卡号：只能是数字" in r.text and "卡密码：必填" in r.text
    serial, _pin = world.cards[2]
    r = c.submit("/recharge", "/recharge", {"serial": serial, "pin": "000000000000"})
    assert r.code == 422 and "充值卡密码错误" in r.text
    r = c.submit("/recharge", "/recharge", {"number": "13500135000", "serial": serial,
                                            "pin": world.cards[2][1]})
    assert r.code == 422 and "没有账户" in r.text
    assert ops.balance(world.store, A).balance_fen == 5_000


def test_forged_form_without_csrf_token_changes_nothing(world):
    c = world.client()
    c.login("13800138000", PIN)
    serial, pin = world.cards[0]
    r = c.post("/recharge", {"serial": serial, "pin": pin})
    assert r.code == 403 and "表单已过期" in r.text
    r = c.post("/recharge", {"serial": serial, "pin": pin, "csrf": c.cookies["confcall_session"]})
    assert r.code == 403, "the session id is not the CSRF token"
    assert ops.balance(world.store, A).balance_fen == 5_000


def test_password_change_then_login_with_it_and_the_old_one_fails(world):
    c = world.client()
    c.login("13800138000", PIN)
    other = world.client()
    other.login("13800138000", PIN)
    r = c.submit("/password", "/password", {"old": PIN, "new": "735194", "confirm": "735195"})
    assert r.code == 422 and "两次输入的新密码不一致" in r.text
    r = c.submit("/password", "/password", {"old": PIN, "new": "735194", "confirm": "735194"})
    assert r.code == 200 and "密码已修改" in r.text
    assert c.get("/").code == 200, "this browser keeps a fresh session"
    assert other.get("/").code == 303, "other sessions end with the old password"
    assert world.client().login("13800138000", PIN).code == 403
    assert world.client().login("13800138000", "735194").code == 200
    assert ops.authenticate(world.store, A, "735194", source="cli") == A  # the IVR's password too


def test_history_and_csv(world):
    c = world.client()
    c.login("13800138000", PIN)
    r = c.get("/history?from=2026-11-01&to=2026-11-30")
    assert r.code == 200 and "调账" in r.text and "50.00" in r.text
    r = c.get("/history.csv?from=2026-11-01&to=2026-11-30")
    assert r.code == 200 and r.header("content-type").startswith("text/csv")
    lines = r.body.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("section,time") and lines[1].startswith("ledger,")
    assert ",5000,5000," in lines[1]
    r = c.get("/history?from=2026-13-01")
    assert r.code == 400 and "从：格式为 年-月-日" in r.text


def test_security_headers_and_cookie_flags(world):
    c = world.client()
    r = c.get("/login")
    csp = r.header("content-security-policy")
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert r.header("x-content-type-options") == "nosniff"
    page = c.get("/login").text
    r = c.post("/login", {"nonce": c.hidden(page, "nonce"), "number": "13800138000",
                          "password": PIN})
    cookie = next(h for h in r.headers["set-cookie"] if h.startswith("confcall_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    assert token not in c.get("/").text, "the session id never appears in a page"


def test_errors_never_show_a_traceback(world, monkeypatch):
    c = world.client()
    c.login("13800138000", PIN)

    def boom(*a, **k):
        raise RuntimeError("SELECT secret FROM accounts")
    monkeypatch.setattr(ops, "balance", boom)
    r = c.get("/")
    assert r.code == 500 and "服务器内部错误" in r.text
    assert "Traceback" not in r.text and "SELECT" not in r.text
    r = c.get("/no/such/page")
    assert r.code == 404 and "页面不存在" in r.text
    r = c.get("/api/v1/account")
    assert r.code == 500 and r.json()["error"]["code"] == "error.internal"


def test_with_tls_configured_the_session_cookie_is_secure(world):
    from confcall.web import WebConfig, WebSite

    from .webclient import WebClient
    site = WebSite(world.site.runner, config=WebConfig(tls_cert="cert.pem", tls_key="key.pem"),
                   now=world.clock)
    c = WebClient(site)
    page = c.get("/login").text
    r = c.post("/login", {"nonce": c.hidden(page, "nonce"), "number": "13800138000",
                          "password": PIN})
    cookie = next(h for h in r.headers["set-cookie"] if h.startswith("confcall_session="))
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_language_switch_never_redirects_off_site(world):
    c = world.client()
    for nxt in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        r = c.get(f"/lang/en?next={nxt}")
        assert r.code == 303 and r.header("location") == "/"
    r = c.get("/lang/en?next=/history")
    assert r.header("location") == "/history" and c.cookies["confcall_lang"] == "en"


def test_oversized_body_is_refused_before_parsing(world):
    c = world.client()
    r = c.post("/login", {"nonce": "x", "number": "1" * (2 * 1024 * 1024)})
    assert r.code == 413
