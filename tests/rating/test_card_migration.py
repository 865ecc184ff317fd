"""Cards generated before issue 14 (12-digit sequential serials, PIN stored as a bare HMAC)
keep working after migration 0010, which wraps their HMAC in argon2id without knowing any PIN
— on SQLite and PostgreSQL."""
import hashlib
import hmac
from datetime import timedelta

import pytest
from sqlalchemy import text

from confcall.rating import MoneyError, ops
from confcall.rating.cards import luhn_digit
from confcall.store import Store, upgrade
from tests.rating.helpers import BEIJING, NOW

ENGINES = pytest.mark.parametrize("empty_db_url", ["sqlite", "postgresql"], indirect=True)


def legacy_hash(serial, pin):
    return hmac.new(b"test-pepper", f"card:{serial}:{pin}".encode(), hashlib.sha256).hexdigest()


@ENGINES
def test_old_cards_redeem_after_the_migration(empty_db_url):
    url = empty_db_url
    upgrade(url, "0007")
    serials = [f"00001{i:06d}" for i in (1, 2, 3)]
    serials = [s + luhn_digit(s) for s in serials]
    pins = ["482913001234", "482913005678", "482913009999"]
    store = Store(url)
    try:
        with store.transaction() as s:
            s.execute(text("INSERT INTO card_batches (id, label, value_fen, count, expires_at, "
                           "created_at) VALUES (1, 'old', 500, 3, :e, :c)"),
                      {"e": NOW + timedelta(days=30), "c": NOW})
            for serial, pin, state in zip(serials, pins, ("active", "active", "used"), strict=True):
                s.execute(text("INSERT INTO cards (batch_id, serial, pin_hash, state, value_fen, "
                               "expires_at, failures) VALUES (1, :s, :h, :st, 500, :e, 0)"),
                          {"s": serial, "h": legacy_hash(serial, pin), "st": state,
                           "e": NOW + timedelta(days=30)})
        upgrade(url)
        with store.transaction() as s:
            stored = dict(s.execute(text("SELECT serial, pin_hash FROM cards")).all())
        assert stored[serials[0]].startswith("$argon2id$")  # wrapped
        assert stored[serials[2]] == legacy_hash(serials[2], pins[2])  # used: left alone
        ops.create_account(store, BEIJING, "482913", home_area="10", now=NOW)
        with pytest.raises(MoneyError, match="wrong card number or card PIN"):
            ops.recharge_by_card(store, BEIJING, serials[0], "000000000000", source="cli",
                                 now=NOW)
        assert ops.recharge_by_card(store, BEIJING, serials[0], pins[0], source="cli",
                                    now=NOW).balance_fen == 500
        with store.transaction() as s:  # a bare HMAC (a box not yet migrated) still verifies
            s.execute(text("UPDATE cards SET pin_hash = :h WHERE serial = :s"),
                      {"h": legacy_hash(serials[1], pins[1]), "s": serials[1]})
        assert ops.recharge_by_card(store, BEIJING, serials[1], pins[1], source="cli",
                                    now=NOW).balance_fen == 1000
    finally:
        store.dispose()
