"""Carrier-billed accounts (both engines): no balance needed, calls rated and handed to the
carrier instead of debited, spend limits per local day and month enforced by credit control."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from confcall.rating import MoneyError, ops
from confcall.rating.credit import MAX_CALL_S
from confcall.store.models import LedgerEntry
from tests.billing.charged_legs import T0, account, at, call

CARRIER = "+8613800138000"
LD = "02087654321"  # long distance from Beijing: 30 fen a started minute


def ledger(store, number):
    def fn(s):
        from confcall.rating.accounts import get_account
        acc = get_account(s, number)
        return [(e.kind, e.amount_fen) for e in
                s.scalars(select(LedgerEntry).where(LedgerEntry.account_id == acc.id))]
    return store.run(fn)


def test_a_carrier_billed_account_calls_with_no_balance_and_is_not_debited(store):
    payer = account(store, CARRIER, fen=0, mode="carrier")
    ops.check_caller(store, payer, 100, now=at(0))  # no balance, no limit: welcome
    grant = ops.authorize_leg(store, payer, "c", "c/1", LD, now=at(0))
    assert not grant.final and grant.granted_s == 300
    assert ops.balance(store, payer).reserved_fen == grant.reserved_fen > 0
    bill = call(store, payer, "c", "c/2", LD, at(1), 125)
    assert bill.amount_fen == 90  # rated as usual ...
    b = ops.balance(store, payer)
    assert b.balance_fen == 0 and ledger(store, payer) == []  # ... but not on our ledger
    ops.release_leg(store, "c/1")
    assert ops.balance(store, payer).reserved_fen == 0
    s = ops.account_summary(store, payer, now=at(200))
    assert s.carrier_billed and s.spent_today_fen == s.spent_month_fen == 90
    assert s.day_left_fen is None and s.month_left_fen is None


def test_a_prepaid_account_with_no_balance_cannot(store):
    payer = account(store, "+8613900139000", fen=0)
    with pytest.raises(MoneyError) as e:
        ops.check_caller(store, payer, 100, now=at(0))
    assert e.value.key == "funds.insufficient"
    with pytest.raises(MoneyError) as e:
        ops.authorize_leg(store, payer, "c", "c/1", LD, now=at(0))
    assert e.value.key == "funds.insufficient"


def test_the_month_limit_bounds_credit_control_like_a_balance(store):
    payer = account(store, CARRIER, fen=0, mode="carrier", month_limit_fen=200)
    grant = ops.authorize_leg(store, payer, "c", "c/1", LD, now=at(0), quota_s=600)
    assert grant.final and grant.granted_s == 360  # 200 fen buy 6 whole minutes at 30
    assert grant.warnings_s == (300, 330)  # warned 60 and 30 s before the end
    ops.release_leg(store, "c/1")
    call(store, payer, "c", "c/2", LD, at(10), 170)  # 3 min: 90 fen spent
    grant = ops.authorize_leg(store, payer, "c", "c/3", LD, now=at(200))
    assert grant.final and grant.granted_s == 180  # 110 fen left: 3 minutes
    with pytest.raises(MoneyError) as e:  # c/3's hold leaves 20 fen: not a minute
        ops.authorize_leg(store, payer, "c", "c/4", LD, now=at(201))
    assert e.value.key == "limit.reached" and e.value.params["available"] == 20
    with pytest.raises(MoneyError) as e:
        ops.check_caller(store, payer, 100, now=at(201))
    assert e.value.key == "limit.reached"
    s = ops.account_summary(store, payer, now=at(201))
    assert (s.spent_month_fen, s.month_left_fen) == (90, 20)


def test_the_day_limit_starts_again_at_local_midnight(store):
    payer = account(store, CARRIER, fen=0, mode="carrier", day_limit_fen=60)
    call(store, payer, "c", "c/1", LD, at(0), 100)  # 2 min: 60 fen, the whole day
    with pytest.raises(MoneyError) as e:
        ops.authorize_leg(store, payer, "c", "c/2", LD, now=at(200))
    assert e.value.key == "limit.reached"
    midnight = T0.replace(hour=16)  # 00:00 in China (UTC+8)
    grant = ops.authorize_leg(store, payer, "d", "d/1", LD, now=midnight + timedelta(seconds=1))
    assert grant.granted_s == 120
    s = ops.account_summary(store, payer, now=midnight + timedelta(seconds=2))
    assert (s.spent_today_fen, s.spent_month_fen, s.day_left_fen) == (0, 60, 0)


def test_extending_a_carrier_leg_stops_at_the_limit(store):
    payer = account(store, CARRIER, fen=0, mode="carrier", month_limit_fen=400)
    grant = ops.authorize_leg(store, payer, "c", "c/1", LD, now=at(0), quota_s=300)
    assert not grant.final and grant.granted_s == 300
    grant = ops.extend_leg(store, "c/1", quota_s=300, now=at(270))
    assert not grant.final and grant.granted_s == 600
    grant = ops.extend_leg(store, "c/1", quota_s=300, now=at(570))
    assert grant.final and grant.granted_s == 780  # 400 fen: 13 minutes in all
    assert ops.balance(store, payer).reserved_fen == 390


def test_an_unlimited_carrier_account_is_never_refused_for_money(store):
    payer = account(store, CARRIER, fen=0, mode="carrier")
    for i in range(5):
        ops.authorize_leg(store, payer, "c", f"c/{i}", "0085221234567", now=at(0),
                          quota_s=MAX_CALL_S)  # international, a week each
    assert ops.balance(store, payer).reserved_fen > 100_000


def test_billing_changes_are_checked(store):
    payer = account(store, CARRIER, fen=500)
    for args, key in ((("postpaid",), "billing.mode"),
                      (("carrier", -1), "limit.value"),
                      (("carrier", None, 1.5), "limit.value"),
                      (("prepaid", 100), "limit.prepaid")):
        with pytest.raises(MoneyError) as e:
            ops.set_billing(store, payer, *args)
        assert e.value.key == key
    ops.authorize_leg(store, payer, "c", "c/1", LD, now=at(0))
    with pytest.raises(MoneyError) as e:
        ops.set_billing(store, payer, "carrier")
    assert e.value.key == "billing.busy"
    ops.release_leg(store, "c/1")
    s = ops.set_billing(store, payer, "carrier", 1000, 20_000)
    assert (s.billing_mode, s.day_limit_fen, s.month_limit_fen) == ("carrier", 1000, 20_000)
    assert s.balance_fen == 500  # kept for a return to prepaid
    s = ops.set_billing(store, payer, "prepaid")
    assert (s.billing_mode, s.available_fen, s.month_limit_fen) == ("prepaid", 500, None)


def test_a_carrier_billed_subscriber_books_within_the_limit_not_beyond(store):
    from confcall.booking import BookingError, BookingLimits, BookingRequest, book
    limits = BookingLimits(max_participants=4, expected_minutes=30, channels=30)
    payer = account(store, CARRIER, fen=0, mode="carrier")

    def req(start_h: int) -> BookingRequest:
        return BookingRequest(payer, payer, (LD,), T0 + timedelta(hours=start_h), 2, 60)
    assert store.run(book, req(1), now=T0, limits=limits).state.value == "booked"
    ops.set_billing(store, payer, "carrier", month_limit_fen=1_000)
    # 30 min of the initiator (mobile, local: 12) and LD (30): 1,260 fen > 1,000 left
    with pytest.raises(BookingError) as e:
        store.run(book, req(2), now=T0, limits=limits)
    assert e.value.key == "booking.no_credit"
