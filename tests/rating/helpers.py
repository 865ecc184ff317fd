"""Shared helpers for the money tests (fixed clock, accounts with money)."""
from datetime import UTC, datetime

from confcall.rating import ops

# Wednesday 2026-11-25 12:00 UTC = 20:00 Beijing time
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
BEIJING = "+861088880000"
PIN = "482913"


def funded(store, number=BEIJING, amount=10_000, pin=PIN):
    ops.create_account(store, number, pin, now=NOW)
    if amount:
        ops.adjust(store, number, amount, f"fund-{number}", "test funding", now=NOW)
    return number


def redeem_in_process(url, number, serial, pin, barrier, results):
    """Child-process body for the cross-process redemption race."""
    from confcall.rating import MoneyError, secrets_
    from confcall.store import Store
    secrets_.configure("test")
    secrets_.set_pepper(b"test-pepper")
    store = Store(url)
    barrier.wait()
    try:
        ops.recharge_by_card(store, number, serial, pin, source="cli", now=NOW)
        results.put("ok")
    except MoneyError as err:
        results.put(err.key)
    finally:
        store.dispose()


def settle_then_die(url, record):
    """Child-process body: write the debit inside the transaction, then die before COMMIT."""
    import os

    from confcall.rating import cdr, secrets_
    from confcall.store import Store
    secrets_.set_pepper(b"test-pepper")
    real_post = cdr.post

    def post_and_die(*args, **kwargs):
        real_post(*args, **kwargs)
        os._exit(9)  # the process is killed between rating/debit and commit
    cdr.post = post_and_die
    ops.settle_leg(Store(url), BEIJING, "c1", record, now=NOW)


def snapshot(store, skip=()):
    """Every row of every table (sorted), to compare before and after a refusal; of the
    128,000 seeded area prefixes, their count and every operator row.  ``skip``: tables a
    refusal is meant to write (the guessing throttles count refused tries)."""
    from sqlalchemy import func, select

    from confcall.store.models import Base
    out = {}
    with store.transaction() as s:
        for table in Base.metadata.sorted_tables:
            if table.name in skip:
                continue
            q = select(table)
            if table.name == "area_prefixes":
                out["area_prefixes.count"] = s.execute(select(func.count()).select_from(table)
                                                       ).scalar_one()
                q = q.where(table.c.source == "operator")
            rows = s.execute(q).all()
            out[table.name] = sorted(tuple(str(v) for v in r) for r in rows)
    return out
