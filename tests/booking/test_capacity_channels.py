"""Booking capacity counts channels, not bookings (``confcall.booking.capacity``): the channels
of the booked conferences overlapping a new one (initiator + participants, plus the room kept
for keyed participants when ``[booking] keyed_room`` says so) against the fleet's channels
(``[booking] channels``), at exact boundaries. Real store, both engines, through ``book()``."""
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from confcall.booking import BookingError, book, limits_from_config
from confcall.booking.capacity import conference_channels
from confcall.config import ConfigError, parse_config
from confcall.store.models import Booking
from tests.booking.helpers import LIMITS, LOCAL, LONG, NOW, SHANGHAI, funded, request

AT = datetime(2026, 11, 25, 21, 0, tzinfo=SHANGHAI)
MORE = ("01088882222", "01088883333")


def booked(store) -> int:
    return store.run(lambda s: s.scalar(select(func.count()).select_from(Booking)))


def refused(store, limits, **req) -> dict:
    before = booked(store)
    with pytest.raises(BookingError) as err:
        store.run(book, request(**req), now=NOW, limits=limits)
    assert (err.value.key, err.value.field) == ("booking.capacity", "start_at")
    assert booked(store) == before, "a refused booking writes nothing"
    return err.value.params


def test_the_last_channel_is_booked_exactly_and_the_next_one_refused(store):
    funded(store, amount=10_000_000)
    limits = replace(LIMITS, channels=8)
    store.run(book, request(start_at=AT), now=NOW, limits=limits)  # 3 channels
    store.run(book, request(start_at=AT), now=NOW, limits=limits)  # 6
    store.run(book, request(start_at=AT, participants=(LOCAL,)), now=NOW,
              limits=limits)  # 2 more: 8 of 8
    p = refused(store, limits, start_at=AT, participants=(LOCAL,))  # 2 more: 10 > 8
    assert p["needed"] == 2 and p["free"] == 0


def test_one_channel_short_is_refused_with_what_is_free(store):
    funded(store, amount=10_000_000)
    limits = replace(LIMITS, channels=6)
    store.run(book, request(start_at=AT), now=NOW, limits=limits)  # 3 of 6
    p = refused(store, limits, start_at=AT, participants=(LOCAL, LONG, MORE[0]))  # 4 > 3 free
    assert p["needed"] == 4 and p["free"] == 3
    store.run(book, request(start_at=AT), now=NOW, limits=limits)  # 3 fits exactly: 6 of 6


def test_windows_are_half_open_to_the_second(store):
    """A booking that starts the instant another ends shares no channel with it; one that
    starts a second earlier does."""
    funded(store, amount=10_000_000)
    limits = replace(LIMITS, channels=3)
    store.run(book, request(start_at=AT), now=NOW, limits=limits)  # 21:00-21:30, 3 of 3
    p = refused(store, limits, start_at=AT + timedelta(minutes=30, seconds=-1))
    assert p["free"] == 0
    store.run(book, request(start_at=AT + timedelta(minutes=30)), now=NOW, limits=limits)
    refused(store, limits, start_at=AT - timedelta(minutes=30, seconds=-1))
    store.run(book, request(start_at=AT - timedelta(minutes=30)), now=NOW, limits=limits)


def test_room_for_keyed_participants_counts_up_to_the_seats_of_a_conference(store):
    """keyed_room 2, 4 seats a conference: a booking with 1 participant holds 2 + 2 = 4
    channels, one with 3 participants holds its 4 seats (no room beyond them)."""
    funded(store, amount=10_000_000)
    limits = replace(LIMITS, channels=8, keyed_room=2, max_participants=4)
    assert [conference_channels(n, limits) for n in range(5)] == [3, 4, 4, 4, 5]
    store.run(book, request(start_at=AT, participants=(LOCAL,)), now=NOW, limits=limits)
    store.run(book, request(start_at=AT, participants=(LOCAL, LONG, MORE[0])), now=NOW,
              limits=limits)  # 4 + 4 = 8 of 8
    p = refused(store, limits, start_at=AT, participants=(LOCAL,))
    assert (p["needed"], p["free"]) == (4, 0)
    # the same bookings without the room: 2 + 4 = 6 of 8, so one more 2-channel one fits
    plain = replace(limits, keyed_room=0)
    store.run(book, request(start_at=AT, participants=(LOCAL,)), now=NOW, limits=plain)
    p = refused(store, plain, start_at=AT, participants=(LOCAL,))  # 8 of 8 now
    assert (p["needed"], p["free"]) == (2, 0)


def test_the_fleet_channels_and_the_room_come_from_the_config():
    cfg = parse_config({"booking": {"channels": 120, "keyed_room": 2}})
    limits = limits_from_config(cfg, box_channels=30)
    assert (limits.channels, limits.keyed_room) == (120, 2)
    assert limits_from_config(parse_config({}), box_channels=30).channels == 30
    with pytest.raises(ConfigError, match="booking.keyed_room"):
        parse_config({"booking": {"keyed_room": -1}})
