"""The booking service on both engines: what is stored, every refusal (key, field, nothing
written), credit and channel capacity, the form's classification, lists, and cancel."""
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from confcall.booking import (
    BookingError,
    BookingKind,
    BookingState,
    book,
    cancel,
    cancel_as_operator,
    classify_participants,
    get_booking,
    list_bookings,
)
from confcall.rating import ops
from confcall.store.models import Booking, BookingParticipant
from tests.booking.helpers import BEIJING, LIMITS, LOCAL, LONG, NOW, SHANGHAI, funded, request


def count(store, model=Booking):
    return store.run(lambda s: s.scalar(select(func.count()).select_from(model)))


def test_a_booking_is_stored_in_utc_with_its_participants_and_expected_cost(store):
    funded(store)
    view = store.run(book, request(music=True), now=NOW, limits=LIMITS)
    assert view.state is BookingState.BOOKED and view.kind is BookingKind.CONFERENCE
    assert view.start_at == datetime(2026, 11, 25, 13, 0, tzinfo=UTC)  # 21:00 Beijing
    assert view.participants == ("+861088881111", "+862188887777")
    assert view.initiator == BEIJING and view.account_number == BEIJING
    assert (view.retry_count, view.retry_interval_s, view.music) == (2, 60, True)
    # 30 minutes: initiator local 10 + local 10 + long distance 30 fen a minute
    assert view.expected_s == 1800 and view.expected_fen == 30 * (10 + 10 + 30)
    assert view.reference.endswith(view.reference[-26:]) and "-booking-" in view.reference
    dials = store.run(lambda s: [p.dial for p in s.scalars(
        select(BookingParticipant).order_by(BookingParticipant.position))])
    assert dials == ["01088881111", "02188887777"]
    row = store.run(lambda s: s.get(Booking, view.id))
    assert row.initiator_dial == "01088880000" and row.lease_box is None


REFUSALS = [
    ({"account_number": "+861099990000"}, "account.unknown", "account_number"),
    ({"initiator": "12"}, "number.malformed", "initiator"),
    ({"initiator": "110"}, "number.blocked", "initiator"),
    ({"participants": (LOCAL, "110")}, "number.blocked", "participants[1]"),
    ({"participants": (LOCAL, "0108888000x")}, "number.malformed", "participants[1]"),
    ({"participants": ("88880000",)}, "number.own", "participants[0]"),  # the account's own
    ({"initiator": LONG, "participants": (LOCAL, "+86 21 8888 7777")}, "number.own",
     "participants[1]"),
    ({"participants": (LOCAL, "+86 10 8888 1111")}, "number.duplicate", "participants[1]"),
    ({"participants": ()}, "booking.no_participants", "participants"),
    ({"participants": LOCAL}, "booking.no_participants", "participants"),
    ({"participants": tuple(f"0108888200{i}" for i in range(5))},
     "booking.too_many_participants", "participants"),
    ({"start_at": datetime(2026, 11, 25, 21, 0)}, "booking.start_naive", "start_at"),
    ({"start_at": NOW - timedelta(minutes=1)}, "booking.start_past", "start_at"),
    ({"start_at": NOW + timedelta(days=31)}, "booking.start_too_far", "start_at"),
    ({"retry_count": 6}, "booking.retry_count", "retry_count"),
    ({"retry_count": -1}, "booking.retry_count", "retry_count"),
    ({"retry_count": True}, "booking.retry_count", "retry_count"),
    ({"retry_count": "2"}, "booking.retry_count", "retry_count"),
    ({"retry_interval_s": 29}, "booking.retry_interval", "retry_interval_s"),
    ({"retry_interval_s": 601}, "booking.retry_interval", "retry_interval_s"),
    ({"music": "yes"}, "booking.music", "music"),
    ({"expected_minutes": 0}, "booking.expected_length", "expected_minutes"),
    ({"expected_minutes": 121}, "booking.expected_length", "expected_minutes"),
]


def test_every_bad_input_is_refused_with_its_key_and_field_and_nothing_is_written(store):
    funded(store)
    for changes, key, field in REFUSALS:
        with pytest.raises(BookingError) as err:
            store.run(book, request(**changes), now=NOW, limits=LIMITS)
        assert (err.value.key, err.value.field) == (key, field), changes
        assert err.value.text("en") and err.value.text("zh") != err.value.text("en")
        assert str(err.value).startswith(f"{field}: ")
    assert count(store) == 0 and count(store, BookingParticipant) == 0


def test_a_locked_account_cannot_book(store):
    funded(store)
    ops.lock_account(store, BEIJING)
    with pytest.raises(BookingError) as err:
        store.run(book, request(), now=NOW, limits=LIMITS)
    assert err.value.key == "account.locked"


def test_credit_must_cover_the_expected_length_beyond_other_upcoming_bookings(store):
    funded(store, amount=3000)  # two 30-minute bookings at 1500 fen each
    store.run(book, request(), now=NOW, limits=LIMITS)
    store.run(book, request(), now=NOW, limits=LIMITS)
    with pytest.raises(BookingError) as err:
        store.run(book, request(), now=NOW, limits=LIMITS)
    assert err.value.key == "booking.no_credit" and err.value.params == {
        "minutes": 30, "needed": 1500, "available": 0}
    assert "1500 fen needed, 0 fen available" in str(err.value)
    first = store.run(list_bookings, BEIJING, now=NOW)[0]
    store.run(cancel, BEIJING, first.id, now=NOW)  # a cancelled booking promises nothing
    assert store.run(book, request(), now=NOW, limits=LIMITS).expected_fen == 1500


def test_channels_at_that_time_are_checked_against_bookings_already_held(store):
    funded(store, amount=1_000_000)
    limits = replace(LIMITS, channels=8)
    at = datetime(2026, 11, 25, 21, 0, tzinfo=SHANGHAI)
    a = store.run(book, request(start_at=at), now=NOW, limits=limits)  # 3 channels
    store.run(book, request(start_at=at + timedelta(minutes=20)), now=NOW, limits=limits)
    with pytest.raises(BookingError) as err:  # 21:10-21:40 overlaps both: 6 + 3 > 8
        store.run(book, request(start_at=at + timedelta(minutes=10)), now=NOW, limits=limits)
    assert (err.value.key, err.value.field) == ("booking.capacity", "start_at")
    assert err.value.params["needed"] == 3 and err.value.params["free"] == 2
    # one participant fits (2 channels); a booking right after the first ends fits too
    store.run(book, request(start_at=at + timedelta(minutes=10), participants=(LOCAL,)),
              now=NOW, limits=limits)
    store.run(book, request(start_at=at + timedelta(minutes=50)), now=NOW, limits=limits)
    with pytest.raises(BookingError):  # 21:20-21:30 now holds 3 + 3 + 2
        store.run(book, request(start_at=at + timedelta(minutes=10)), now=NOW, limits=limits)
    store.run(cancel, BEIJING, a.id, now=NOW)  # a cancelled booking holds no channels
    store.run(book, request(start_at=at + timedelta(minutes=10)), now=NOW, limits=limits)


def test_concurrent_bookings_never_overbook_the_channels(store):
    """Eight clients race for 12 channels with 3-channel bookings: exactly four win."""
    funded(store, amount=1_000_000)
    limits = replace(LIMITS, channels=12)
    barrier = threading.Barrier(8)
    results: list[str] = []

    def client() -> None:
        from confcall.store import Store
        own = Store(store.url)
        try:
            barrier.wait()
            own.run(book, request(), now=NOW, limits=limits)
            results.append("ok")
        except BookingError as err:
            results.append(err.key)
        finally:
            own.dispose()

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["booking.capacity"] * 4 + ["ok"] * 4
    assert count(store) == 4


def test_the_form_classifies_each_number_as_the_keypad_would(store):
    funded(store)
    quotes = store.run(classify_participants, BEIJING,
                       [LOCAL, LONG, "110", "12", "+86 10 8888 1111", "88880000"],
                       initiator=BEIJING, at=NOW)
    assert [(q.number, q.number_class, q.price_per_min_fen, q.refusal) for q in quotes] == [
        ("+861088881111", "local", 10, None),
        ("+862188887777", "long_distance", 30, None),
        (None, None, None, "number.blocked"),
        (None, None, None, "number.malformed"),
        ("+861088881111", None, None, "number.duplicate"),
        ("+861088880000", None, None, "number.own"),
    ]
    assert quotes[0].area == "10" and "emergency" in quotes[2].refusal_text


def test_someone_elses_booking_answers_like_a_missing_one(store):
    funded(store)
    other = funded(store, "+862188880000")
    mine = store.run(book, request(), now=NOW, limits=LIMITS)
    errors = []
    for who, bid in ((other, mine.id), (other, 999), (BEIJING, 999), ("+861099990000", 1),
                     (BEIJING, "x1"), (BEIJING, True)):
        for fn, kwargs in ((get_booking, {}), (cancel, {"now": NOW})):
            with pytest.raises(BookingError) as err:
                store.run(fn, who, bid, **kwargs)
            errors.append((err.value.key, err.value.field))
    assert set(errors) == {("booking.not_found", "booking")}
    assert store.run(get_booking, BEIJING, str(mine.id)).state is BookingState.BOOKED


def test_lists_show_upcoming_first_then_past_with_attempts(store):
    funded(store, amount=1_000_000)
    at = datetime(2026, 11, 25, 21, 0, tzinfo=SHANGHAI)
    late = store.run(book, request(start_at=at + timedelta(hours=2)), now=NOW, limits=LIMITS)
    soon = store.run(book, request(start_at=at), now=NOW, limits=LIMITS)
    gone = store.run(book, request(start_at=at + timedelta(hours=1)), now=NOW, limits=LIMITS)
    store.run(cancel, BEIJING, gone.id, now=NOW)
    views = store.run(list_bookings, BEIJING, now=NOW)
    assert [v.id for v in views] == [soon.id, late.id, gone.id]
    assert views[2].state is BookingState.CANCELLED and not views[2].cancellable
    assert views[0].as_dict()["state"] == "booked" and views[0].attempts == ()


def test_cancel_has_one_answer_per_state(store):
    funded(store, amount=1_000_000)
    b = store.run(book, request(), now=NOW, limits=LIMITS)
    v = store.run(cancel, BEIJING, b.id, now=NOW)
    assert v.state is BookingState.CANCELLED and v.ended_at == NOW
    assert v.outcome == "cancelled by subscriber"
    assert store.run(cancel, BEIJING, b.id, now=NOW).state is BookingState.CANCELLED
    for state, key in (("dialing", "booking.already_started"),
                       ("in_progress", "booking.already_started"),
                       ("done", "booking.already_ended"), ("missed", "booking.already_ended")):
        other = store.run(book, request(), now=NOW, limits=LIMITS)

        def force(s, bid=other.id, st=state):
            s.get(Booking, bid).state = st
        store.run(force)
        with pytest.raises(BookingError) as err:
            store.run(cancel, BEIJING, other.id, now=NOW)
        assert err.value.key == key
        assert store.run(get_booking, BEIJING, other.id).state.value == state
    claimed = store.run(book, request(), now=NOW, limits=LIMITS)

    def claim(s):
        row = s.get(Booking, claimed.id)
        row.state, row.lease_box, row.lease_until = "claimed", "box-a", NOW
    store.run(claim)
    v = store.run(cancel_as_operator, claimed.id, now=NOW, operator="noc:alice")
    assert v.state is BookingState.CANCELLED and v.lease_box is None and v.lease_until is None
    assert v.outcome == "cancelled by noc:alice"
