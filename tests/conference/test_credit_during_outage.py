"""While the database is away, a leg runs on the credit it holds and no longer (issue 13, item 3).

The leg's credit extension waits in its conference's write queue behind a write the database
cannot take; the leg is cleared when its grant runs out, not when (or if) the database comes
back. With the database there, the same leg is extended and runs on."""
import shutil

from sqlalchemy.exc import OperationalError

from confcall.conference.money import RatingMoney
from confcall.rating import ops
from confcall.sim.threads import CountingPool, ThreadedClock
from confcall.store import Store
from confcall.store.runner import DbRunner
from tests.pgcluster import template

from box_harness import NOW

PAYER, B = "+8613800138000", "13900139000"


def _setup(tmp_path):
    shutil.copyfile(template("sqlite", None), tmp_path / "db")
    store = Store(f"sqlite:///{tmp_path / 'db'}")
    ops.create_account(store, PAYER, "482913", now=NOW)
    ops.adjust(store, PAYER, 100_000, "fund", "test funding", now=NOW)
    pool = CountingPool(1, 4)
    clock = ThreadedClock(pool)
    pool.start()
    money = RatingMoney(clock, DbRunner(store, clock, pool=pool), epoch=NOW, quota_s=60)
    return store, pool, clock, money


def _leg(clock, money, exhausted):
    got = []
    money.authorize(PAYER, "conf-1", "conf-1/1", B, on_warning=lambda ref, left: None,
                    on_exhausted=lambda ref: exhausted.append(clock.seconds())
                    ).addCallback(got.append)
    clock.settle()
    leg = got[0]
    leg.answered()
    return leg


def test_the_leg_ends_when_its_held_credit_does_while_the_db_is_away(tmp_path):
    store, pool, clock, money = _setup(tmp_path)
    try:
        exhausted = []
        leg = _leg(clock, money, exhausted)
        assert leg.credit.grant.granted_s == 60 and not leg.credit.grant.final
        away = {"on": True}

        def interim(session):  # the conference's queue is stuck on this while the DB is away
            if away["on"]:
                raise OperationalError("UPDATE", {}, ConnectionRefusedError("server down"))

        clock.advance(20)
        money.writes.call("conf-1", interim)
        for _ in range(40):  # 40 s: the extension (at 30 s) waits behind the stuck write
            clock.advance(1)
        assert exhausted == [60.0]  # cleared at the end of its grant, to the second
        away["on"] = False
        for _ in range(30):
            clock.advance(1)
        assert money.writes.idle() and exhausted == [60.0]
    finally:
        pool.stop()
        store.dispose()


def test_with_the_db_there_the_leg_is_extended_and_runs_on(tmp_path):
    store, pool, clock, money = _setup(tmp_path)
    try:
        exhausted = []
        leg = _leg(clock, money, exhausted)
        for _ in range(100):
            clock.advance(1)
        assert exhausted == [] and leg.credit.grant.granted_s == 180  # extended at 30 s, 90 s
    finally:
        pool.stop()
        store.dispose()
