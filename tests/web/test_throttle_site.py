"""Login and card redemption through the real site are throttled per client address (the
money services' throttles, fed ``source="ip:<address>"``), and the owner, from another
address, is never locked out by an attacker's guesses.  Clients connect from different
loopback addresses (127.0.0.1, 127.0.0.2, 127.0.0.3) to `confcall web` in its own process."""
from __future__ import annotations

import http.client
import json

import pytest

from .server import PIN, PIN_B, A, SiteProcess, prepare


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("throttle")
    url, cards = prepare(tmp)
    proc = SiteProcess(url, tmp)
    yield proc.base, cards
    proc.stop()


class Client:
    """HTTP/1.1 from a chosen source address, with its own session cookie."""

    def __init__(self, base: str, source: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60,
                                               source_address=(source, 0))
        self.cookie = ""
        self.csrf = ""

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        if self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        self.conn.request("POST", path, json.dumps(body), headers)
        r = self.conn.getresponse()
        data = json.loads(r.read() or b"null")
        cookie = r.getheader("set-cookie")
        if cookie and cookie.startswith("confcall_session="):
            self.cookie = cookie.split(";")[0]
        return r.status, data

    def login(self, number: str, password: str) -> tuple[int, dict]:
        status, data = self.post("/api/v1/session", {"number": number, "password": password})
        if status == 200:
            self.csrf = data["csrf"]
        return status, data


def guesses_until_refused(attempt, wrong_answer: int, limit: int = 12) -> list[int]:
    """Statuses of repeated wrong guesses, up to the first 429."""
    seen: list[int] = []
    while len(seen) < limit:
        status, body = attempt()
        seen.append(status)
        if status == 429:
            return seen
        assert status == wrong_answer, body
    return seen


def test_password_guessing_is_throttled_per_address_and_the_owner_still_logs_in(site):
    base, _cards = site
    attacker = Client(base, "127.0.0.2")
    seen = guesses_until_refused(lambda: attacker.login("13800138000", "000000"), 403)
    assert seen[-1] == 429 and 3 <= len(seen) <= 8, seen  # a few free tries, then refused
    status, body = attacker.login("13800138000", PIN)  # even the right one, from there
    assert status == 429 and "locked" in body["error"]["code"], body
    owner = Client(base, "127.0.0.1")
    status, body = owner.login("13800138000", PIN)
    assert status == 200 and body["name"] == A, "the owner is not locked out"


def test_card_pin_guessing_is_throttled_and_the_card_still_works_for_its_holder(site):
    base, cards = site
    serial, pin = cards[-1]
    guesser = Client(base, "127.0.0.3")
    assert guesser.login("13900139000", PIN_B)[0] == 200
    seen = guesses_until_refused(lambda: guesser.post("/api/v1/recharge", {
        "serial": serial, "pin": "1" * len(pin)}), 403)
    assert seen[-1] == 429 and 3 <= len(seen) <= 8, seen
    holder = Client(base, "127.0.0.1")
    assert holder.login("13800138000", PIN)[0] == 200
    status, body = holder.post("/api/v1/recharge", {"serial": serial, "pin": pin})
    assert status == 200 and body["own"] is True, body
