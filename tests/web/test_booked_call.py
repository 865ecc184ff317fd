"""End to end on the simulated span, in virtual time: a subscriber books a conference through
the site served by the box itself (its [web] site on the box's reactor and DB runner, driven
in process), and at the booked time the box dials the initiator, then the participants, who
hear the same flow as in phone mode and each other."""
from __future__ import annotations

import pytest

from tests.conference.box_harness import (
    NOW,
    Box,
    audio,
    heard_prompt,
    voice_level,
)
from tests.pgcluster import cheap_argon2  # noqa: F401

from .webclient import WebClient

A, B, C = "13800138000", "13900139000", "13700137000"
A_HZ, B_HZ, C_HZ = 350.0, 450.0, 550.0


@pytest.fixture
def bx(tmp_path, cheap_argon2):  # noqa: F811
    box = Box(tmp_path, config_overrides={"web_enabled": True})
    yield box
    box.close()


def test_booking_made_on_the_site_is_dialled_at_its_time(bx):
    bx.account(A, pin="482913")
    a = bx.phone(A, answer_after=1.0, voice_hz=A_HZ)
    b = bx.phone(B, answer_after=2.0, voice_hz=B_HZ)
    c = bx.phone(C, answer_after=3.0, voice_hz=C_HZ)
    web = WebClient(bx.daemon.web, flush=bx.reactor.settle)  # the box runs the real DB pool
    assert web.login(A, "482913").code == 200
    # NOW is 20:00 in Shanghai: book for 20:01, i.e. 60 virtual seconds from the start
    assert NOW.isoformat() == "2026-11-25T12:00:00+00:00"
    r = web.submit("/book", "/book", {"participants": f"{B}\n{C}", "start": "2026-11-25T20:01",
                                      "timezone": "Asia/Shanghai", "retry_count": "1",
                                      "retry_interval_s": "30", "action": "book"})
    assert r.code == 303, r.text
    page = r.header("location").split("?")[0]
    assert bx.run_until(lambda: bool(a.calls), 90)
    cb = a.last
    assert 60.0 <= cb.started_at <= 60.1, "dialled at the booked time, to the tick"
    assert not b.calls and not c.calls
    assert bx.run_until(lambda: cb.connected and b.calls and c.calls, 10)
    assert bx.run_until(lambda: b.last.connected and c.last.connected, 10)
    s = bx.sessions[-1]
    assert bx.run_until(lambda: not s.keypad.inviting, 15)
    for p in (a, b, c):
        p.talk()
    bx.run(3)
    t = bx.clock.now - 2
    heard = audio(cb)
    assert heard_prompt(heard, "welcome_booked") and heard_prompt(heard, "joined")
    xa = audio(cb, t, t + 1.5)
    assert voice_level(xa, B_HZ) > -40 and voice_level(xa, C_HZ) > -40
    xb = audio(b.last, t, t + 1.5)
    assert voice_level(xb, A_HZ) > -40 and voice_level(xb, C_HZ) > -40
    assert 'data-state="in_progress"' in web.get(page).text
    bx.switch.hangup(cb, 16)
    assert bx.run_until(lambda: b.last.ended and c.last.ended and s.ended, 5)
    bx.run(1)
    shown = web.get(page).text
    assert 'data-state="done"' in shown and 'id="attempts"' in shown
    assert shown.count("已接通") == 3  # the page is in Chinese: three attempts "answered"
