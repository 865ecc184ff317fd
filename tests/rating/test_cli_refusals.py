"""Every bad operator input through the CLI (issue 14 item 5), on SQLite and PostgreSQL: a
one-line error naming the field and the rule, a non-zero exit, no traceback, and the
database exactly as it was (every row of every table compared)."""
from datetime import timedelta

import pytest
from click.testing import CliRunner

from confcall.cli import main
from confcall.rating import ops
from tests.rating.helpers import BEIJING, NOW, funded, snapshot

HEADER = ("match,days,start,end,price_per_min_fen,initial_s,subsequent_s,connect_fee_fen,"
          "min_charge_fen,free_seconds\n")
ROW = "local,1234567,00:00,24:00,10,60,60,0,0,0\n"
LONG = "x" * 121


@pytest.fixture
def box(store):
    funded(store, amount=1_000)
    batch_id, _ = ops.generate_cards(store, "b", 1, 500, NOW + timedelta(days=3650),
                                     now=NOW)
    ops.activate_batch(store, batch_id)
    return store


def rate_file(tmp_path, body: str | bytes, name="rates.csv"):
    path = tmp_path / name
    if isinstance(body, str):
        path.write_text(body, encoding="utf-8")
    else:
        path.write_bytes(body)
    return str(path)


# (id, args (FILE: rate file body, OUT: an unwritable path), what the error must name)
CASES = [
    ("header-only", ["rate", "import", "default", ("FILE", HEADER)], "no rate rows"),
    ("empty-file", ["rate", "import", "default", ("FILE", "")], "empty file"),
    ("same-weekdays-twice", ["rate", "import", "default",
                             ("FILE", HEADER + ROW + "local,7654321,00:00,24:00,99,60,60,0,0,0\n")],
     "line 3: duplicate row for local days 1234567"),
    ("same-width-overlap", ["rate", "import", "default",
                            ("FILE", HEADER + ROW + "+86138,12345,08:00,12:00,10,60,60,0,0,0\n"
                             "+86138,12345,10:00,14:00,20,60,60,0,0,0\n")], "overlaps"),
    ("free-a-year", ["rate", "import", "default",
                     ("FILE", HEADER + "local,1234567,00:00,24:00,10,60,60,0,0,31536000\n")],
     "free_seconds must be at most 3600"),
    ("free-3e9", ["rate", "import", "default",
                  ("FILE", HEADER + "local,1234567,00:00,24:00,10,60,60,0,0,3000000000\n")],
     "free_seconds must be a whole non-negative number"),
    ("free-10^30", ["rate", "import", "default",
                    ("FILE", HEADER + "local,1234567,00:00,24:00,10,60,60,0,0," + "1" + "0" * 30
                     + "\n")], "free_seconds must be a whole"),
    ("free-3e9-sci", ["rate", "import", "default",
                      ("FILE", HEADER + "local,1234567,00:00,24:00,10,60,60,0,0,3e9\n")],
     "free_seconds must be a whole"),
    ("unicode-prefix", ["rate", "import", "default",
                        ("FILE", HEADER + ROW + "+١٣٨,1234567,00:00,24:00,10,60,60,0,0,0\n")],
     "prefix '+١٣٨' must be + and 1 to 15 digits"),
    ("unicode-price", ["rate", "import", "default",
                       ("FILE", HEADER + "local,1234567,00:00,24:00,١٠,60,60,0,0,0\n")],
     "price_per_min_fen must be a whole"),
    ("unicode-time", ["rate", "import", "default",
                      ("FILE", HEADER + "local,1234567,٠٨:00,24:00,10,60,60,0,0,0\n")],
     "is not HH:MM"),
    ("unicode-days", ["rate", "import", "default",
                      ("FILE", HEADER + "local,١٢٣,00:00,24:00,10,60,60,0,0,0\n")], "days must"),
    ("day-8", ["rate", "import", "default",
               ("FILE", HEADER + "local,18,00:00,24:00,10,60,60,0,0,0\n")], "days must"),
    ("day-twice", ["rate", "import", "default",
                   ("FILE", HEADER + "local,112,00:00,24:00,10,60,60,0,0,0\n")], "days must"),
    ("time-24:30", ["rate", "import", "default",
                    ("FILE", HEADER + "local,1234567,00:00,24:30,10,60,60,0,0,0\n")],
     "out of range"),
    ("unknown-class", ["rate", "import", "default",
                       ("FILE", HEADER + "premium,1234567,00:00,24:00,10,60,60,0,0,0\n")],
     "unsupported match"),
    ("long-prefix", ["rate", "import", "default",
                     ("FILE", HEADER + "+1234567890123456,1234567,00:00,24:00,10,60,60,0,0,0\n")],
     "1 to 15 digits"),
    ("price-too-high", ["rate", "import", "default",
                        ("FILE", HEADER + "local,1234567,00:00,24:00,100001,60,60,0,0,0\n")],
     "amount above 1000 yuan"),
    ("zero-increment", ["rate", "import", "default",
                        ("FILE", HEADER + "local,1234567,00:00,24:00,10,0,60,0,0,0\n")],
     "at least 1 s"),
    ("field-count", ["rate", "import", "default", ("FILE", HEADER + "local,1234567,00:00\n")],
     "3 fields, 10 expected"),
    ("gbk-file", ["rate", "import", "default",
                  ("FILE", (HEADER + "local,1234567,00:00,24:00,10,60,60,0,0,0 # 本地\n")
                   .encode("gbk"))], "not UTF-8 text (line 2"),
    ("bom-bad-row", ["rate", "import", "default",
                     ("FILE", "\ufeff" + HEADER + "local,1234567,00:00,24:00,x,60,60,0,0,0\n")],
     "line 2: price_per_min_fen"),
    ("plan-name-long", ["rate", "import", "p" * 61, ("FILE", HEADER + ROW)],
     "plan: at most 60 characters"),
    ("set-area-unknown", ["rate", "set-area", "1991234", "26"], "'26' is not a known area"),
    ("set-area-unicode", ["rate", "set-area", "١٩٩١٢٣٤", "10"], "PREFIX: 2 to 16 digits"),
    ("set-area-5-digits", ["rate", "set-area", "1991234", "10000"], "AREA: 2 to 4 digits"),
    ("set-area-long-name", ["rate", "set-area", "1991234", "10", "--name", LONG],
     "--name: at most 120 characters"),
    ("rule-unicode", ["rate", "rule", "١٦٨", "block"], "PREFIX: 1 to 16 digits"),
    ("rule-long-prefix", ["rate", "rule", "1" * 17, "block"], "PREFIX: 1 to 16 digits"),
    ("rule-long-reason", ["rate", "rule", "168", "block", "--reason", LONG],
     "--reason: at most 120 characters"),
    ("create-unicode-area", ["account", "create", "+862188880000", "--pin", "482913",
                             "--area", "٢١"], "--area: 2 to 4 digits"),
    ("create-unknown-area", ["account", "create", "+862188880000", "--pin", "482913",
                             "--area", "26"], "'26' is not a known area"),
    ("create-long-plan", ["account", "create", "+862188880000", "--pin", "482913",
                          "--plan", "p" * 61], "--plan: at most 60 characters"),
    ("create-unicode-number", ["account", "create", "+٨٦٢١٨٨٨٨٠٠٠٠", "--pin", "482913"],
     "only digits"),
    ("create-weak-pin", ["account", "create", "+862188880000", "--pin", "123456"],
     "too easy to guess"),
    ("create-existing", ["account", "create", BEIJING, "--pin", "482913"], "already exists"),
    ("adjust-long-note", ["account", "adjust", BEIJING, "5", "--reference", "r1",
                          "--note", "n" * 501], "--note: at most 500 characters"),
    ("adjust-long-reference", ["account", "adjust", BEIJING, "5", "--reference", "r" * 120,
                               "--note", "why"], "--reference: at most 109 characters"),
    ("adjust-long-actor", ["account", "adjust", BEIJING, "5", "--reference", "r1",
                           "--note", "why", "--actor", "a" * 61], "--actor: at most 60"),
    ("adjust-10^30", ["account", "adjust", BEIJING, str(10**30), "--reference", "r1",
                      "--note", "why"], "out of range"),
    ("adjust-negative-too-much", ["account", "adjust", BEIJING, "-99999", "--reference", "r1",
                                  "--note", "why"], "balance too low"),
    ("adjust-zero", ["account", "adjust", BEIJING, "0", "--reference", "r1", "--note", "why"],
     "out of range"),
    ("adjust-note-newline", ["account", "adjust", BEIJING, "5", "--reference", "r1",
                             "--note", "a\nb"], "--note: no control characters"),
    ("release-holds-slack", ["account", "release-holds", "--slack", str(10**30)],
     "--slack: a whole number from 0 to 2592000"),
    ("billing-limit-huge", ["account", "billing", BEIJING, "carrier", "--day-limit",
                            str(10**30)], "must be a whole number of fen"),
    ("activate-10^30", ["card", "activate", str(10**30)], "no card batch 1" + "0" * 30),
    ("void-batch-10^30", ["card", "void-batch", str(10**30)], "no card batch"),
    ("generate-unwritable-out", ["card", "generate", "--label", "x", "--count", "3",
                                 "--value", "500", "--expires", "2099-01-01",
                                 "--out", "/nonexistent-dir/cards.csv"],
     "--out /nonexistent-dir/cards.csv: cannot create the print file"),
    ("generate-count-0", ["card", "generate", "--label", "x", "--count", "0", "--value", "500",
                          "--expires", "2099-01-01", "--out", ("OUT", "")],
     "a batch holds 1..100000 cards"),
    ("generate-value-10^30", ["card", "generate", "--label", "x", "--count", "1",
                              "--value", str(10**30), "--expires", "2099-01-01",
                              "--out", ("OUT", "")], "out of range"),
    ("generate-long-label", ["card", "generate", "--label", LONG, "--count", "1",
                             "--value", "500", "--expires", "2099-01-01", "--out", ("OUT", "")],
     "label of 1 to 120 characters"),
    ("generate-past", ["card", "generate", "--label", "x", "--count", "1", "--value", "500",
                       "--expires", "2001-01-01", "--out", ("OUT", "")], "not in the future"),
    ("generate-expires-overflow", ["card", "generate", "--label", "x", "--count", "1",
                                   "--value", "500", "--expires", "9999-12-31T23:59:59-12:00",
                                   "--out", ("OUT", "")],
     "--expires: a date/time between 1970 and 2199"),
    ("statement-overflow", ["account", "statement", BEIJING, "--start",
                            "0001-01-01T00:00:00+14:00", "--end", "2030-01-01"],
     "--start: a date/time between 1970 and 2199"),
    ("quote-10^30-seconds", ["rate", "quote", BEIJING, "02188887777", str(10**30)],
     "is not a whole number of seconds between 0 and 604800"),
    ("redeem-bad-serial", ["card", "redeem", BEIJING, "1234", "--pin", "000000000000"],
     "card number 1234 is not valid"),
    ("unblock-bad-serial", ["card", "unblock", "12345678901234567"], "is not valid"),
]


@pytest.mark.parametrize("args,expected", [(a, e) for _, a, e in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_operator_input_is_refused_in_one_line_and_changes_nothing(box, tmp_path, args,
                                                                       expected):
    argv = []
    for a in args:
        if isinstance(a, tuple):
            kind, body = a
            argv.append(rate_file(tmp_path, body) if kind == "FILE" else str(tmp_path / "o.csv"))
        else:
            argv.append(a)
    before = snapshot(box)
    group, rest = argv[0], argv[1:]
    res = CliRunner().invoke(main, [group, "--db", box.url, *rest])
    assert res.exit_code != 0
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.output
    assert expected in lines[0], res.output
    assert "Traceback" not in res.output
    assert snapshot(box) == before
    assert not (tmp_path / "o.csv").exists()  # no print file left behind either


def test_good_input_of_the_same_commands_still_works(box, tmp_path):
    """The refusals are not a blanket no: the BOM file imports, -500 needs no '--', a
    same-set weekday spelled backwards is simply the same set."""
    res = CliRunner().invoke(main, ["rate", "--db", box.url, "import", "default",
                                    rate_file(tmp_path, "\ufeff" + HEADER +
                                              "local,7654321,00:00,24:00,10,60,60,0,0,0\n")])
    assert res.exit_code == 0 and "plan default: 1 rows" in res.output, res.output
    res = CliRunner().invoke(main, ["rate", "--db", box.url, "export", "default"])
    assert "local,1234567,00:00,24:00,10" in res.output
    res = CliRunner().invoke(main, ["account", "--db", box.url, "adjust", BEIJING, "-500",
                                    "--reference", "r9", "--note", "correction"])
    assert res.exit_code == 0 and "balance 500 fen" in res.output, res.output
    out = tmp_path / "cards.csv"
    res = CliRunner().invoke(main, ["card", "--db", box.url, "generate", "--label", "x",
                                    "--count", "2", "--value", "500", "--expires",
                                    "2099-01-01", "--out", str(out)])
    assert res.exit_code == 0 and len(out.read_text().splitlines()) == 3, res.output


@pytest.mark.parametrize("argv", [
    ["account", "balance", BEIJING], ["card", "activate", "1"], ["rate", "export", "default"],
    ["account", "adjust", BEIJING, "5", "--reference", "r", "--note", "n"],
])
def test_an_unmigrated_database_says_run_db_upgrade(tmp_path, argv):
    url = f"sqlite:///{tmp_path}/new.db"
    res = CliRunner().invoke(main, [argv[0], "--db", url, *argv[1:]])
    assert res.exit_code == 1, res.output
    assert res.output.strip().splitlines() == [
        f"Error: database {url} is empty (no schema): run `confcall db upgrade`"]
