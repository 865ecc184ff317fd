"""The booking scheduler on one box, on the simulated span in virtual time: what the booked
phones see (calls, their times), and the rows the box writes (state, every attempt and its
cause). Bookings are made through the booking service, as the web site makes them."""
from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from sqlalchemy import select

from confcall.booking import BookingError, BookingRequest, BookingState, cancel_as_operator
from confcall.booking import get_any
from confcall.booking import service as booking_service
from confcall.conference.callback import CallbackPolicy
from confcall.rating import ops
from confcall.store import Store
from confcall.store.models import Booking
from tests.conference.box_harness import (
    ACCESS,
    BACKGROUND_HZ,
    NOW,
    Box,
    audio,
    heard_prompt,
    voice_level,
)
from tests.pgcluster import template

from helpers import LIMITS

A, B, C = "13800138000", "13900139000", "13700137000"


def book(store: Store, *, now, start, participants=(B, C), retries=1, interval=30,
         music=False):
    req = BookingRequest("+86" + A, A, tuple(participants), start, retries, interval, music)
    return store.run(booking_service.book, req, now=now, limits=LIMITS)


def view(bx: Box, booking_id: int):
    return bx.store.run(get_any, booking_id)


def test_booking_dials_the_initiator_at_its_time_then_the_participants(box):
    bx = box()
    bx.account(A)
    a = bx.phone(A, answer_after=1.0)
    b = bx.phone(B, answer_after=2.0)
    c = bx.phone(C, answer_after=2.0)
    v = book(bx.store, now=NOW, start=NOW + timedelta(seconds=45))
    assert bx.run_until(lambda: bool(a.calls), 60)
    assert 45.0 <= a.last.started_at <= 45.1
    assert not b.calls and not c.calls, "participants only once the initiator answered"
    assert view(bx, v.id).state is BookingState.DIALING
    assert bx.run_until(lambda: bool(b.calls and c.calls), 10)
    assert b.last.started_at > a.last.answered_at and c.last.started_at > a.last.answered_at
    assert bx.run_until(lambda: b.last.connected and c.last.connected, 10)
    bx.run(0.5)  # the CONNECTs reach the box
    got = view(bx, v.id)
    assert got.state is BookingState.IN_PROGRESS and got.lease_box
    assert sorted((t.position, t.attempt_no, str(t.result)) for t in got.attempts) == [
        (0, 1, "answered"), (1, 1, "answered"), (2, 1, "answered")]
    s = bx.sessions[-1]
    assert bx.run_until(lambda: not s.keypad.inviting, 15)
    bx.run(3)
    t = bx.clock.now - 2
    assert voice_level(audio(b.last, t, t + 1.5), BACKGROUND_HZ) < -50, "no music booked"
    bx.switch.hangup(a.last, 16)
    assert bx.run_until(lambda: b.last.ended and c.last.ended, 5)
    bx.run(1)
    got = view(bx, v.id)
    assert got.state is BookingState.DONE and got.lease_box is None
    assert all(t.ended_at is not None for t in got.attempts)


def test_busy_participant_is_retried_count_times_interval_apart(box):
    bx = box()
    bx.account(A)
    a = bx.phone(A, answer_after=1.0)
    b = bx.phone(B, behaviour="busy")
    c = bx.phone(C, answer_after=2.0)
    v = book(bx.store, now=NOW, start=NOW + timedelta(seconds=20), retries=2, interval=30)
    assert bx.run_until(lambda: len(b.calls) == 3, 120)
    bx.run(45)  # time for a fourth attempt that must not come
    assert len(b.calls) == 3 and len(c.calls) == 1 and len(a.calls) == 1
    t = [r.started_at for r in b.calls]
    assert 29.9 < t[1] - t[0] < 30.5 and 29.9 < t[2] - t[1] < 30.5
    got = view(bx, v.id)
    tries = [(x.attempt_no, str(x.result), x.cause) for x in got.attempts if x.position == 1]
    assert tries == [(1, "busy", 17), (2, "busy", 17), (3, "busy", 17)]
    assert got.state is BookingState.IN_PROGRESS


def test_initiator_not_reached_fails_the_booking_after_its_retries(box):
    bx = box()
    bx.account(A)
    a = bx.phone(A, behaviour="unreachable")
    b = bx.phone(B)
    v = book(bx.store, now=NOW, start=NOW + timedelta(seconds=15), participants=(B,),
             retries=1, interval=30)
    assert bx.run_until(lambda: view(bx, v.id).state is BookingState.FAILED, 80)
    assert len(a.calls) == 2 and not b.calls
    assert 29.9 < a.calls[1].started_at - a.calls[0].started_at < 30.5
    got = view(bx, v.id)
    assert [(x.position, str(x.result), x.cause) for x in got.attempts] == [
        (0, "failed", 20), (0, "failed", 20)]
    assert "initiator not reached" in got.outcome
    assert ops.balance(bx.store, "+86" + A).reserved_fen == 0


def test_cancelled_bookings_never_dial_and_dialling_ones_cannot_be_cancelled(box):
    bx = box()
    bx.account(A)
    a = bx.phone(A, answer_after=1.0)
    b = bx.phone(B, answer_after=1.0)
    early = book(bx.store, now=NOW, start=NOW + timedelta(seconds=60), participants=(B,))
    claimed = book(bx.store, now=NOW, start=NOW + timedelta(seconds=120), participants=(B,))
    now = bx.daemon.money.now
    got = bx.store.run(cancel_as_operator, early.id, now=now())
    assert got.state is BookingState.CANCELLED  # not yet claimed: cancelled at once
    assert bx.run_until(lambda: view(bx, claimed.id).state is BookingState.CLAIMED, 120)
    assert view(bx, claimed.id).lease_box
    got = bx.store.run(cancel_as_operator, claimed.id, now=now())
    assert got.state is BookingState.CANCELLED and got.lease_box is None
    bx.run(60)
    assert not a.calls and not b.calls, "a cancelled booking never dials"
    third = book(bx.store, now=now(), start=now() + timedelta(seconds=5), participants=(B,))
    assert bx.run_until(lambda: bool(a.calls), 20)
    with pytest.raises(BookingError) as err:
        bx.store.run(cancel_as_operator, third.id, now=now())
    assert err.value.key == "booking.already_started"
    assert view(bx, third.id).state is BookingState.DIALING


def _prepared_db(tmp_path, start_after_s: float):
    """A database holding A's booking for NOW + ``start_after_s``, made while no box ran."""
    path = tmp_path / "down.db"
    shutil.copyfile(template("sqlite", None), path)
    store = Store(f"sqlite:///{path}")
    ops.create_account(store, "+86" + A, "482913", now=NOW)
    ops.adjust(store, "+86" + A, 10_000, "fund-A", "test funding", now=NOW)
    v = book(store, now=NOW, start=NOW + timedelta(seconds=start_after_s), participants=(B,))
    store.dispose()
    return path, v.id


@pytest.mark.parametrize("late_s, dialled", [(120.0, True), (400.0, False)])
def test_booking_due_while_the_box_was_down(box, tmp_path, late_s, dialled):
    """grace 300 s: back 120 s after the start → dialled at once; 400 s after → missed."""
    path, bid = _prepared_db(tmp_path, 30)
    bx = box(database=path, epoch=NOW + timedelta(seconds=30 + late_s),
               config_overrides={"booking_grace_s": 300.0})
    a = bx.phone(A, answer_after=1.0)
    bx.phone(B, answer_after=1.0)
    bx.run(10)
    got = view(bx, bid)
    if dialled:
        assert len(a.calls) == 1 and a.last.started_at < 2.5  # the first poll, 2 s
        assert got.state in (BookingState.DIALING, BookingState.IN_PROGRESS)
    else:
        assert not a.calls
        assert got.state is BookingState.MISSED and "missed" in got.outcome


def test_callback_survives_a_restart_between_rejection_and_callback(box, tmp_path):
    bx = box(callback=CallbackPolicy(delay_s=20.0, retries=2, retry_interval_s=20.0,
                                       caller_id="95000"))
    bx.account(A)
    a = bx.phone(A, answer_after=1.0)
    access = bx.switch.place_call(A, ACCESS)
    assert bx.run_until(lambda: access.ended, 10)
    with bx.store.transaction() as s:
        row = s.scalars(select(Booking)).one()
        assert (row.kind, row.state, row.initiator_dial) == ("callback", "claimed", A)
    down_at = bx.clock.now
    bx.close()  # the box restarts before the callback is due
    assert len(a.calls) == 1
    back = box(database=bx.db_path, epoch=NOW + timedelta(seconds=down_at + 30))
    a2 = back.phone(A, answer_after=1.0)
    assert back.run_until(lambda: bool(a2.calls) and a2.last.connected, 10)
    assert back.run_until(lambda: bool(back.sessions), 5)
    with back.store.transaction() as s:
        assert s.scalars(select(Booking.state)).one() == "in_progress"


def test_callback_storm_limit_counts_requests_on_every_box(box):
    """The limit is counted in the database: requests recorded by another box count."""
    bx = box(config_overrides={"rate_limit": 2, "rate_window_s": 600.0})
    bx.account(A)
    a = bx.phone(A, behaviour="busy")
    from confcall.booking.leases import add_callback
    for _ in range(2):  # two callbacks written by another box sharing the database
        assert bx.store.run(add_callback, payer="+86" + A, dial=A, box="other-box",
                            now=bx.daemon.money.now(), delay_s=3600.0, redials=0,
                            retry_interval_s=30.0, lease_s=60.0) is not None
    access = bx.switch.place_call(A, ACCESS)
    assert bx.run_until(lambda: access.ended, 10)
    assert heard_prompt(audio(access), "rate_limited")
    bx.run(10)
    assert len(a.calls) == 1  # the access call only


def test_booked_background_music_is_on_from_the_start(box):
    bx = box()
    bx.account(A)
    bx.phone(A, answer_after=1.0)
    b = bx.phone(B, answer_after=1.0)
    book(bx.store, now=NOW, start=NOW + timedelta(seconds=10), participants=(B,), music=True)
    assert bx.run_until(lambda: bool(bx.sessions) and bool(b.calls) and b.last.connected, 30)
    s = bx.sessions[0]
    assert bx.run_until(lambda: not s.keypad.inviting, 15)
    bx.run(3)
    t = bx.clock.now - 2
    assert voice_level(audio(b.last, t, t + 1.5), BACKGROUND_HZ) > -40


def test_box_restarting_mid_dial_continues_with_the_next_attempt(box, tmp_path):
    """The box dies between two initiator attempts: back again, it takes its own lease back
    and makes attempt 2 at the booked interval — attempt 1 is never made twice."""
    path, bid = _prepared_db(tmp_path, 10)
    bx = box(database=path)
    a = bx.phone(A, behaviour="busy")
    assert bx.run_until(lambda: len(a.calls) == 1 and a.last.ended, 20)
    assert view(bx, bid).state is BookingState.DIALING
    down_at = bx.clock.now
    bx.close()
    back = box(database=path, epoch=NOW + timedelta(seconds=down_at + 5))
    a2 = back.phone(A, answer_after=1.0)
    back.phone(B, answer_after=1.0)
    assert back.run_until(lambda: bool(a2.calls) and a2.last.connected, 40)
    # attempt 2 keeps the booked interval (30 s) after attempt 1, across the restart
    first = a.calls[0].started_at  # on the first box's clock: NOW + first
    second = down_at + 5 + a2.last.started_at
    assert 29.9 < second - first < 32.5, second - first
    back.run(0.5)  # the CONNECT reaches the box
    got = view(back, bid)
    with back.store.transaction() as s:
        assert s.scalar(select(Booking.takeovers).where(Booking.id == bid)) == 1
    assert [(x.position, x.attempt_no, str(x.result), x.cause) for x in got.attempts
            if x.position == 0] == [(0, 1, "busy", 17), (0, 2, "answered", None)]
    assert got.state is BookingState.IN_PROGRESS
