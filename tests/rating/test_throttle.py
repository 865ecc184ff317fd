"""Guessing throttles (issue 14 items 1-2), on SQLite and PostgreSQL.

Bursts go through the real ``DbRunner`` thread pool (24 threads, started together behind a
barrier), so the attempts really race for the bucket rows; the number of PIN checks is what
the callers observe (``pin.wrong`` answers) and what argon2 was asked (a counting spy)."""
import threading
from datetime import timedelta

import pytest
from twisted.python.threadpool import ThreadPool

from confcall.rating import MoneyError, ops, secrets_
from confcall.rating.throttle import SOURCE, TARGET
from confcall.store import DbRunner
from tests.rating.helpers import BEIJING, NOW, PIN, funded

BURST = 24
EXPIRES = NOW + timedelta(days=365)


class ThreadReactor:
    """Delivers the pool's results on the worker thread (the tests run no reactor)."""

    def callFromThread(self, f, *args, **kwargs):
        f(*args, **kwargs)


def burst(store, calls):
    """Run every ``(fn, args, kwargs)`` at once on a 24-thread DbRunner; their outcomes."""
    pool = ThreadPool(BURST, BURST, name="test-db")
    runner = DbRunner(store, ThreadReactor(), pool=pool)
    gate = threading.Barrier(len(calls))
    done = threading.Semaphore(0)
    outcomes: list[str] = []
    lock = threading.Lock()

    def job(store_, fn, args, kwargs):
        gate.wait(timeout=60)
        return fn(store_, *args, **kwargs)

    def record(value):
        with lock:
            outcomes.append(value)
        done.release()

    pool.start()
    try:
        for fn, args, kwargs in calls:
            d = runner.call_plain(job, fn, args, kwargs)
            d.addCallbacks(lambda _: record("ok"),
                           lambda f: record(f.value.key if f.check(MoneyError) else repr(f)))
        for _ in calls:
            assert done.acquire(timeout=120)
    finally:
        pool.stop()
    return sorted(outcomes)


@pytest.fixture
def checks(monkeypatch):
    """How many argon2 PIN checks ran (a spy: the real check still runs)."""
    counted = []
    real_pin, real_card = secrets_.verify_pin, secrets_.check_card_pin

    def verify_pin(stored, pin):
        counted.append("pin")
        return real_pin(stored, pin)

    def check_card_pin(stored, serial, pin):
        counted.append("card")
        return real_card(stored, serial, pin)
    monkeypatch.setattr(secrets_, "verify_pin", verify_pin)
    monkeypatch.setattr(secrets_, "check_card_pin", check_card_pin)
    return counted


def test_parallel_guesses_from_one_source_get_exactly_the_burst(store, checks):
    funded(store, amount=0)
    wrong = [f"{n:06d}" for n in range(135790, 135790 + BURST)]
    calls = [(ops.authenticate, (BEIJING, pin), {"source": "ani:+8613900000001", "now": NOW})
             for pin in wrong]
    outcomes = burst(store, calls)
    assert len(checks) == SOURCE.burst  # the burst's last check answers "wait until …"
    assert outcomes.count("pin.wrong") == SOURCE.burst - 1
    assert outcomes.count("account.pin_locked") == BURST - SOURCE.burst + 1


def test_parallel_guesses_from_many_sources_get_exactly_the_accounts_burst(store, checks):
    funded(store, amount=0)
    calls = [(ops.authenticate, (BEIJING, "135791"), {"source": f"ip:203.0.113.{i}",
                                                      "now": NOW}) for i in range(BURST)]
    outcomes = burst(store, calls)
    assert len(checks) == TARGET.burst
    assert outcomes.count("pin.wrong") == TARGET.burst - 1
    assert outcomes.count("account.pin_locked") == BURST - TARGET.burst + 1


def test_parallel_card_guesses_get_exactly_the_burst(store, checks):
    funded(store, amount=0)
    batch_id, [(serial, pin)] = ops.generate_cards(store, "b", 1, 5000, EXPIRES, now=NOW)
    ops.activate_batch(store, batch_id)
    calls = [(ops.recharge_by_card, (BEIJING, serial, f"{n:012d}"),
              {"source": "ani:+8613900000001", "now": NOW}) for n in range(BURST)]
    outcomes = burst(store, calls)
    assert len(checks) == SOURCE.burst
    assert outcomes.count("card.wrong_pin") == SOURCE.burst - 1
    assert outcomes.count("card.account_locked") == BURST - SOURCE.burst + 1
    assert ops.balance(store, BEIJING).balance_fen == 0
    # the holder, from elsewhere, still recharges
    assert ops.recharge_by_card(store, BEIJING, serial, pin, source="ani:+8613900000002",
                                now=NOW).balance_fen == 5000


def test_the_right_pin_inside_a_burst_counts_as_one_of_the_allowed_checks(store, checks):
    funded(store, amount=0)
    pins = [PIN] + [f"{n:06d}" for n in range(135790, 135790 + BURST - 1)]
    calls = [(ops.authenticate, (BEIJING, pin), {"source": "ani:+8613900000001", "now": NOW})
             for pin in pins]
    outcomes = burst(store, calls)
    assert len(checks) <= SOURCE.burst + outcomes.count("ok") * SOURCE.burst
    if "ok" not in outcomes:  # it came after the burst was spent: refused unchecked
        assert len(checks) == SOURCE.burst == outcomes.count("pin.wrong") + 1


def test_an_attacker_is_throttled_while_the_owner_gets_in_from_their_number(store):
    funded(store, amount=0)
    attacker = "ani:+8613900000001"
    for _ in range(SOURCE.burst):
        with pytest.raises(MoneyError, match="wrong password"):  # the last: too many …
            ops.authenticate(store, BEIJING, "135791", source=attacker, now=NOW)
    for i in range(TARGET.burst):  # and from many web addresses: the account's own limit
        with pytest.raises(MoneyError):
            ops.authenticate(store, BEIJING, "135791", source=f"ip:203.0.113.{i}", now=NOW)
    with pytest.raises(MoneyError, match="too many wrong passwords"):
        ops.authenticate(store, BEIJING, PIN, source=attacker, now=NOW)
    with pytest.raises(MoneyError, match="too many wrong passwords"):
        ops.authenticate(store, BEIJING, PIN, source="ip:198.51.100.1", now=NOW)
    # the owner's own phone is not held back by what others did
    assert ops.authenticate(store, BEIJING, PIN, source=f"ani:{BEIJING}", now=NOW) == BEIJING
    assert ops.authenticate(store, BEIJING, PIN, source="ani:01088880000", now=NOW) == BEIJING
    assert ops.balance(store, BEIJING, PIN, source=f"ani:{BEIJING}", now=NOW).balance_fen == 0
    # and nobody is locked out for good: the web gets in once the back-off ends
    later = NOW + timedelta(seconds=TARGET.cap_s)
    assert ops.authenticate(store, BEIJING, PIN, source="ip:198.51.100.1", now=later) == BEIJING


def test_at_most_100_failed_checks_per_hour_per_account(store, checks):
    """An attacker with a new address for every try, one try every 10 s for an hour."""
    funded(store, amount=0)
    answers = []
    for i in range(360):
        try:
            ops.authenticate(store, BEIJING, "135791", source=f"ip:10.0.{i // 250}.{i % 250}",
                             now=NOW + timedelta(seconds=10 * i))
        except MoneyError as err:
            answers.append(err.key)
    assert TARGET.burst <= len(checks) <= 100  # a throttle, not a lock, and within NIST's
    assert answers.count("pin.wrong") < len(checks)
    later = NOW + timedelta(hours=1, seconds=TARGET.cap_s)
    assert ops.authenticate(store, BEIJING, PIN, source="ip:10.9.9.9", now=later) == BEIJING


def test_the_owners_own_typos_back_off_but_never_lock_for_good(store):
    funded(store, amount=0)
    me = f"ani:{BEIJING}"
    t = NOW
    for _round in range(4):
        for _ in range(SOURCE.burst):
            try:
                ops.authenticate(store, BEIJING, "135791", source=me, now=t)
            except MoneyError as err:
                assert err.key in ("pin.wrong", "account.pin_locked")
        t += timedelta(seconds=SOURCE.cap_s)
    assert ops.authenticate(store, BEIJING, PIN, source=me, now=t) == BEIJING


def test_unknown_account_answers_like_a_wrong_pin_and_is_throttled_alike(store, checks):
    funded(store, amount=0)
    for number in (BEIJING, "+861088889999"):
        with pytest.raises(MoneyError) as err:
            ops.authenticate(store, number, "135791", source="ip:203.0.113.5", now=NOW)
        assert err.value.key == "pin.wrong" and str(err.value) == "wrong password"
    assert len(checks) == 2  # the unknown number cost one argon2 check too (a dummy one)
    for _ in range(SOURCE.burst - 2):
        with pytest.raises(MoneyError):
            ops.authenticate(store, "+861088889999", "135791", source="ip:203.0.113.5",
                             now=NOW)
    with pytest.raises(MoneyError, match="too many wrong passwords"):
        ops.authenticate(store, "+861088889999", "135791", source="ip:203.0.113.5", now=NOW)


def test_unknown_card_answers_like_a_wrong_pin(store, checks):
    funded(store, amount=0)
    batch_id, [(serial, _)] = ops.generate_cards(store, "b", 1, 5000, EXPIRES, now=NOW)
    ops.activate_batch(store, batch_id)
    from confcall.rating.cards import luhn_digit
    body = "4" + serial[1:-1] if serial[0] != "4" else "5" + serial[1:-1]
    unknown = body + luhn_digit(body)
    texts = []
    for s in (serial, unknown):
        with pytest.raises(MoneyError) as err:
            ops.recharge_by_card(store, BEIJING, s, "000000000000", source="cli", now=NOW)
        texts.append((err.value.key, err.value.text("en"), err.value.text("zh")))
    assert texts[0] == texts[1] and texts[0][0] == "card.wrong_pin"
    assert len(checks) == 2


def test_idle_buckets_are_purged_but_blocked_ones_kept(store):
    from confcall.rating import throttle
    from confcall.store.models import AuthThrottle
    for i in range(3):
        with pytest.raises(MoneyError):
            ops.authenticate(store, "+861088889999", "135791", source=f"ip:192.0.2.{i}",
                             now=NOW)
    with store.transaction() as s:
        s.add(AuthThrottle(key="pin:src:ip:192.0.2.99", failures=40, leak_at=NOW,
                           blocked_until=NOW + timedelta(days=3)))
    gone = store.run(throttle.purge, NOW + timedelta(days=2))
    with store.transaction() as s:
        assert [r.key for r in s.query(AuthThrottle)] == ["pin:src:ip:192.0.2.99"]
    assert gone == 4  # three sources and the number's bucket
