"""A booked conference whose box died mid-call is redialled by the box taking it over, as the
initiator's next attempt when the booking has redials left (never the same attempt twice);
the attempt rows left open by the dead box say ``lost``, and the outcome names that box.
Without a redial left the booking is closed as failed.

On the simulated span in virtual time. Box A (``[box] id`` box-a) serves the booking until the
conference runs, then vanishes as a killed process does: no shutdown, its clock simply stops
(its span, switch and phones with it). Box B (box-b) comes up on the same database once A's
lease has expired, on its own span with the same subscribers. The real kill -9 of a box
process is in test_two_boxes_pg.py."""
from __future__ import annotations

from datetime import timedelta

from confcall.booking import BookingRequest, BookingState, get_any
from confcall.booking import service as booking_service
from tests.conference.box_harness import NOW, Box

from helpers import LIMITS

A, B = "13800138000", "13900139000"
FAST = {"booking_lease_s": 6.0, "booking_poll_s": 1.0, "booking_claim_ahead_s": 3.0}


def run_conference_on_box_a(tmp_path, retries: int):
    bx = Box(tmp_path, config_overrides={"box_id": "box-a", **FAST})
    bx.account(A)
    a = bx.phone(A, answer_after=1.0)
    b = bx.phone(B, answer_after=1.0)
    req = BookingRequest("+86" + A, A, (B,), NOW + timedelta(seconds=10), retries, 30, False)
    v = bx.store.run(booking_service.book, req, now=NOW, limits=LIMITS)
    assert bx.run_until(lambda: bool(b.calls) and b.last.connected, 30)
    bx.run(2)  # talking
    assert bx.store.run(get_any, v.id).state is BookingState.IN_PROGRESS
    assert len(a.calls) == 1 and len(b.calls) == 1
    return bx, v.id, bx.vanish()


def box_b(tmp_path, box_a: Box, down_at: float) -> Box:
    """Box B on the same database, 7 s after A died (A's 6 s lease has expired)."""
    return Box(tmp_path / "b", database=box_a.db_path,
               epoch=NOW + timedelta(seconds=down_at + 7),
               config_overrides={"box_id": "box-b", **FAST})


def test_conference_of_a_dead_box_is_redialled_as_the_next_attempt(tmp_path):
    (tmp_path / "b").mkdir()
    bx, bid, down_at = run_conference_on_box_a(tmp_path, retries=1)
    nb = box_b(tmp_path, bx, down_at)
    try:
        a2 = nb.phone(A, answer_after=1.0)
        b2 = nb.phone(B, answer_after=1.0)
        assert nb.run_until(lambda: bool(b2.calls) and b2.last.connected, 40)
        nb.run(5)
        assert len(a2.calls) == 1 and len(b2.calls) == 1, "one ring per new attempt"
        # attempt 2 keeps the booked interval (30 s) after attempt 1, which began at 10 s
        assert 39.9 < down_at + 7 + a2.last.started_at < 41.5
        got = nb.store.run(get_any, bid)
        assert got.state is BookingState.IN_PROGRESS and got.lease_box == "box-b"
        assert "box-a was lost mid-call" in got.outcome and "attempt 2 of 2" in got.outcome
        rows = sorted((x.position, x.attempt_no, x.box, str(x.result),
                       x.answered_at is not None, x.ended_at is not None) for x in got.attempts)
        assert rows == [(0, 1, "box-a", "lost", True, True),
                        (0, 2, "box-b", "answered", True, False),
                        (1, 1, "box-a", "lost", True, True),
                        (1, 2, "box-b", "answered", True, False)]
        nb.switch.hangup(a2.last, 16)
        assert nb.run_until(lambda: b2.last.ended, 5)
        nb.run(1)
        assert nb.store.run(get_any, bid).state is BookingState.DONE
    finally:
        nb.close()


def test_conference_of_a_dead_box_without_redials_left_is_failed(tmp_path):
    (tmp_path / "b").mkdir()
    bx, bid, down_at = run_conference_on_box_a(tmp_path, retries=0)
    nb = box_b(tmp_path, bx, down_at)
    try:
        a2 = nb.phone(A, answer_after=1.0)
        b2 = nb.phone(B, answer_after=1.0)
        nb.run(40)
        assert not a2.calls and not b2.calls, "no attempt left: nobody is rung again"
        got = nb.store.run(get_any, bid)
        assert got.state is BookingState.FAILED and got.lease_box is None
        assert "box-a was lost mid-call with no redial left" in got.outcome
        assert "taken over by box-b" in got.outcome
        assert sorted((x.position, x.attempt_no, x.box, str(x.result))
                      for x in got.attempts) == [(0, 1, "box-a", "lost"), (1, 1, "box-a", "lost")]
    finally:
        nb.close()
