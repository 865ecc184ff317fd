"""The reactor-side credit control of a leg, in virtual time (task.Clock), on both engines."""
from datetime import timedelta

from twisted.internet import task
from twisted.internet.defer import fail, succeed

from confcall.rating import MoneyError, ops
from confcall.rating.leg_credit import LegCredit
from tests.rating.helpers import BEIJING, NOW, funded


class InlineRunner:
    """Runs the operation at once (the real DbRunner defers it to the thread pool)."""

    def __init__(self, store):
        self.store = store

    def call_plain(self, fn, *args, **kwargs):
        try:
            return succeed(fn(self.store, *args, **kwargs))
        except Exception as exc:  # noqa: BLE001
            return fail(exc)


def make(store, clock, events, dialled="02188887777"):
    return LegCredit(clock, InlineRunner(store), BEIJING, "c1", "c1/1", dialled,
                     on_warning=lambda ref, left: events.append(("warn", clock.seconds(), left)),
                     on_exhausted=lambda ref: events.append(("clear", clock.seconds())),
                     quota_s=120, warnings_s=(60, 30), margin_s=20,
                     now=lambda: NOW + timedelta(seconds=clock.seconds()))


def test_warnings_then_clearing_when_credit_runs_out(store):
    funded(store, amount=95)  # 30 fen/min: 180 s
    clock, events = task.Clock(), []
    credit = make(store, clock, events)
    grants = []
    credit.authorize().addCallback(grants.append)
    assert grants[0].granted_s == 120 and not grants[0].final
    credit.answered()
    clock.advance(100)  # extension asked at 120 - 20 s: becomes final at 180 s
    assert credit.grant.final and credit.grant.granted_s == 180
    clock.pump([10] * 10)
    assert events == [("warn", 120, 60), ("warn", 150, 30), ("clear", 180)]
    bills = []
    credit.ended(NOW, NOW, NOW + timedelta(seconds=180)).addCallback(bills.append)
    assert bills[0].amount_fen == 90


def test_enough_credit_keeps_extending_silently(store):
    funded(store, amount=100_000)
    clock, events = task.Clock(), []
    credit = make(store, clock, events)
    credit.authorize()
    credit.answered()
    clock.pump([50] * 72)  # one hour
    assert events == [] and credit.grant.granted_s >= 3600


def test_no_credit_refuses_before_dialling(store):
    funded(store, amount=0)
    clock, events = task.Clock(), []
    failures = []
    make(store, clock, events).authorize().addErrback(failures.append)
    assert failures[0].check(MoneyError) and "balance too low" in failures[0].getErrorMessage()


def test_failed_leg_gives_the_hold_back(store):
    funded(store, amount=1000)
    clock, events = task.Clock(), []
    credit = make(store, clock, events)
    credit.authorize()
    credit.failed()
    assert ops.balance(store, BEIJING).available_fen == 1000
