"""The NOC commands, against both engines."""
import csv
from datetime import UTC

import pytest
from click.testing import CliRunner

from confcall.cli import account, card, cdr, db, rate
from confcall.rating import ops


def run(group, db_url, *args, input=None):
    result = CliRunner().invoke(group, ["--db", db_url, *args], input=input)
    return result


@pytest.mark.parametrize("empty_db_url", ["sqlite", "postgresql"], indirect=True)
def test_db_upgrade_on_empty(empty_db_url):
    url = empty_db_url
    res = run(db, url, "upgrade")
    from alembic.script import ScriptDirectory

    from confcall.store.migrate import alembic_config
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_revision(script.get_current_head())
    assert res.exit_code == 0 and f"revision {head.revision}" in res.output
    assert f"revision {head.down_revision}" in run(db, url, "downgrade").output


def test_account_card_rate_flow(db_url, tmp_path):
    res = run(account, db_url, "create", "01088880000", "--pin", "482913")
    assert res.exit_code == 0, res.output
    res = run(account, db_url, "create", "01088880000", "--pin", "482913")
    assert res.exit_code == 1 and "already exists" in res.output
    out = tmp_path / "cards.csv"
    res = run(card, db_url, "generate", "--label", "Nov", "--count", "2", "--value", "5000",
              "--expires", "2099-01-01", "--out", str(out))
    assert res.exit_code == 0, res.output
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert run(card, db_url, "activate", "1").output.startswith("2 cards")
    res = run(card, db_url, "redeem", "+861088880000", rows[0]["serial"], "--pin",
              rows[0]["pin"])
    assert res.exit_code == 0 and "5000 fen" in res.output
    res = run(card, db_url, "redeem", "+861088880000", rows[0]["serial"], "--pin",
              rows[0]["pin"])
    assert res.exit_code == 1 and "it is used" in res.output
    res = run(rate, db_url, "quote", "+861088880000", "02188887777", "61")
    assert res.exit_code == 0 and "long_distance" in res.output and "60 fen" in res.output
    res = run(account, db_url, "adjust", "--reference", "x", "--note", "typo", "--",
              "+861088880000", "-100000")
    assert res.exit_code == 1 and "balance too low" in res.output
    res = run(account, db_url, "balance", "+861088880000")
    assert "balance 5000 fen" in res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("match,days,start,end,price_per_min_fen,initial_s,subsequent_s,"
                   "connect_fee_fen,min_charge_fen,free_seconds\nlocal,1234567,00:00,24:00,"
                   "ten,60,60,0,0,0\n")
    res = run(rate, db_url, "import", "default", str(bad))
    assert res.exit_code == 1 and "line 2" in res.output
    res = run(rate, db_url, "export", "default")
    assert res.exit_code == 0 and "local,1234567,00:00,24:00,10,60,60,0,0,0" in res.output


def test_statement_command(db_url):
    from confcall.store import Store
    store = Store(db_url)
    try:
        ops.create_account(store, "+861088880000", "482913")
        ops.adjust(store, "+861088880000", 700, "r1", "opening credit")
    finally:
        store.dispose()
    res = run(account, db_url, "statement", "+861088880000", "--start", "2000-01-01",
              "--end", "2100-01-01")
    assert res.exit_code == 0 and "closing balance 700 fen" in res.output


def test_unknown_areas_report_and_conference_show(db_url):
    from datetime import datetime, timedelta

    from confcall.rating.cdr import LegRecord
    from confcall.store import Store
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    store = Store(db_url)
    try:
        ops.create_account(store, "+861088880000", "482913", now=now)
        ops.adjust(store, "+861088880000", 700, "r1", "opening credit", now=now)
        ops.rate_conference(store, "+861088880000", "conf-1", now, now + timedelta(minutes=5),
                            [LegRecord("l1", "19912345678", now, now + timedelta(seconds=65),
                                       now + timedelta(seconds=5))], now=now)
    finally:
        store.dispose()
    res = run(cdr, db_url, "unknown-areas")
    assert res.exit_code == 0 and "+8619912\t1" in res.output
    res = run(cdr, db_url, "show", "conf-1")
    assert "mobile_long_distance" in res.output and "(area unknown)" in res.output
    assert "total 20 fen" in res.output
