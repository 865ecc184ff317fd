"""`confcall box list` and `confcall box reap` (issue 13, fleet): what the NOC sees of the boxes
sharing the database, and closing a lost box's rows by hand; refusals are one line, exit 1,
and change nothing."""
import json
import shutil
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import func, select

from confcall.cli import main
from confcall.fleet import heartbeat
from confcall.rating import ops
from confcall.store import Store
from confcall.store.models import CallLog, Reservation
from tests.pgcluster import template

from test_restart_recovery import A, _crashed_box_state


def run(url, *args):
    return CliRunner().invoke(main, ["box", "--db", url, *args])


def crashed(tmp_path):
    db = tmp_path / "fleet.db"
    shutil.copyfile(template("sqlite", None), db)
    url = f"sqlite:///{db}"
    _crashed_box_state(url)  # crashbox's open rows (and otherbox's live leg), an hour ago
    store = Store(url)
    now = datetime.now(UTC)
    store.run(heartbeat, box="crashbox", now=now - timedelta(hours=1), started=True)
    store.run(heartbeat, box="otherbox", now=now - timedelta(seconds=10), started=True)
    return url, store


def open_rows(store, box):
    with store.transaction() as s:
        return (s.scalar(select(func.count()).select_from(CallLog).where(
            CallLog.box == box, CallLog.ended_at.is_(None))),
            s.scalar(select(func.count()).select_from(Reservation).where(
                Reservation.box == box, Reservation.state == "held")))


def test_box_list_shows_each_box_state_and_open_rows(tmp_path):
    url, store = crashed(tmp_path)
    try:
        res = run(url, "list")
        assert res.exit_code == 0, res.output
        lines = res.output.splitlines()
        crash = next(x for x in lines if x.startswith("crashbox"))
        other = next(x for x in lines if x.startswith("otherbox"))
        assert " dead " in crash and "open legs 4" in crash and "holds 5" in crash
        assert " alive " in other and "open legs 1" in other and "holds 1" in other
        assert lines[-1] == "2 box(es)"
        got = {r["box"]: r for r in json.loads(run(url, "list", "--json").output)}
        assert (got["crashbox"]["state"], got["crashbox"]["open_legs"]) == ("dead", 4)
        assert got["otherbox"]["state"] == "alive"
    finally:
        store.dispose()


def test_box_reap_closes_a_dead_box_and_refuses_a_live_one(tmp_path):
    url, store = crashed(tmp_path)
    try:
        res = run(url, "reap", "otherbox")
        assert res.exit_code == 1
        assert res.output.strip().splitlines() == [
            "Error: box otherbox: seen 10 s ago (within 300 s): it may be alive; refused "
            "(--force if you know it is down)"]
        assert open_rows(store, "otherbox") == (1, 1)  # nothing changed

        res = run(url, "reap", "nosuchbox")
        assert res.exit_code == 1 and "unknown (no heartbeat and no open rows)" in res.output
        res = run(url, "reap", "Bad Box!")
        assert res.exit_code == 2 and "BOX_ID" in res.output

        res = run(url, "reap", "crashbox")
        assert res.exit_code == 0, res.output
        assert res.output.strip() == (
            "box crashbox: 4 unfinished leg(s) closed at their last interim record (3 rated, "
            "72 fen), 2 credit hold(s) released, 1 conference(s) closed")
        assert open_rows(store, "crashbox") == (0, 0)
        assert ops.balance(store, "+86" + A).balance_fen == 10_000 - 72
        listed = {r["box"]: r for r in json.loads(run(url, "list", "--json").output)}
        assert listed["crashbox"]["state"] == "reaped"
        assert listed["crashbox"]["reaped_by"] == "noc-cli"

        res = run(url, "reap", "crashbox")  # again: nothing left, nothing charged twice
        assert res.exit_code == 0 and "0 unfinished leg(s)" in res.output
        assert ops.balance(store, "+86" + A).balance_fen == 10_000 - 72

        res = run(url, "reap", "otherbox", "--force")  # the operator knows it is down
        assert res.exit_code == 0 and "1 unfinished leg(s)" in res.output
        assert open_rows(store, "otherbox") == (0, 0)
    finally:
        store.dispose()
