"""The booking write path's economy (issue 11's benchmark) without a change of behaviour: five
statements per booking, the reference cache follows every change of the reference data, and
the capacity read, bounded by the longest booking stored, still sees a long booking that
started well before."""
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event

from confcall.booking import BookingError, book
from confcall.rating import areas, ops
from confcall.store.models import NumberRule
from tests.booking.helpers import LIMITS, LONG, NOW, SHANGHAI, funded, request

RATES = ("match,days,start,end,price_per_min_fen,initial_s,subsequent_s,connect_fee_fen,"
         "min_charge_fen,free_seconds\n") + """\
local,1234567,00:00,24:00,10,60,60,0,0,0
long_distance,1234567,00:00,24:00,{ld},60,60,0,0,0
mobile_local,1234567,00:00,24:00,12,60,60,0,0,0
mobile_long_distance,1234567,00:00,24:00,20,60,60,0,0,0
international,1234567,00:00,24:00,300,60,60,0,0,0
free,1234567,00:00,24:00,0,60,60,0,0,0
"""


def statements(store, fn, *args, **kwargs):
    """(result, the SQL statements ``fn`` issued, BEGIN/COMMIT left out)."""
    seen: list[str] = []

    def count(_conn, _cursor, sql, *_rest):
        if sql.split()[0].upper() not in ("BEGIN", "COMMIT"):
            seen.append(sql)
    event.listen(store.engine, "before_cursor_execute", count)
    try:
        return store.run(fn, *args, **kwargs), seen
    finally:
        event.remove(store.engine, "before_cursor_execute", count)


def test_a_booking_costs_five_statements_once_the_reference_data_is_cached(store):
    funded(store, amount=1_000_000)
    store.run(book, request(), now=NOW, limits=LIMITS)  # fills the cache
    view, sql = statements(store, book, request(start_at=datetime(2026, 11, 26, 9, 0,
                                                                     tzinfo=SHANGHAI)),
                           now=NOW, limits=LIMITS)
    # PostgreSQL: + the advisory lock serialising the checks, + the horizon read after it
    pg = store.dialect == "postgresql"
    assert len(sql) == 5 + 2 * pg, "\n".join(sql)
    assert [s.split()[0].upper() for s in sql][-2:] == ["INSERT", "INSERT"]
    assert view.expected_fen == 30 * (10 + 10 + 30) and len(view.participants) == 2


def test_every_change_of_the_reference_data_reaches_the_next_booking(store):
    funded(store, amount=1_000_000)
    assert store.run(book, request(), now=NOW, limits=LIMITS).expected_fen == 30 * 50
    # a new tariff: long distance 30 -> 50 fen a minute
    ops.import_rates(store, "default", RATES.format(ld=50))
    assert store.run(book, request(), now=NOW, limits=LIMITS).expected_fen == 30 * 70
    # the operator moves Shanghai's 2188 block to Beijing: the long-distance leg is local now
    store.run(areas.set_area, "2188", "10", "moved")
    assert store.run(book, request(), now=NOW, limits=LIMITS).expected_fen == 30 * 30
    # ... and blocks the number: refused at once, nothing written
    store.run(lambda s: s.add(NumberRule(prefix="2188887777", action="block",
                                         reason="fraud")))
    with pytest.raises(BookingError) as err:
        store.run(book, request(), now=NOW, limits=LIMITS)
    assert (err.value.key, err.value.field) == ("number.blocked", "participants[1]")
    assert err.value.params["number"] == "+86" + LONG[1:]


def test_a_long_booking_that_started_hours_before_still_holds_its_channels(store):
    funded(store, amount=1_000_000)
    limits = replace(LIMITS, channels=5)
    at = datetime(2026, 11, 25, 21, 0, tzinfo=SHANGHAI)
    store.run(book, replace(request(start_at=at), expected_minutes=120), now=NOW,
              limits=limits)  # 21:00-23:00, 3 channels
    with pytest.raises(BookingError) as err:  # 22:59: 3 + 3 > 5
        store.run(book, request(start_at=at + timedelta(minutes=119)), now=NOW, limits=limits)
    assert (err.value.key, err.value.params["free"]) == ("booking.capacity", 2)
    store.run(book, request(start_at=at + timedelta(minutes=120)), now=NOW, limits=limits)
