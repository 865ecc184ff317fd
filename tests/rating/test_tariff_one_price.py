"""``Plan.charge``'s one-price path (a call inside one period) gives exactly the fen, billed
seconds and pieces of the piece-by-piece rule 4, over many generated plans and calls, and the
generated cases do exercise both paths (calls that cross a boundary and calls that do not)."""
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from confcall.rating import MoneyError
from confcall.rating.tariff import Plan, RateRow, billed_seconds

SEEN = {"one": 0, "pieces": 0}


@st.composite
def rows(draw):
    start = draw(st.integers(0, 1439))
    end = draw(st.integers(start + 1, 1440))
    days = "".join(sorted(draw(st.sets(st.sampled_from("1234567"), min_size=1))))
    return RateRow("local", draw(st.integers(0, 500)),
                   initial_s=draw(st.sampled_from([1, 6, 30, 60, 180])),
                   subsequent_s=draw(st.sampled_from([1, 6, 30, 60])),
                   connect_fee_fen=draw(st.integers(0, 50)),
                   min_charge_fen=draw(st.integers(0, 300)),
                   free_seconds=draw(st.sampled_from([0, 0, 3, 59])),
                   days=days, start_minute=start, end_minute=end)


whole_day = st.builds(lambda p, i, s: RateRow("local", p, initial_s=i, subsequent_s=s),
                      st.integers(0, 500), st.sampled_from([1, 30, 60]),
                      st.sampled_from([1, 6, 60]))


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(st.lists(st.one_of(rows(), whole_day), min_size=1, max_size=4),
       st.sampled_from(["up", "half_up", "down"]),
       st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31)),
       st.one_of(st.integers(1, 7200), st.integers(0, 2 * 24 * 3600)))
def test_one_price_path_equals_the_piece_by_piece_rule(plan_rows, rounding, at, duration):
    plan = Plan("p", plan_rows, rounding=rounding)
    answered = at.replace(tzinfo=UTC)
    try:
        fast = plan.charge("+8610", "local", answered, duration)
    except MoneyError as e:
        assert e.key == "rate.no_rate"
        return
    if duration == 0:
        assert fast.amount_fen == 0 and fast.row is None
        return
    start = plan.local(answered)
    row = plan.row_at("local", start)
    billed = billed_seconds(duration, row.initial_s, row.subsequent_s, row.free_seconds)
    if billed == 0:
        assert fast.amount_fen == 0
        return
    slow = plan._charge_by_pieces("local", row, start, billed)
    assert fast == slow
    SEEN["one" if plan._one_price("local", row, start, billed) is not None else "pieces"] += 1


def test_both_paths_were_exercised():
    """Runs after the property (file order): a property that never crossed a boundary
    would prove nothing about the fast path's refusal to take it."""
    if SEEN["one"] == 0 and SEEN["pieces"] == 0:
        test_one_price_path_equals_the_piece_by_piece_rule()
    assert SEEN["one"] > 50 and SEEN["pieces"] > 50, SEEN


def test_a_call_crossing_into_the_night_pays_both_prices():
    day = RateRow("local", 20, days="1234567", start_minute=0, end_minute=1440)
    night = RateRow("local", 10, days="1234567", start_minute=21 * 60, end_minute=1440)
    plan = Plan("p", [day, night])
    at = datetime(2026, 11, 25, 12, 55, tzinfo=UTC)  # 20:55 in Beijing
    c = plan.charge("+8610", "local", at, 10 * 60)
    assert c.parts == ((300, 20), (300, 10)) and c.amount_fen == 150
    inside = plan.charge("+8610", "local", at - timedelta(hours=2), 10 * 60)
    assert inside.parts == ((600, 20),) and inside.amount_fen == 200
