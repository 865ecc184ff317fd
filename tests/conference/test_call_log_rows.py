"""The call log's end checks its row count: a leg whose start never reached the database is
written whole at its end, never silently dropped (issue 13, item 3)."""
import shutil
from datetime import timedelta

from sqlalchemy import select

from confcall.conference.records import _complete, _insert
from confcall.store import Store
from confcall.store.models import CallLog
from tests.pgcluster import template

from box_harness import NOW


def test_an_end_without_its_start_writes_the_whole_row(tmp_path):
    shutil.copyfile(template("sqlite", None), tmp_path / "db")
    store = Store(f"sqlite:///{tmp_path / 'db'}")
    start = {"reference": "leg-1", "conference_ref": "conf-1", "role": "participant",
             "direction": "out", "number": "13900139000", "caller_id": "95000",
             "trunk": "span1", "channo": 3, "seized_at": NOW, "box": "b1"}
    end = {"channo": 3, "answered_at": NOW + timedelta(seconds=2),
           "ended_at": NOW + timedelta(seconds=30), "cause": 16}
    store.run(_complete, "leg-1", end, start)  # the insert was lost
    store.run(_insert, start)  # a late retry of the insert changes nothing
    with store.transaction() as s:
        rows = s.scalars(select(CallLog)).all()
        assert len(rows) == 1
        r = rows[0]
        assert (r.number, r.box, r.cause) == ("13900139000", "b1", 16)
        assert r.ended_at == NOW + timedelta(seconds=30)
    store.dispose()
