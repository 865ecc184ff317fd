"""Rating examples per increment rule and boundary, connect fee, minimum charge, free seconds,
period change mid-call, rounding — with the rate table round-tripped through each engine."""
from datetime import UTC, datetime, timedelta

import pytest

from confcall.rating import MoneyError, ops, rates
from confcall.rating.tariff import billed_seconds, round_fen
from tests.rating.helpers import BEIJING, NOW, funded

TABLE = ("match,days,start,end,price_per_min_fen,initial_s,subsequent_s,connect_fee_fen,"
         "min_charge_fen,free_seconds\n") + """\
+86999,1234567,00:00,24:00,60,60,60,0,0,0
+86998,1234567,00:00,24:00,60,30,6,0,0,0
+86997,1234567,00:00,24:00,60,6,6,0,0,0
+86996,1234567,00:00,24:00,60,60,60,15,0,0
+86995,1234567,00:00,24:00,10,6,6,0,25,0
+86994,1234567,00:00,24:00,60,6,6,0,0,10
+86993,1234567,07:00,21:00,60,60,60,0,0,0
+86993,1234567,21:00,24:00,30,60,60,0,0,0
+86993,1234567,00:00,07:00,30,60,60,0,0,0
+86992,67,00:00,24:00,20,60,60,0,0,0
+86992,1234567,00:00,24:00,60,60,60,0,0,0
+86991,1234567,00:00,24:00,7,30,30,0,0,0
+86990,1234567,00:00,24:00,13,6,6,0,0,0
"""

RULE_CASES = [  # prefix, duration s, expected fen, expected billed s
    ("+86999", 59, 60, 60), ("+86999", 60, 60, 60), ("+86999", 61, 120, 120),  # 60/60
    ("+86998", 29, 30, 30), ("+86998", 30, 30, 30), ("+86998", 31, 36, 36),    # 30/6
    ("+86998", 59, 60, 60), ("+86998", 60, 60, 60), ("+86998", 61, 66, 66),
    ("+86997", 5, 6, 6), ("+86997", 6, 6, 6), ("+86997", 7, 12, 12),           # 6/6
    ("+86997", 59, 60, 60), ("+86997", 60, 60, 60), ("+86997", 61, 66, 66),
    ("+86996", 59, 75, 60), ("+86996", 60, 75, 60), ("+86996", 61, 135, 120),  # connect fee
    ("+86995", 6, 25, 6), ("+86995", 120, 25, 120), ("+86995", 151, 26, 156),  # minimum charge
    ("+86994", 10, 0, 0), ("+86994", 11, 6, 6), ("+86994", 70, 60, 60),        # free seconds
    ("+86999", 0, 0, 0),
]


@pytest.fixture
def plan(store):
    with store.transaction() as s:
        rates.import_rates(s, "t", TABLE)
    with store.transaction() as s:
        return rates.load_plan(s, "t")


@pytest.mark.parametrize("prefix,duration,fen,billed", RULE_CASES)
def test_increment_rules_and_boundaries(plan, prefix, duration, fen, billed):
    ch = plan.charge(prefix + "1234567", "long_distance", NOW, duration)
    assert (ch.amount_fen, ch.billed_s) == (fen, billed)
    assert type(ch.amount_fen) is int


def test_unanswered_costs_nothing(plan):
    assert plan.charge("+869961234567", "long_distance", None, 0).amount_fen == 0


def test_period_change_mid_call(plan):
    # 20:59 Beijing (12:59 UTC): first minute at day price 60, then night price 30
    start = datetime(2026, 11, 25, 12, 59, tzinfo=UTC)
    ch = plan.charge("+869931234567", "long_distance", start, 150)
    assert ch.parts == ((60, 60), (120, 30))
    assert ch.amount_fen == 60 + 60
    # wholly in the night window after midnight local, and back to day at 07:00
    early = datetime(2026, 11, 25, 22, 58, 30, tzinfo=UTC)  # 06:58:30 local
    ch = plan.charge("+869931234567", "long_distance", early, 180)
    assert ch.parts == ((120, 30), (60, 60))  # units starting 06:58:30, 06:59:30; 07:00:30
    assert ch.amount_fen == 60 + 60


def test_weekday_periods(plan):
    saturday = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
    assert plan.charge("+869921234567", "long_distance", saturday, 60).amount_fen == 20
    assert plan.charge("+869921234567", "long_distance", NOW, 60).amount_fen == 60


@pytest.mark.parametrize("rounding,half,fifth", [("up", 4, 2), ("half_up", 4, 1),
                                                 ("down", 3, 1)])
def test_explicit_rounding(store, rounding, half, fifth):
    with store.transaction() as s:
        rates.import_rates(s, "r-" + rounding, TABLE, rounding=rounding)
    with store.transaction() as s:
        plan = rates.load_plan(s, "r-" + rounding)
    assert plan.rounding == rounding
    # 7 fen/min for 30 s = 3.5 fen; 13 fen/min for 6 s = 1.3 fen
    assert plan.charge("+869911234567", "long_distance", NOW, 30).amount_fen == half
    assert plan.charge("+869901234567", "long_distance", NOW, 6).amount_fen == fifth


def test_round_fen_and_billed_seconds_pure():
    assert round_fen(90, "up") == 2 and round_fen(90, "half_up") == 2 and \
        round_fen(89, "half_up") == 1 and round_fen(119, "down") == 1
    assert billed_seconds(61, 30, 6) == 66 and billed_seconds(0, 60, 60) == 0


def test_prefix_row_wins_over_class_row(store):
    with store.transaction() as s:
        rates.import_rates(s, "p", "match,days,start,end,price_per_min_fen,initial_s,"
                           "subsequent_s,connect_fee_fen,min_charge_fen,free_seconds\n"
                           "long_distance,1234567,00:00,24:00,30,60,60,0,0,0\n"
                           "+8621,1234567,00:00,24:00,20,60,60,0,0,0\n"
                           "+862188,1234567,00:00,24:00,15,60,60,0,0,0\n")
        plan = rates.load_plan(s, "p")
    assert plan.charge("+862188880000", "long_distance", NOW, 60).amount_fen == 15
    assert plan.charge("+862177770000", "long_distance", NOW, 60).amount_fen == 20
    assert plan.charge("+867557777000", "long_distance", NOW, 60).amount_fen == 30


def test_quote_through_operations(store):
    funded(store, amount=300)
    q = ops.quote(store, BEIJING, "021 8888 7777", 61, at=NOW)
    assert (q.number_class, q.billed_s, q.amount_fen) == ("long_distance", 120, 60)
    assert q.max_duration_s == 600  # 300 fen at 30 fen/min
    q = ops.quote(store, BEIJING, "8888 7777", 61, at=NOW)
    assert (q.number_class, q.amount_fen) == ("local", 20)
    with pytest.raises(MoneyError, match="not allowed"):
        ops.quote(store, BEIJING, "110", 60, at=NOW)


def test_rate_csv_round_trip(store):
    with store.transaction() as s:
        rates.import_rates(s, "t", TABLE)
    text = ops.export_rates(store, "t")
    assert sorted(text.splitlines()[1:]) == sorted(TABLE.splitlines()[1:])
    assert ops.import_rates(store, "t2", text) == len(TABLE.splitlines()) - 1
    seen: list[int] = []  # the CLI's progress bar: one step per line read after the header
    assert ops.import_rates(store, "t3", text, progress=seen.append) == len(seen)


@pytest.mark.parametrize("row,reason", [
    ("premium,1234567,00:00,24:00,10,60,60,0,0,0", "unsupported match 'premium'"),
    ("+86x1,1234567,00:00,24:00,10,60,60,0,0,0", "prefix"),
    ("local,1234567,00:00,24:00,-1,60,60,0,0,0", "price_per_min_fen must be a whole"),
    ("local,1234567,00:00,24:00,1.5,60,60,0,0,0", "price_per_min_fen must be a whole"),
    ("local,1234567,00:00,24:00,10,0,60,0,0,0", "at least 1 s"),
    ("local,1234567,25:00,24:00,10,60,60,0,0,0", "out of range"),
    ("local,1234567,09:00,08:00,10,60,60,0,0,0", "start < end"),
    ("local,1238,00:00,24:00,10,60,60,0,0,0", "weekday"),
    ("local,1234567,00:00,24:00,10,60", "fields"),
])
def test_bad_rate_rows_name_their_line_and_write_nothing(store, row, reason):
    good = "local,1234567,00:00,24:00,10,60,60,0,0,0"
    text = ("match,days,start,end,price_per_min_fen,initial_s,subsequent_s,connect_fee_fen,"
            "min_charge_fen,free_seconds\n" + good.replace("local", "mobile_local") + "\n" +
            row + "\n")
    with pytest.raises(MoneyError) as err:
        ops.import_rates(store, "bad", text)
    assert "line 3" in str(err.value) and reason in str(err.value)
    assert "第 3 行" in err.value.text("zh")
    with pytest.raises(MoneyError, match="no rate plan"):
        ops.export_rates(store, "bad")


def test_bad_durations_refused(plan):
    for bad in (-1, 1.5, "60", 10**9):
        with pytest.raises(MoneyError, match="duration"):
            plan.charge("+869991234567", "long_distance", NOW, bad)
    with pytest.raises(MoneyError, match="time zone"):
        plan.charge("+869991234567", "long_distance", NOW.replace(tzinfo=None), 60)


def test_max_duration_uses_dearest_period(plan):
    # 60 fen/min day, 30 night: 90 fen buys 60 s whatever the time
    assert plan.max_duration("+869931234567", "long_distance", 90) == 60
    assert plan.max_duration("+869961234567", "long_distance", 74) == 0
    assert plan.max_duration("+869961234567", "long_distance", 75) == 60
    assert timedelta(seconds=plan.max_duration("+869971234567", "long_distance", 60)) == \
        timedelta(seconds=60)


def test_account_plan_decides_the_price(store):
    funded(store, amount=1000)
    with store.transaction() as s:
        rates.import_rates(s, "cheap", "match,days,start,end,price_per_min_fen,initial_s,"
                           "subsequent_s,connect_fee_fen,min_charge_fen,free_seconds\n"
                           "long_distance,1234567,00:00,24:00,7,60,60,0,0,0\n")
    assert ops.quote(store, BEIJING, "02188887777", 60, at=NOW).amount_fen == 30
    ops.set_plan(store, BEIJING, "cheap")
    assert ops.quote(store, BEIJING, "02188887777", 60, at=NOW).amount_fen == 7
    with pytest.raises(MoneyError, match="no rate plan gold"):
        ops.set_plan(store, BEIJING, "gold")
