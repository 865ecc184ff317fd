"""Credit control and CDR rating: holds, final grants, warnings, concurrent conferences on one
balance, a crash between rating and debit, itemised conference records — on both engines."""
import threading
from datetime import timedelta

import pytest

from confcall.rating import MoneyError, cdr, ops
from confcall.rating.cdr import LegRecord
from confcall.rating.ledger import audit
from confcall.store.models import Account, LedgerEntry, Leg
from tests.rating.helpers import BEIJING, NOW, funded


def leg(ref, dest, answered_after=5, talk=61):
    ans = NOW + timedelta(seconds=answered_after) if talk is not None else None
    end = (ans + timedelta(seconds=talk)) if ans else NOW + timedelta(seconds=30)
    return LegRecord(ref, dest, NOW, end, ans)


def state(store):
    with store.transaction() as s:
        acc = s.query(Account).filter_by(number=BEIJING).one()
        return acc.balance_fen, acc.reserved_fen, audit(s, acc.id)


def test_grant_hold_and_settle(store):
    funded(store, amount=1000)
    g = ops.authorize_leg(store, BEIJING, "c1", "c1/1", "021 8888 7777", now=NOW, quota_s=120)
    assert (g.number_class, g.granted_s, g.reserved_fen, g.final) == \
        ("long_distance", 120, 60, False)
    assert ops.balance(store, BEIJING).available_fen == 940
    bill = ops.settle_leg(store, BEIJING, "c1", leg("c1/1", "021 8888 7777", talk=61), now=NOW)
    assert (bill.billed_s, bill.amount_fen) == (120, 60)
    assert state(store) == (940, 0, (940, 940))


def test_final_grant_with_warnings_and_exhaustion(store):
    funded(store, amount=95)  # 30 fen/min long distance: 3 minutes, 5 fen left over
    g = ops.authorize_leg(store, BEIJING, "c1", "c1/1", "02188887777", now=NOW,
                          quota_s=120, warnings_s=(60, 30))
    assert (g.granted_s, g.final) == (120, False)
    g = ops.extend_leg(store, "c1/1", quota_s=120, warnings_s=(60, 30))
    assert (g.granted_s, g.reserved_fen, g.final) == (180, 90, True)
    assert g.warnings_s == (120, 150)  # 60 s and 30 s before the end
    again = ops.extend_leg(store, "c1/1", quota_s=120)
    assert (again.granted_s, again.final) == (180, True)
    with pytest.raises(MoneyError, match="balance too low: 30 fen needed, 5 fen available"):
        ops.authorize_leg(store, BEIJING, "c1", "c1/2", "02188887778", now=NOW)
    ops.settle_leg(store, BEIJING, "c1", leg("c1/1", "02188887777", talk=180), now=NOW)
    assert state(store) == (5, 0, (5, 5))


def test_blocked_and_malformed_refused_before_dialling(store):
    funded(store, amount=1000)
    with pytest.raises(MoneyError, match="emergency"):
        ops.authorize_leg(store, BEIJING, "c1", "c1/1", "110", now=NOW)
    with pytest.raises(MoneyError, match="not a phone number"):
        ops.authorize_leg(store, BEIJING, "c1", "c1/2", "12x", now=NOW)
    assert state(store)[:2] == (1000, 0)


def test_unanswered_leg_costs_nothing_and_releases_its_hold(store):
    funded(store, amount=1000)
    ops.authorize_leg(store, BEIJING, "c1", "c1/1", "13912345678", now=NOW)
    bill = ops.settle_leg(store, BEIJING, "c1", leg("c1/1", "13912345678", talk=None), now=NOW)
    assert bill.amount_fen == 0 and bill.number_class == "mobile_long_distance"
    assert state(store) == (1000, 0, (1000, 1000))


def test_conference_record_itemises_legs_for_the_payer(store):
    funded(store, amount=10_000)
    legs = [leg("c9/1", "88887777", talk=59),          # local 10/min: 10
            leg("c9/2", "13800138000", talk=60),       # mobile local 12/min: 12
            leg("c9/3", "13912345678", talk=61),       # mobile long distance 20/min: 40
            leg("c9/4", "+12125550123", talk=30),      # international 300/min: 300
            leg("c9/5", "4008123456", talk=300),       # free
            leg("c9/6", "02188887777", talk=None)]     # unanswered
    bill = ops.rate_conference(store, BEIJING, "c9", NOW, NOW + timedelta(minutes=10), legs,
                               now=NOW)
    assert [(x.number_class, x.amount_fen) for x in bill.legs] == [
        ("local", 10), ("mobile_local", 12), ("mobile_long_distance", 40),
        ("international", 300), ("free", 0), ("long_distance", 0)]
    assert bill.total_fen == 362 and bill.payer == BEIJING
    assert state(store) == (10_000 - 362, 0, (9638, 9638))
    st = ops.statement(store, BEIJING, NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert len(st.legs) == 6 and sum(e[2] for e in st.entries) == 9638


def test_crash_between_rating_and_debit_neither_loses_nor_doubles(store, monkeypatch):
    funded(store, amount=1000)
    real_post = cdr.post
    calls = {"n": 0}

    def crashing_post(*args, **kwargs):
        calls["n"] += 1
        real_post(*args, **kwargs)  # the debit is written in the transaction...
        if calls["n"] == 1:
            raise SystemExit("power cut")  # ...and the process dies before the commit

    monkeypatch.setattr(cdr, "post", crashing_post)
    record = leg("c1/1", "02188887777", talk=61)
    with pytest.raises(SystemExit):
        ops.settle_leg(store, BEIJING, "c1", record, now=NOW)
    assert state(store) == (1000, 0, (1000, 1000))  # nothing half-done
    with store.transaction() as s:
        assert s.query(Leg).count() == 0
    first = ops.settle_leg(store, BEIJING, "c1", record, now=NOW)   # the retry after restart
    second = ops.settle_leg(store, BEIJING, "c1", record, now=NOW)  # a duplicate retry
    assert first == second and first.amount_fen == 60
    assert state(store) == (940, 0, (940, 940))
    with store.transaction() as s:
        assert s.query(LedgerEntry).filter_by(kind="debit").count() == 1


def test_five_concurrent_conferences_on_one_balance_never_overdraw(store):
    funded(store, amount=1000)
    errors: list[BaseException] = []
    barrier = threading.Barrier(5)

    def conference(i):
        try:
            barrier.wait()
            for n in range(100):
                ref = f"c{i}/{n}"
                dest = f"8{i}88{n:04d}"  # a new number each time: no callback storm
                try:
                    g = ops.authorize_leg(store, BEIJING, f"c{i}", ref, dest, now=NOW,
                                          quota_s=60)
                    while not g.final and g.granted_s < 180:
                        g = ops.extend_leg(store, ref, quota_s=60)
                except MoneyError as err:
                    assert err.key == "funds.insufficient"
                    return
                ops.settle_leg(store, BEIJING, f"c{i}",
                               leg(ref, dest, talk=g.granted_s), now=NOW)
                balance, reserved, _ = state(store)
                assert balance >= 0 and reserved <= balance
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=conference, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    balance, reserved, (column, ledger_sum) = state(store)
    assert (balance, reserved) == (0, 0)  # all spent, nothing more
    assert column == ledger_sum == 0
    with store.transaction() as s:
        debits = s.query(LedgerEntry).filter_by(kind="debit").all()
        assert sum(-d.amount_fen for d in debits) == 1000
        assert not any("uncollected" in d.note for d in debits)
        assert sum(x.amount_fen for x in s.query(Leg).all()) == 1000


def test_abandoned_holds_are_released(store):
    from confcall.rating.credit import release_stale
    funded(store, amount=1000)
    ops.authorize_leg(store, BEIJING, "c1", "c1/1", "02188887777", now=NOW, quota_s=120)
    ops.authorize_leg(store, BEIJING, "c2", "c2/1", "02188887777", now=NOW + timedelta(hours=1),
                      quota_s=120)
    assert ops.balance(store, BEIJING).available_fen == 880
    released = store.run(release_stale, NOW + timedelta(seconds=120 + 3600))
    assert released == ["c1/1"]
    assert ops.balance(store, BEIJING).available_fen == 940
    assert store.run(release_stale, NOW + timedelta(seconds=120 + 3600)) == []


def test_two_holds_decided_on_the_same_stale_balance_cannot_both_pass(store, monkeypatch):
    """Both conferences compute their grant from the same free balance before either holds
    it (forced on PostgreSQL; SQLite serialises them): the conditional UPDATE refuses one."""
    from confcall.rating import credit
    funded(store, amount=60)  # one minute of long distance
    if store.dialect == "postgresql":
        barrier = threading.Barrier(2)
        real = credit._hold

        def hold_together(*args):
            barrier.wait(timeout=30)
            return real(*args)
        monkeypatch.setattr(credit, "_hold", hold_together)
    outcomes: list[str] = []

    def start(i):
        try:
            ops.authorize_leg(store, BEIJING, f"c{i}", f"c{i}/1", "02188887777", now=NOW,
                              quota_s=120)
            outcomes.append("granted")
        except MoneyError as err:
            outcomes.append(err.key)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["funds.insufficient", "granted"]
    balance, reserved, _ = state(store)
    assert (balance, reserved) == (60, 60)


def test_process_killed_before_commit_then_retry_debits_once(store, db_url):
    import multiprocessing

    from tests.rating.helpers import settle_then_die
    funded(store, amount=1000)
    ops.authorize_leg(store, BEIJING, "c1", "c1/1", "02188887777", now=NOW, quota_s=120)
    record = leg("c1/1", "02188887777", talk=61)
    store.dispose()
    child = multiprocessing.get_context("fork").Process(target=settle_then_die,
                                                         args=(db_url, record))
    child.start()
    child.join(60)
    assert child.exitcode == 9
    assert state(store) == (1000, 60, (1000, 1000))  # nothing committed, hold still there
    assert ops.settle_leg(store, BEIJING, "c1", record, now=NOW).amount_fen == 60
    assert ops.settle_leg(store, BEIJING, "c1", record, now=NOW).amount_fen == 60
    assert state(store) == (940, 0, (940, 940))
