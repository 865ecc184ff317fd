"""Property tests (issue 14, "done when"): whatever rate rows, card operations and account
commands an operator or a caller throws at the money core, on SQLite and PostgreSQL, the
answer is a result or a ``MoneyError`` — never another exception — and a refusal leaves the
database exactly as it was (the guessing throttles excepted: counting refused tries is their
job)."""
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confcall.rating import MoneyError, ops
from confcall.rating.rates import CSV_COLUMNS, decode_rate_file
from tests.rating.helpers import BEIJING, NOW, funded, snapshot

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

# text an operator might type, and what a careless or hostile one might
junk = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="0123456789", max_size=20),
    st.text(alphabet="٠١٢٣٤٥٦٧٨٩０１２３４５６７８９+-:", max_size=12),
    st.sampled_from(["", " ", "-1", "1e9", "3000000000", "1" + "0" * 30, "NaN", "24:00",
                     "00:00", "12:60", "7654321", "1234567", "0", "+86", "+86138", "local",
                     "international", "blocked", "\x00", "x" * 200]),
)
good_int = st.integers(min_value=0, max_value=5000).map(str)


def _rate_row():
    return st.tuples(
        st.one_of(st.sampled_from(["local", "long_distance", "international", "+86138", "+1"]),
                  junk),
        st.one_of(st.sampled_from(["1234567", "12345", "67", "7654321"]), junk),
        st.one_of(st.sampled_from(["00:00", "08:00", "21:00"]), junk),
        st.one_of(st.sampled_from(["24:00", "21:00", "12:00"]), junk),
        *[st.one_of(good_int, junk) for _ in range(6)],
    ).map(lambda r: ",".join(f.replace(",", ";").replace("\n", " ").replace("\r", " ")
                             .replace('"', "'") for f in r))


rate_files = st.one_of(
    st.lists(_rate_row(), max_size=5).map(lambda rows: "\n".join([",".join(CSV_COLUMNS),
                                                                  *rows]) + "\n"),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", "replace")),
)


def refused_or_done(store, fn, *args, skip=(), **kwargs):
    before = snapshot(store, skip)
    try:
        fn(store, *args, **kwargs)
    except MoneyError:
        assert snapshot(store, skip) == before
        return "refused"
    return "done"


@SETTINGS
@given(body=rate_files, plan=st.one_of(st.sampled_from(["default", "p2"]), junk),
       raw=st.binary(max_size=60))
def test_rate_imports(store, body, plan, raw):
    if refused_or_done(store, ops.import_rates, plan, body) == "done":
        again = ops.export_rates(store, plan)  # what was stored reads back and re-imports
        assert ops.import_rates(store, plan, again) == again.count("\n") - 1
    try:
        decode_rate_file(raw)
    except MoneyError:
        pass


card_op = st.one_of(
    st.tuples(st.just("generate"), st.one_of(st.text(max_size=130), st.just("batch")),
              st.one_of(st.integers(-5, 5), st.integers(), st.just(10**30)),
              st.one_of(st.integers(-10, 10**8), st.just(10**30), st.floats(), st.just(True))),
    st.tuples(st.just("activate"), st.integers() | st.just(10**30)),
    st.tuples(st.just("void_batch"), st.integers() | st.just(-(10**30))),
    st.tuples(st.just("void"), junk),
    st.tuples(st.just("unblock"), junk),
    st.tuples(st.just("redeem"), st.one_of(junk, st.just(BEIJING)), junk, junk),
)


@SETTINGS
@given(ops_=st.lists(card_op, min_size=1, max_size=6))
def test_card_operations(store, ops_):
    try:
        funded(store, amount=0)
    except MoneyError:
        pass  # an earlier example made it
    for op in ops_:
        kind, *args = op
        if kind == "generate":
            label, count, value = args
            count = count if not isinstance(count, int) or count < 20 else 3  # keep it quick
            refused_or_done(store, ops.generate_cards, label, count, value,
                            NOW + timedelta(days=30), now=NOW)
        elif kind == "activate":
            refused_or_done(store, ops.activate_batch, args[0])
        elif kind == "void_batch":
            refused_or_done(store, ops.void_batch, args[0])
        elif kind == "void":
            refused_or_done(store, ops.void_card, args[0])
        elif kind == "unblock":
            refused_or_done(store, ops.unblock_card, args[0])
        else:
            number, serial, pin = args
            refused_or_done(store, ops.recharge_by_card, number, serial, pin, source="cli",
                            now=NOW, skip=("auth_throttles",))


account_cmd = st.one_of(
    st.tuples(st.just("create"), junk, junk, st.one_of(st.none(), junk),
              st.one_of(st.none(), junk)),
    st.tuples(st.just("adjust"), st.one_of(st.just(BEIJING), junk),
              st.one_of(st.integers(), st.just(10**30), st.just(-(10**30))), junk, junk),
    st.tuples(st.just("plan"), st.one_of(st.just(BEIJING), junk), junk),
    st.tuples(st.just("lock"), st.one_of(st.just(BEIJING), junk)),
    st.tuples(st.just("unlock"), st.one_of(st.just(BEIJING), junk)),
    st.tuples(st.just("limits"), st.one_of(st.just(BEIJING), junk),
              st.one_of(st.none(), st.integers()), st.one_of(st.none(), st.integers())),
    st.tuples(st.just("billing"), st.one_of(st.just(BEIJING), junk), junk,
              st.one_of(st.none(), st.integers()), st.one_of(st.none(), st.integers())),
    st.tuples(st.just("auth"), st.one_of(st.just(BEIJING), junk), junk),
)


@SETTINGS
@given(cmds=st.lists(account_cmd, min_size=1, max_size=6))
def test_account_commands(store, cmds):
    try:
        funded(store, amount=100)
    except MoneyError:
        pass
    for kind, *args in cmds:
        if kind == "create":
            number, pin, area, plan = args
            refused_or_done(store, ops.create_account, number, pin, area, plan, now=NOW)
        elif kind == "adjust":
            number, amount, ref, note = args
            refused_or_done(store, ops.adjust, number, amount, ref, note, now=NOW)
        elif kind == "plan":
            refused_or_done(store, ops.set_plan, *args)
        elif kind == "lock":
            refused_or_done(store, ops.lock_account, *args)
        elif kind == "unlock":
            refused_or_done(store, ops.unlock_account, *args)
        elif kind == "limits":
            number, conf, spend = args
            refused_or_done(store, ops.account_limits, number, change=True,
                            max_conferences=conf, spend_per_hour_fen=spend)
        elif kind == "billing":
            number, mode, day, month = args
            refused_or_done(store, ops.set_billing, number, mode, day, month)
        else:
            number, pin = args
            refused_or_done(store, ops.authenticate, number, pin, source="ani:+8613900000001",
                            now=NOW, skip=("auth_throttles",))


@pytest.mark.parametrize("pin", ["", "١٢٣٤٥٦", "12345\x00", "9" * 10_000])
def test_hostile_pins_are_refused_cleanly(store, pin):
    funded(store, amount=0)
    with pytest.raises(MoneyError):
        ops.authenticate(store, BEIJING, pin, source="ip:203.0.113.9", now=NOW)
