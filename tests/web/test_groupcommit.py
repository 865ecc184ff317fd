"""Group commit through the real thread pool: bookings arriving together share one
transaction, a refused one rolls back alone, and every answer comes after the commit."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from twisted.internet import defer

from confcall.booking import BookingLimits
from confcall.store.inline import InlineRunner
from confcall.store.models import Booking
from confcall.web import booking_port
from confcall.web.groupcommit import GroupCommit

from .conftest import NOW, A


class HeldRunner(InlineRunner):
    """The inline runner, but a unit's answer waits until the test releases it: what a real
    pool does while the disk flushes (the batch behind it keeps growing)."""

    def __init__(self, store) -> None:
        super().__init__(store)
        self.held: list[defer.Deferred] = []

    def call(self, fn, *args, **kwargs):
        done = super().call(fn, *args, **kwargs)
        later: defer.Deferred = defer.Deferred()
        self.held.append(later)
        later.addCallback(lambda _: done)
        return later


def test_units_arriving_during_a_commit_share_the_next_one(world):
    runner = HeldRunner(world.store)
    group = GroupCommit(runner)
    limits = BookingLimits()
    results = []

    def book(minutes, participants=("13900139000",)):
        start = NOW + timedelta(hours=2, minutes=minutes)
        d = group.submit(booking_port.book, A, A, list(participants), start, 1, 60, False,
                         NOW, limits)
        d.addBoth(results.append)

    book(0)  # goes at once
    book(1)
    book(2, ("13900139000", "13900139000"))  # refused: a duplicate
    book(3)
    assert group.batches == 1 and len(runner.held) == 1
    runner.held[0].callback(None)
    assert group.batches == 2, "the three waiting units went together"
    assert len(results) == 1 and results[0]["state"] == "booked"
    runner.held[1].callback(None)
    assert [r["state"] if isinstance(r, dict) else r.value.key for r in results] == [
        "booked", "booked", "number.duplicate", "booked"]
    with world.store.transaction() as s:
        starts = [b.start_at.minute for b in s.scalars(select(Booking).order_by(Booking.id))]
    assert starts == [0, 1, 3]


def test_a_unit_that_fails_after_writing_leaves_nothing_and_spoils_no_other(world):
    """A unit that wrote (through the ORM and through Core) and then raised is rolled back to
    its savepoint alone: the units before and after it are stored, its rows are not, and the
    ORM objects it touched do not leak into the next unit."""
    from sqlalchemy import update

    from confcall.store.models import Account, WebSession
    from confcall.web import sessions

    results = []

    def good(session, who):
        token, _csrf = sessions.start(session, "subscriber", who, NOW)
        return token

    def bad(session):
        sessions.start(session, "subscriber", "ghost", NOW)  # ORM add, flushed
        session.execute(update(Account).values(reserved_fen=Account.reserved_fen + 7))
        account = session.scalars(select(Account)).first()
        account.balance_fen += 1_000  # a change the ORM still holds
        raise RuntimeError("the unit fails after writing")

    def reads(session):
        account = session.scalars(select(Account).order_by(Account.id)).first()
        return account.balance_fen, account.reserved_fen

    with world.store.transaction() as s:
        before = s.execute(select(Account.balance_fen, Account.reserved_fen)
                           .order_by(Account.id)).first()
    runner_held = HeldRunner(world.store)
    group = GroupCommit(runner_held)
    for fn, args in ((good, (A,)), (good, (A,)), (bad, ()), (reads, ()), (good, (A,))):
        group.submit(fn, *args).addBoth(results.append)
    runner_held.held[0].callback(None)  # the first alone, then the four together
    runner_held.held[1].callback(None)
    assert group.batches == 2
    assert isinstance(results[2].value, RuntimeError)
    assert results[3] == tuple(before), "the failed unit's writes are invisible to the next"
    with world.store.transaction() as s:
        principals = s.scalars(select(WebSession.principal)).all()
        after = s.execute(select(Account.balance_fen, Account.reserved_fen)
                          .order_by(Account.id)).first()
    assert sorted(principals) == [A, A, A]
    assert tuple(after) == tuple(before)


def test_each_batch_reports_its_time_to_answer_and_its_size(world):
    """What /metrics shows as confcall_web_commit_seconds/_units: a batch held (as a slow
    disk flush holds it) reports the whole wait, and the units that queued behind it report
    as one batch of their number; a refused unit still counts in its batch."""
    clock = [0.0]
    seen: list[tuple[float, int]] = []
    runner = HeldRunner(world.store)
    group = GroupCommit(runner, observe=lambda s, n: seen.append((s, n)),
                        clock=lambda: clock[0])
    limits = BookingLimits()
    answers: list = []
    for minutes, parts in ((0, ("13900139000",)), (1, ("13900139000",)),
                           (2, ("13900139000", "13900139000"))):
        group.submit(booking_port.book, A, A, list(parts),
                     NOW + timedelta(hours=2, minutes=minutes), 1, 60, False, NOW,
                     limits).addBoth(answers.append)
    clock[0] += 0.5  # the first batch's commit takes 500 ms
    runner.held[0].callback(None)
    assert seen == [(0.5, 1)]
    clock[0] += 0.25
    runner.held[1].callback(None)
    assert seen == [(0.5, 1), (0.25, 2)]
    assert len(answers) == 3


def test_a_failing_metric_loses_no_answer(world):
    def broken(_s: float, _n: int) -> None:
        raise ValueError("the registry is broken")

    group = GroupCommit(InlineRunner(world.store), observe=broken)
    answers: list = []
    group.submit(booking_port.book, A, A, ["13900139000"], NOW + timedelta(hours=2), 1, 60,
                 False, NOW, BookingLimits()).addBoth(answers.append)
    assert len(answers) == 1 and answers[0]["state"] == "booked"
