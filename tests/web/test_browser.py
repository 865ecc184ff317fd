"""The site in real headless Chromium against the real server process: a subscriber logs
in, recharges another's number, changes the password and logs in with it; Chinese pages
render Hanzi (screenshot kept in tests/web/artifacts/); the same in English."""
from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from confcall.rating import ops
from confcall.store import Store

from .browser import ARTIFACTS, GLYPH_CHECK, launch
from .server import PIN, B, SiteProcess, prepare


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    url, cards = prepare(tmp)
    proc = SiteProcess(url, tmp)
    with sync_playwright() as p:
        browser = launch(p)
        yield proc.base, url, cards, browser
        browser.close()
    proc.stop()


def new_page(browser, base, lang="zh"):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    if lang == "en":
        page.goto(base + "/lang/en?next=/login")
    return page


def login(page, base, number, password):
    page.goto(base + "/login")
    page.fill("#number", number)
    page.fill("#password", password)
    page.click("#login")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_recharge_another_number_in_the_browser(served, lang):
    base, url, cards, browser = served
    page = new_page(browser, base, lang)
    login(page, base, "13800138000", PIN)
    assert page.inner_text("#balance") in ("50.00 元", "¥50.00")
    page.click("a[href='/recharge']")
    serial, pin = cards[0 if lang == "zh" else 1]
    page.fill("#number", "13900139000")
    page.fill("#serial", serial)
    page.fill("#pin", pin)
    page.click("#recharge")
    status = page.inner_text("p.ok")
    assert "+8613900139000" in status
    assert ("新余额" if lang == "zh" else "new balance") in status
    store = Store(url)
    try:
        expected = 1_000 + 3_000 * (1 if lang == "zh" else 2)
        assert ops.balance(store, B).balance_fen == expected
    finally:
        store.dispose()
    page.context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_password_change_then_login_with_it(served, lang):
    base, _url, _cards, browser = served
    number = "13800138000"
    old, new = (PIN, "735194") if lang == "zh" else ("735194", "916372")
    page = new_page(browser, base, lang)
    login(page, base, number, old)
    page.click("a[href='/password']")
    page.fill("#old", old)
    page.fill("#new", new)
    page.fill("#confirm", new)
    page.click("#change")
    assert ("密码已修改" if lang == "zh" else "Password changed") in page.inner_text("p.ok")
    page.click("#logout")
    login(page, base, number, old)
    assert page.url.endswith("/login"), "the old password no longer works"
    login(page, base, number, new)
    assert page.locator("#balance").count() == 1
    page.context.close()


def test_chinese_page_renders_hanzi_not_boxes(served):
    base, _url, _cards, browser = served
    page = new_page(browser, base)
    page.goto(base + "/login")
    title = page.inner_text("h1")
    assert title == "登录"
    text = "会议电话预约充值余额密码"
    shown = page.evaluate(GLYPH_CHECK, text)
    assert shown == {"n": len(text), "distinct": len(text), "boxes": 0, "blank": 0}
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "login-zh.png"), full_page=True)
    page.goto(base + "/lang/en?next=/login")
    assert page.inner_text("h1") == "Log in"
    page.screenshot(path=str(ARTIFACTS / "login-en.png"), full_page=True)
    page.context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_book_three_party_call_see_it_listed_cancel_another(served, lang):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo
    base, _url, _cards, browser = served
    page = new_page(browser, base, lang)
    number, pin = ("13900139000", "604729")  # B: A's password changes in another test
    login(page, base, number, pin)
    when = datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1 if lang == "zh" else 2)
    starts = []
    for hour in (10, 11):
        page.click("a[href='/book']")
        page.fill("#participants", "13800138000\n13700137000")
        start = when.replace(hour=hour, minute=30).strftime("%Y-%m-%dT%H:%M")
        page.fill("#start", start)
        page.click("#book")
        assert ("预约成功" if lang == "zh" else "Booked") in page.inner_text("p.ok")
        assert page.inner_text("#participants") == "+8613800138000, +8613700137000"
        starts.append(start.replace("T", " "))
    page.click("a[href='/bookings']")
    items = page.locator("#bookings li[data-state='booked']")
    texts = [items.nth(i).inner_text() for i in range(items.count())]
    assert all(any(s in t for t in texts) for s in starts), texts
    target = page.locator("#bookings li", has_text=starts[1])
    target.locator("button.cancel").click()
    assert ("预约已取消" if lang == "zh" else "Booking cancelled") in page.inner_text("p.ok")
    page.click("a[href='/bookings']")
    assert page.locator("#bookings li", has_text=starts[1]).get_attribute(
        "data-state") == "cancelled"
    assert page.locator("#bookings li", has_text=starts[0]).get_attribute(
        "data-state") == "booked"
    page.context.close()
