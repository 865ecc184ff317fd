"""Accounts, PINs and the append-only ledger, on both engines."""
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from confcall.rating import MoneyError, ops
from confcall.rating.ledger import audit, post
from confcall.rating.throttle import SOURCE
from confcall.store.models import Account
from tests.rating.helpers import BEIJING, NOW, PIN, funded


def test_create_account_with_home_area_from_number(store):
    assert ops.create_account(store, "010-8888-0000", PIN, now=NOW) == BEIJING
    assert ops.create_account(store, "13912345678", PIN, now=NOW) == "+8613912345678"
    with store.transaction() as s:
        homes = dict(s.query(Account.number, Account.home_area).all())
    assert homes == {BEIJING: "10", "+8613912345678": "519"}
    assert ops.balance(store, BEIJING).balance_fen == 0


@pytest.mark.parametrize("number,pin,key", [
    ("abc", PIN, "number.malformed"), (BEIJING, "12345", "pin.format"),
    (BEIJING, "12a456", "pin.format"), (BEIJING, "1234567890123", "pin.format"),
    (BEIJING, "111111", "pin.weak"), (BEIJING, "123456", "pin.weak"),
    (BEIJING, "987654", "pin.weak"), ("19912345678", PIN, "area.invalid"),
])
def test_bad_account_input(store, number, pin, key):
    with pytest.raises(MoneyError) as err:
        ops.create_account(store, number, pin, now=NOW)
    assert err.value.key == key and err.value.text("zh")
    with store.transaction() as s:
        assert s.query(Account).count() == 0


def test_duplicate_account(store):
    funded(store, amount=0)
    with pytest.raises(MoneyError, match="already exists"):
        ops.create_account(store, "01088880000", PIN, now=NOW)


def test_authenticate_and_wrong_pin_lockout(store):
    funded(store, amount=0)
    assert ops.authenticate(store, BEIJING, PIN, source="cli", now=NOW) == BEIJING
    for _ in range(SOURCE.burst - 1):
        with pytest.raises(MoneyError, match="wrong password"):
            ops.authenticate(store, BEIJING, "000001", source="cli", now=NOW)
    with pytest.raises(MoneyError, match="too many wrong passwords .* after 2026-11-25 12:00:30"):
        ops.authenticate(store, BEIJING, "000001", source="cli", now=NOW)
    with pytest.raises(MoneyError, match="too many wrong passwords"):  # even the right PIN
        ops.authenticate(store, BEIJING, PIN, source="cli", now=NOW + timedelta(seconds=1))
    later = NOW + timedelta(seconds=SOURCE.base_s)
    assert ops.authenticate(store, BEIJING, PIN, source="cli", now=later) == BEIJING


def test_change_password(store):
    funded(store, amount=0)
    with pytest.raises(MoneyError, match="differ"):
        ops.change_password(store, BEIJING, PIN, "593017", "593018", source="cli", now=NOW)
    with pytest.raises(MoneyError, match="wrong password"):
        ops.change_password(store, BEIJING, "000001", "593017", "593017", source="cli", now=NOW)
    with pytest.raises(MoneyError, match="too easy"):
        ops.change_password(store, BEIJING, PIN, "222222", "222222", source="cli", now=NOW)
    ops.change_password(store, BEIJING, PIN, "593017", "593017", source="cli", now=NOW)
    assert ops.authenticate(store, BEIJING, "593017", source="cli", now=NOW) == BEIJING
    with pytest.raises(MoneyError, match="wrong password"):
        ops.authenticate(store, BEIJING, PIN, source="cli", now=NOW)


def test_pin_is_hashed_with_argon2id_and_pepper(store):
    funded(store, amount=0)
    with store.transaction() as s:
        stored = s.query(Account.pin_hash).scalar()
    assert stored.startswith("$argon2id$") and PIN not in stored


def test_locked_account_refuses(store):
    funded(store, amount=0)
    ops.lock_account(store, BEIJING)
    with pytest.raises(MoneyError, match="is locked"):
        ops.authenticate(store, BEIJING, PIN, source="cli", now=NOW)
    ops.unlock_account(store, BEIJING)
    assert ops.authenticate(store, BEIJING, PIN, source="cli", now=NOW) == BEIJING


def test_ledger_reference_makes_a_retry_harmless(store):
    funded(store, amount=0)
    with store.transaction() as s:
        acc = s.query(Account).one()
        first = post(s, acc.id, "adjustment", 500, "ref-1", NOW, note="goodwill")
        again = post(s, acc.id, "adjustment", 500, "ref-1", NOW, note="goodwill")
        assert first.applied and not again.applied and again.entry.id == first.entry.id
        with pytest.raises(MoneyError, match="already used"):
            post(s, acc.id, "adjustment", 700, "ref-1", NOW)
    ops.adjust(store, BEIJING, 500, "ref-2", "goodwill", now=NOW)
    ops.adjust(store, BEIJING, 500, "ref-2", "goodwill", now=NOW)
    assert ops.balance(store, BEIJING).balance_fen == 1000


def test_conditional_debit_never_goes_negative(store):
    funded(store, amount=100)
    with pytest.raises(MoneyError, match="balance too low: 101 fen needed, 100 fen"):
        ops.adjust(store, BEIJING, -101, "d1", "test", now=NOW)
    ops.adjust(store, BEIJING, -100, "d2", "test", now=NOW)
    assert ops.balance(store, BEIJING).balance_fen == 0
    with store.transaction() as s:
        assert audit(s, 1) == (0, 0)


@pytest.mark.parametrize("amount", [0, 1.5, "100", True, 10**12, None])
def test_absurd_amounts_refused(store, amount):
    funded(store, amount=0)
    with pytest.raises(MoneyError) as err:
        ops.adjust(store, BEIJING, amount, "x", "test", now=NOW)
    assert err.value.key in ("amount.type", "amount.range")
    assert ops.balance(store, BEIJING).balance_fen == 0


def test_ledger_is_append_only(store):
    funded(store, amount=100)
    for sql in ("UPDATE ledger SET amount_fen = 1000000", "DELETE FROM ledger"):
        with pytest.raises(DBAPIError, match="append-only"), store.transaction() as s:
            s.execute(text(sql))
    assert ops.balance(store, BEIJING).balance_fen == 100


def test_balance_check_constraint_is_the_last_guard(store):
    funded(store, amount=100)
    with pytest.raises(DBAPIError), store.transaction() as s:
        s.execute(text("UPDATE accounts SET balance_fen = -1"))


def test_naive_times_refused(store):
    with pytest.raises(MoneyError, match="no time zone"):
        ops.create_account(store, BEIJING, PIN, now=NOW.replace(tzinfo=None))


def test_statement(store):
    funded(store, amount=1000)
    ops.adjust(store, BEIJING, -300, "d1", "correction", now=NOW + timedelta(days=1))
    st = ops.statement(store, BEIJING, NOW + timedelta(hours=1), NOW + timedelta(days=2))
    assert (st.opening_fen, st.closing_fen) == (1000, 700)
    assert [e[1:3] for e in st.entries] == [("adjustment", -300)]


def test_argon2_never_runs_inside_a_transaction(store, monkeypatch):
    from confcall.rating import secrets_
    seen = []
    real_hash, real_verify = secrets_.hash_pin, secrets_.verify_pin

    def hash_pin(pin):
        seen.append(store.engine.pool.checkedout())
        return real_hash(pin)

    def verify_pin(stored, pin):
        seen.append(store.engine.pool.checkedout())
        return real_verify(stored, pin)

    monkeypatch.setattr(secrets_, "hash_pin", hash_pin)
    monkeypatch.setattr(secrets_, "verify_pin", verify_pin)
    funded(store, amount=0)
    ops.authenticate(store, BEIJING, PIN, source="cli", now=NOW)
    ops.change_password(store, BEIJING, PIN, "593017", "593017", source="cli", now=NOW)
    assert seen and set(seen) == {0}  # no connection (so no transaction, no lock) held


def test_check_caller_for_the_access_number(store):
    with pytest.raises(MoneyError, match="no account"):
        ops.check_caller(store, BEIJING)
    funded(store, amount=50)
    assert ops.check_caller(store, BEIJING, min_available_fen=50).available_fen == 50
    with pytest.raises(MoneyError, match="balance too low: 100 fen needed, 50 fen"):
        ops.check_caller(store, BEIJING, min_available_fen=100)
    ops.lock_account(store, BEIJING)
    with pytest.raises(MoneyError, match="is locked"):
        ops.check_caller(store, BEIJING)


def test_every_message_has_english_and_chinese():
    from confcall.rating.errors import MESSAGES
    for key, (en, zh) in MESSAGES.items():
        assert en and zh and en != zh, key
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), key


@pytest.mark.parametrize("kwargs,key", [
    ({"kind": "bonus"}, "adjust.kind"), ({"note": ""}, "adjust.note"),
    ({"kind": "refund", "amount_fen": -5}, "amount.range"),
])
def test_bad_adjustments(store, kwargs, key):
    funded(store, amount=0)
    args = {"amount_fen": 100, "reference": "r", "note": "why", **kwargs}
    with pytest.raises(MoneyError) as err:
        ops.adjust(store, BEIJING, now=NOW, **args)
    assert err.value.key == key
    assert ops.balance(store, BEIJING).balance_fen == 0
