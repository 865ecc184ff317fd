"""Prepaid cards: generation, states, redemption, lockouts, and the redemption race."""
import csv
import threading
from datetime import timedelta

import pytest

from confcall.rating import MoneyError, ops
from confcall.rating.cards import luhn_digit, valid_serial, write_print_file
from confcall.rating.ledger import audit
from confcall.rating.throttle import SOURCE, TARGET
from confcall.store.models import Card, CardBatch, LedgerEntry
from tests.rating.helpers import BEIJING, NOW, funded

EXPIRES = NOW + timedelta(days=365)


def batch(store, count=3, value=5000, activate=True):
    batch_id, printed = ops.generate_cards(store, "test batch", count, value, EXPIRES, now=NOW)
    if activate:
        assert ops.activate_batch(store, batch_id) == count
    return batch_id, printed


def test_generation_serials_pins_and_print_file(store, tmp_path):
    batch_id, printed = batch(store, count=20, activate=False)
    serials = [s for s, _ in printed]
    assert len(set(serials)) == 20 and all(valid_serial(s) for s in serials)
    assert all(len(s) == 16 for s in serials)
    # not sequential: no two serials share their first 10 digits (10^-10 chance each pair)
    assert len({s[:10] for s in serials}) == 20
    assert all(len(p) == 12 and p.isdigit() for _, p in printed)
    assert len({p for _, p in printed}) == 20
    with store.transaction() as s:
        stored = s.query(Card.pin_hash, Card.state).all()
        b = s.get(CardBatch, batch_id)
        write_print_file(str(tmp_path / "print.csv"), b, printed)
    assert all(pin not in h and h.startswith("$argon2id$")
               for (h, _), (_, pin) in zip(stored, printed, strict=True))
    assert {state for _, state in stored} == {"generated"}
    with open(tmp_path / "print.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["serial"], r["pin"]) for r in rows] == printed
    with pytest.raises(FileExistsError), store.transaction() as s:  # written once, never over
        write_print_file(str(tmp_path / "print.csv"), s.get(CardBatch, batch_id), printed)


def test_luhn_catches_a_typo():
    body = "00001000001"
    serial = body + luhn_digit(body)
    assert valid_serial(serial)
    assert not valid_serial(serial[:-1] + str((int(serial[-1]) + 1) % 10))
    assert not valid_serial(serial[1:] + serial[0]) or serial[1:] + serial[0] == serial


def test_redeem_once(store):
    funded(store, amount=0)
    _, [(serial, pin), *_] = batch(store)
    assert ops.recharge_by_card(store, "01088880000", serial, pin,
                                source="cli", now=NOW).balance_fen == 5000
    with pytest.raises(MoneyError, match="it is used"):
        ops.recharge_by_card(store, BEIJING, serial, pin, source="cli", now=NOW)
    with store.transaction() as s:
        entry = s.query(LedgerEntry).filter_by(reference=f"card:{serial}").one()
        card = s.query(Card).filter_by(serial=serial).one()
        assert (entry.kind, entry.amount_fen, entry.card_id, entry.actor) == \
            ("recharge", 5000, card.id, BEIJING)
        assert entry.created_at == NOW and card.used_at == NOW and card.used_by == 1
        assert audit(s, 1) == (5000, 5000)


def test_card_states_and_errors(store):
    funded(store, amount=0)
    _, [(g_serial, g_pin)] = batch(store, count=1, activate=False)
    with pytest.raises(MoneyError, match="it is generated"):
        ops.recharge_by_card(store, BEIJING, g_serial, g_pin, source="cli", now=NOW)
    _, [(a, a_pin), (b, b_pin), (c, c_pin)] = batch(store)
    ops.void_card(store, a)
    with pytest.raises(MoneyError, match="it is void"):
        ops.recharge_by_card(store, BEIJING, a, a_pin, source="cli", now=NOW)
    with pytest.raises(MoneyError, match="expired on"):
        ops.recharge_by_card(store, BEIJING, b, b_pin,
                             source="cli", now=EXPIRES + timedelta(seconds=1))
    with pytest.raises(MoneyError, match="it is expired"):
        ops.recharge_by_card(store, BEIJING, b, b_pin, source="cli", now=NOW)
    unknown = "999990000010001"
    with pytest.raises(MoneyError, match="wrong card number or card PIN"):  # as a wrong PIN
        ops.recharge_by_card(store, BEIJING, unknown + luhn_digit(unknown), c_pin,
                             source="cli", now=NOW)
    with pytest.raises(MoneyError, match="check digit"):
        ops.recharge_by_card(store, BEIJING, c[:-1] + str((int(c[-1]) + 1) % 10), c_pin,
                             source="cli", now=NOW)
    with pytest.raises(MoneyError, match="no account"):
        ops.recharge_by_card(store, "+862188880000", c, c_pin, source="cli", now=NOW)
    assert ops.balance(store, BEIJING).balance_fen == 0
    with pytest.raises(MoneyError, match="cannot be used"):
        ops.void_card(store, a)


@pytest.mark.parametrize("count,value,expires,key", [
    (0, 100, EXPIRES, "card.batch_count"), (100_001, 100, EXPIRES, "card.batch_count"),
    (1, 0, EXPIRES, "amount.range"), (1, -5, EXPIRES, "amount.range"),
    (1, 10.5, EXPIRES, "amount.type"), (1, 100, NOW, "card.expiry"),
])
def test_bad_batches(store, count, value, expires, key):
    with pytest.raises(MoneyError) as err:
        ops.generate_cards(store, "x", count, value, expires, now=NOW)
    assert err.value.key == key
    with store.transaction() as s:
        assert s.query(CardBatch).count() == 0


def test_wrong_card_pins_throttle_the_source_then_the_card_never_for_good(store):
    funded(store, amount=0)
    _, [(serial, pin)] = batch(store, count=1)
    attacker = "ani:+8613900000001"
    for i in range(SOURCE.burst):
        last = i == SOURCE.burst - 1
        with pytest.raises(MoneyError, match="too many wrong card numbers or card PINs" if last
                           else "wrong card number or card PIN"):
            ops.recharge_by_card(store, BEIJING, serial, "000000000000", source=attacker,
                                 now=NOW)
    with pytest.raises(MoneyError, match="too many wrong card numbers"):  # that source waits
        ops.recharge_by_card(store, BEIJING, serial, pin, source="ani:+8613900000001", now=NOW)
    for i in range(TARGET.burst - SOURCE.burst):  # other sources: until the card's own limit
        with pytest.raises(MoneyError, match="wrong card"):
            ops.recharge_by_card(store, BEIJING, serial, "000000000000",
                                 source=f"ani:+86139000001{i:02d}", now=NOW)
    with pytest.raises(MoneyError, match="too many wrong card numbers or card PINs"):
        ops.recharge_by_card(store, BEIJING, serial, pin, source="ani:+8613900000777", now=NOW)
    later = NOW + timedelta(seconds=TARGET.cap_s)  # no permanent lock: the back-off ends
    assert ops.recharge_by_card(store, BEIJING, serial, pin, source="ani:+8613900000777",
                                now=later).balance_fen == 5000


def test_two_threads_redeeming_the_same_card_exactly_one_succeeds(store):
    funded(store, amount=0)
    funded(store, "+862188880000", amount=0)
    for _round in range(5):
        _, [(serial, pin)] = batch(store, count=1)
        barrier = threading.Barrier(2)
        results: list[object] = []

        def redeem(number, barrier=barrier, results=results, serial=serial, pin=pin):
            barrier.wait()
            try:
                results.append(ops.recharge_by_card(store, number, serial, pin,
                                                    source="cli", now=NOW))
            except MoneyError as err:
                results.append(err)

        threads = [threading.Thread(target=redeem, args=(n,))
                   for n in (BEIJING, "+862188880000")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ok = [r for r in results if not isinstance(r, MoneyError)]
        refused = [r for r in results if isinstance(r, MoneyError)]
        assert len(ok) == 1 and len(refused) == 1, results
        assert refused[0].key == "card.state"
    total = ops.balance(store, BEIJING).balance_fen + \
        ops.balance(store, "+862188880000").balance_fen
    assert total == 5 * 5000
    with store.transaction() as s:
        assert s.query(LedgerEntry).filter(LedgerEntry.kind == "recharge").count() == 5


def test_two_processes_redeeming_the_same_card_exactly_one_succeeds(store, db_url):
    import multiprocessing

    from tests.rating.helpers import redeem_in_process
    funded(store, amount=0)
    funded(store, "+862188880000", amount=0)
    _, [(serial, pin)] = batch(store, count=1)
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    store.dispose()  # no inherited connections in the children
    procs = [ctx.Process(target=redeem_in_process,
                         args=(db_url, n, serial, pin, barrier, results))
             for n in (BEIJING, "+862188880000")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    outcomes = sorted(results.get(timeout=5) for _ in procs)
    assert outcomes == ["card.state", "ok"]
    assert ops.balance(store, BEIJING).balance_fen + \
        ops.balance(store, "+862188880000").balance_fen == 5000


def test_operator_unblocks_a_card_and_every_lock_it_reports_is_gone(store):
    from confcall.store.models import AuthThrottle
    funded(store, amount=0)
    _, [(serial, pin)] = batch(store, count=1)
    for i in range(TARGET.burst):
        with pytest.raises(MoneyError):
            ops.recharge_by_card(store, BEIJING, serial, "000000000000",
                                 source=f"ip:198.51.100.{i}", now=NOW)
    with pytest.raises(MoneyError, match="too many wrong card numbers or card PINs"):
        ops.recharge_by_card(store, BEIJING, serial, pin, source="ip:198.51.100.99", now=NOW)
    cleared = ops.unblock_card(store, serial)
    assert cleared == [f"card:to:{serial}"]
    with store.transaction() as s:
        card = s.query(Card).filter_by(serial=serial).one()
        row = s.get(AuthThrottle, f"card:to:{serial}")
        assert card.failures == 0 and row.failures == 0 and row.blocked_until is None
    assert ops.unblock_card(store, serial) == []  # nothing left to report
    assert ops.recharge_by_card(store, BEIJING, serial, pin, source="ip:198.51.100.99",
                                now=NOW).balance_fen == 5000


def test_redemptions_interleaved_inside_their_transactions_still_single_use(store,
                                                                            monkeypatch):
    """Both transactions read the card as active and check the PIN before either claims it
    (forced with a barrier on PostgreSQL; SQLite's BEGIN IMMEDIATE cannot interleave them):
    the conditional claim lets exactly one through."""
    from confcall.rating import secrets_
    funded(store, amount=0)
    funded(store, "+862188880000", amount=0)
    _, [(serial, pin)] = batch(store, count=1)
    if store.dialect == "postgresql":
        barrier = threading.Barrier(2)
        real = secrets_.check_card_pin

        def check_then_wait(*args):
            ok = real(*args)
            barrier.wait(timeout=30)
            return ok
        monkeypatch.setattr(secrets_, "check_card_pin", check_then_wait)
    results: list[object] = []

    def redeem(number):
        try:
            results.append(ops.recharge_by_card(store, number, serial, pin, source="cli", now=NOW))
        except MoneyError as err:
            results.append(err.key)

    threads = [threading.Thread(target=redeem, args=(n,)) for n in (BEIJING, "+862188880000")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(str(r) if isinstance(r, str) else "ok" for r in results) == \
        ["card.state", "ok"]
    with store.transaction() as s:
        assert s.query(LedgerEntry).filter_by(kind="recharge").count() == 1
