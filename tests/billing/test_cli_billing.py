"""The NOC's billing commands (both engines): `account billing|summary`, `cdr list` with its
filters and --json, `cdr export`, `cdr outbox` — and their one-line refusals."""
import csv
import io
import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from confcall.billing import cdrfiles, outbox
from confcall.billing.cdrfiles import CdrPolicy
from confcall.cli import account as account_cli
from confcall.cli import cdr as cdr_cli
from confcall.ids import box_id
from tests.billing.charged_legs import account, at, call


def run(group, store, *args):
    return CliRunner().invoke(group, ["--db", store.url, *args])


def test_account_billing_and_summary(store):
    payer = account(store, "+8613800138000", fen=1_000)
    res = run(account_cli, store, "summary", payer)
    assert res.exit_code == 0 and "prepaid, balance 1000 fen" in res.output
    res = run(account_cli, store, "billing", payer, "carrier", "--month-limit", "20000")
    assert res.exit_code == 0 and "carrier, month limit 20000 fen" in res.output
    just_now = datetime.now(UTC) - timedelta(seconds=1)  # the command counts up to now
    call(store, payer, "c", "c/1", "02087654321", just_now, 125)
    res = run(account_cli, store, "summary", payer)
    assert "carrier-billed; today 90 fen" in res.output and "no limit" in res.output
    assert "this month 90 fen (0.90 yuan) (limit 20000 fen (200.00 yuan), left 19910 fen" \
        in res.output
    res = run(account_cli, store, "billing", payer, "carrier", "--day-limit", "-5")
    assert res.exit_code == 1 and "day limit must be a whole number of fen" in res.output
    res = run(account_cli, store, "billing", payer, "postpaid")
    assert res.exit_code == 2 and "'postpaid' is not one of 'prepaid', 'carrier'" in res.output


def test_cdr_list_filters_and_json(store, radius_outbox):
    a = account(store, "+8613800138000")
    b = account(store, "+8613900139000", fen=0, mode="carrier")
    call(store, a, "ca", "ca/1", "02087654321", at(0), 125)
    call(store, a, "ca", "ca/2", "13700137000", at(5), 50)
    call(store, b, "cb", "cb/1", "01062345678", at(3600), 61)
    res = run(cdr_cli, store, "list")
    assert res.exit_code == 0 and res.output.endswith("3 call(s), 170 fen\n")
    res = run(cdr_cli, store, "list", "--account", "13900139000", "--json")
    lines = json.loads(res.output)
    assert [(x["leg"], x["billing_mode"], x["amount_fen"], x["number_class"])
            for x in lines] == [("cb/1", "carrier", 60, "long_distance")]  # 13900.. is not Beijing
    assert lines[0]["answered_at"] == "2026-11-25T05:00:00Z" and lines[0]["session_id"]
    every = json.loads(run(cdr_cli, store, "list", "--json").output)
    for cls in {x["number_class"] for x in every}:
        res = run(cdr_cli, store, "list", "--class", cls, "--json")
        assert [x["leg"] for x in json.loads(res.output)] == \
            [x["leg"] for x in every if x["number_class"] == cls]
    assert json.loads(run(cdr_cli, store, "list", "--class", "international", "--json")
                      .output) == []
    res = run(cdr_cli, store, "list", "--number", "+8613700137000", "--json")
    assert [x["leg"] for x in json.loads(res.output)] == ["ca/2"]
    res = run(cdr_cli, store, "list", "--conference", "ca", "--from", "2026-11-25T04:00:01",
              "--json")
    assert [x["leg"] for x in json.loads(res.output)] == ["ca/2"]
    res = run(cdr_cli, store, "list", "--from", "2026-11-25T12:30:00+08:00", "--json")
    assert [x["leg"] for x in json.loads(res.output)] == ["cb/1"]
    res = run(cdr_cli, store, "list", "--csv")  # the same rows as --json, for spreadsheets
    assert res.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(res.output)))
    assert [(r["leg"], int(r["amount_fen"]), r["answered_at"]) for r in rows] == \
        [(x["leg"], x["amount_fen"], x["answered_at"]) for x in every]
    res = run(cdr_cli, store, "list", "--csv", "--json")
    assert res.exit_code == 2 and "choose one output format" in res.output
    for args, words in ((("--class", "cheap"), "class: 'cheap' is not one of"),
                        (("--from", "yesterday"), "'yesterday' is not an ISO date/time"),
                        (("--account", "12ab"), "account: '12ab' is not a phone number"),
                        (("--from", "2026-11-26", "--to", "2026-11-25"), "to: must be later"),
                        (("--limit", "0"), "limit: 0 is outside")):
        res = run(cdr_cli, store, "list", *args)
        assert res.exit_code == 2 and words in res.output, res.output
    res = run(cdr_cli, store, "outbox")
    assert res.exit_code == 0 and res.output.startswith("6 record(s) waiting")  # start + stop
    store.run(outbox.mark_sent, {"127.0.0.1:1813": [1, 2]}, at(7200))
    res = run(cdr_cli, store, "outbox", "--purge-sent-before", "2026-11-25T07:00:00Z")
    assert res.output.startswith("2 acknowledged record(s) deleted\n4 record(s) waiting")


def test_cdr_export_recreates_the_files_of_a_period(store, tmp_path):
    payer = account(store, "+8613800138000")
    policy = CdrPolicy(tmp_path / "box", rotate_s=600, rotate_records=2)
    for i in range(5):
        call(store, payer, f"c{i}", f"c{i}/1", "02087654321", at(100 * i), 30)
    written = cdrfiles.flush(store, box_id(), policy, at(1000))
    assert [f.records for f in written] == [2, 2]  # the fifth waits for its rotation
    out = tmp_path / "out"
    res = run(cdr_cli, store, "export", "--from", "2026-11-25T04:00:00Z", "--to",
              "2026-11-25T04:08:00Z", "--dir", str(out))
    assert res.exit_code == 0, res.output
    assert "2 file(s)" in res.output and "1 record(s) of the period are in no file" in res.output
    for f in written:
        assert (out / f.path.name).read_bytes() == f.path.read_bytes()
        assert (out / (f.path.name + ".sha256")).read_text() == \
            f.path.with_name(f.path.name + ".sha256").read_text()
    res = run(cdr_cli, store, "export", "--from", "2026-11-25T04:00:00Z", "--to",
              "2026-11-25T04:08:00Z", "--dir", str(out), "--one-file")
    assert res.exit_code == 0 and ": 5 record(s), 150 fen" in res.output
    res = run(cdr_cli, store, "export", "--from", "2026-11-25T05:00", "--to", "2026-11-25T04:00",
              "--dir", str(out))
    assert res.exit_code == 2 and "must be later than --from" in res.output
