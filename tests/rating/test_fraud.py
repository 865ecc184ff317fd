"""Toll-fraud guards (issue 14 item 7), on SQLite and PostgreSQL: the destination blocklist
against Unicode and formatting tricks, concurrent conferences and spend velocity per account,
and the callback-storm limit per number across the box."""
from datetime import timedelta

import pytest
from click.testing import CliRunner

from confcall.cli import main
from confcall.rating import MoneyError, ops
from confcall.rating.fraud import CALLBACK, DEFAULT_MAX_CONFERENCES
from confcall.store.models import NumberRule, Reservation
from tests.rating.helpers import BEIJING, NOW, funded

SHANGHAI = "+862188880000"


@pytest.fixture
def blocked(store):
    funded(store, SHANGHAI, amount=100_000)
    with store.transaction() as s:
        s.add(NumberRule(prefix="216666", action="block", reason="fraud range"))
        s.add(NumberRule(prefix="+882", action="block", reason="satellite"))
    return store


TRICKS = [
    "02166661234", "+862166661234", "00862166661234", "+86 21 6666 1234", "+86-21-6666-1234",
    "(+86)2166661234", "+86.21.6666.1234", " 02166661234 ", "021 6666 1234", "66661234",
    "０２１６６６６１２３４",  # full-width digits
    "٠٢١٦٦٦٦١٢٣٤",  # Arabic-Indic digits
    "+86\u200b2166661234",  # zero-width space
    "+86\u00a02166661234",  # no-break space
    "+86\u202e2166661234",  # right-to-left override
    "+８６2166661234", "\ufeff02166661234", "+8621666６1234",
    "+88216123456", "00882 16 123456", "+882-16-123-456",
]


@pytest.mark.parametrize("dialled", TRICKS)
def test_blocked_destinations_stay_blocked_however_they_are_written(blocked, dialled):
    with pytest.raises(MoneyError) as err:  # "66661234": local to a Shanghai payer
        ops.authorize_leg(blocked, SHANGHAI, "c1", "c1/1", dialled, now=NOW)
    assert err.value.key in ("number.blocked", "number.malformed"), err.value
    with blocked.transaction() as s:
        assert s.query(Reservation).count() == 0


def test_the_plain_spellings_are_blocked_not_just_malformed(blocked):
    for dialled in ("02166661234", "+86 21 6666 1234", "66661234", "+88216123456"):
        with pytest.raises(MoneyError, match="not allowed"):
            ops.authorize_leg(blocked, SHANGHAI, "c1", "c1/1", dialled, now=NOW)
    ops.authorize_leg(blocked, SHANGHAI, "c1", "c1/1", "02188887777", now=NOW)  # others pass


def test_concurrent_conferences_per_account(store):
    funded(store, amount=100_000)
    for i in range(DEFAULT_MAX_CONFERENCES):
        ops.authorize_leg(store, BEIJING, f"c{i}", f"c{i}/1", f"0218888{i:04d}", now=NOW)
    ops.authorize_leg(store, BEIJING, "c0", "c0/2", "02177770000", now=NOW)  # same conference
    with pytest.raises(MoneyError, match="already has 5 conferences in progress"):
        ops.authorize_leg(store, BEIJING, "c9", "c9/1", "02166660000", now=NOW)
    ops.release_leg(store, "c0/1")
    ops.release_leg(store, "c0/2")
    ops.authorize_leg(store, BEIJING, "c9", "c9/1", "02166660000", now=NOW)  # one ended
    ops.account_limits(store, BEIJING, change=True, max_conferences=7)
    ops.authorize_leg(store, BEIJING, "c10", "c10/1", "02166660001", now=NOW)
    assert ops.balance(store, BEIJING).reserved_fen > 0


def test_spend_velocity_per_account(store):
    funded(store, amount=1_000_000)
    ops.account_limits(store, BEIJING, change=True, spend_per_hour_fen=40_000)
    # international at 300 fen/min: 18,000 fen an hour per leg in flight
    for i in range(2):
        ops.authorize_leg(store, BEIJING, "c1", f"c1/{i}", f"+1212555{i:04d}", now=NOW)
    with pytest.raises(MoneyError, match="holds 36000 fen .* its limit is 40000 fen an hour"):
        ops.authorize_leg(store, BEIJING, "c1", "c1/99", "+12125559999", now=NOW)
    assert ops.balance(store, BEIJING).reserved_fen == 2 * 1500  # the refused leg held nothing
    ops.release_leg(store, "c1/0")
    ops.authorize_leg(store, BEIJING, "c1", "c1/99", "+12125559999", now=NOW)


def test_spend_of_the_last_hour_counts_too(store):
    from confcall.rating import cdr
    funded(store, amount=1_000_000)
    ops.account_limits(store, BEIJING, change=True, spend_per_hour_fen=30_000)
    g = ops.authorize_leg(store, BEIJING, "c1", "c1/1", "+12125550001", now=NOW)
    rec = cdr.LegRecord(g.reference, "+12125550001", NOW, NOW + timedelta(minutes=50), NOW)
    ops.settle_leg(store, BEIJING, "c1", rec, now=NOW + timedelta(minutes=50))  # 15,000 fen
    with pytest.raises(MoneyError, match="spent or holds 15000 fen"):
        ops.authorize_leg(store, BEIJING, "c2", "c2/1", "+12125550002",
                          now=NOW + timedelta(minutes=51))
    ops.authorize_leg(store, BEIJING, "c2", "c2/1", "+12125550002",
                      now=NOW + timedelta(minutes=61))  # an hour after it began


def test_callback_storm_to_one_number_across_accounts(store):
    victim = "02188887777"
    payers = [funded(store, f"+8610888800{i:02d}", amount=100_000) for i in range(3)]
    for k in range(CALLBACK.burst):
        payer = payers[k % 3]
        ops.authorize_leg(store, payer, f"c{k}", f"c{k}/1", victim, now=NOW)
        ops.release_leg(store, f"c{k}/1")
    with pytest.raises(MoneyError, match="too many calls to \\+862188887777"):
        ops.authorize_leg(store, payers[0], "cx", "cx/1", victim, now=NOW)
    ops.authorize_leg(store, payers[0], "cy", "cy/1", "02188887778", now=NOW)  # others ring
    later = NOW + timedelta(seconds=CALLBACK.base_s)
    ops.authorize_leg(store, payers[0], "cz", "cz/1", victim, now=later)  # it leaks


def test_limits_cli(store):
    funded(store, amount=0)
    r = CliRunner().invoke(main, ["account", "--db", store.url, "limits", BEIJING])
    assert r.exit_code == 0 and "at most 5 conferences at once" in r.output and \
        "(box defaults)" in r.output
    r = CliRunner().invoke(main, ["account", "--db", store.url, "limits", BEIJING,
                                  "--max-conferences", "2", "--spend-per-hour", "5000"])
    assert r.exit_code == 0 and "at most 2 conferences at once, 5000 fen" in r.output
    r = CliRunner().invoke(main, ["account", "--db", store.url, "limits", BEIJING,
                                  "--max-conferences", "0"])
    assert r.exit_code == 1 and "--max-conferences: a whole number from 1 to 1000" in r.output
    r = CliRunner().invoke(main, ["account", "--db", store.url, "limits", BEIJING, "--default"])
    assert r.exit_code == 0 and "(box defaults)" in r.output


def test_the_box_defaults_come_from_the_config_file(store):
    from confcall.config import ConfigError, parse_config
    from confcall.rating import fraud
    cfg = parse_config({"fraud": {"max_conferences": 1, "spend_per_hour_fen": 50_000,
                                  "callbacks_per_number": 2}})
    assert (cfg.fraud_max_conferences, cfg.fraud_spend_per_hour_fen,
            cfg.fraud_callbacks_per_number) == (1, 50_000, 2)
    for bad, key in (({"max_conferences": 0}, "fraud.max_conferences"),
                     ({"spend_per_hour_fen": -1}, "fraud.spend_per_hour_fen"),
                     ({"callbacks_per_number": 1.5}, "fraud.callbacks_per_number"),
                     ({"max_calls": 3}, "fraud.max_calls")):
        with pytest.raises(ConfigError) as err:
            parse_config({"fraud": bad}, "box.toml")
        assert key in str(err.value) and str(err.value).startswith("box.toml: ")
    funded(store, amount=100_000)
    try:
        fraud.configure(cfg.fraud_max_conferences, cfg.fraud_spend_per_hour_fen,
                        cfg.fraud_callbacks_per_number)
        ops.authorize_leg(store, BEIJING, "c1", "c1/1", "02188887777", now=NOW)
        with pytest.raises(MoneyError, match="already has 1 conferences"):
            ops.authorize_leg(store, BEIJING, "c2", "c2/1", "02188887778", now=NOW)
        ops.authorize_leg(store, BEIJING, "c1", "c1/2", "02188887777", now=NOW)
        with pytest.raises(MoneyError, match="too many calls"):
            ops.authorize_leg(store, BEIJING, "c1", "c1/3", "02188887777", now=NOW)
    finally:
        fraud.configure()


def test_racing_conferences_cannot_pass_the_limit_together(store):
    """Eight conferences start at once on one account (threads behind a barrier): exactly the
    limit get a leg, the others are refused — the check runs under the hold's row lock."""
    import threading
    funded(store, amount=1_000_000)
    gate = threading.Barrier(8)
    outcomes = []

    def start(i):
        gate.wait(timeout=30)
        try:
            ops.authorize_leg(store, BEIJING, f"c{i}", f"c{i}/1", f"0218888{i:04d}", now=NOW)
            outcomes.append("granted")
        except MoneyError as err:
            outcomes.append(err.key)
    threads = [threading.Thread(target=start, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["fraud.conferences"] * (8 - DEFAULT_MAX_CONFERENCES) + \
        ["granted"] * DEFAULT_MAX_CONFERENCES
