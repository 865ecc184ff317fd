"""`confcall booking list|show|cancel` against a database of each engine: what the NOC reads,
and that a refused cancel exits 1 with the reason and changes nothing."""
from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import update

from confcall.booking import BookingState, book, get_any
from confcall.cli import main
from confcall.store.models import Booking
from tests.booking.helpers import LIMITS, NOW, funded, request


def _cli(db_url, *args):
    return CliRunner().invoke(main, ["booking", "--db", db_url, *args])


def _booked(store, **changes):
    start = NOW + timedelta(days=20)
    return store.run(book, request(start_at=start, **changes), now=NOW, limits=LIMITS)


def test_list_show_and_cancel(db_url, store):
    funded(store)
    a = _booked(store)
    b = _booked(store, participants=("01088881111",))
    r = _cli(db_url, "list", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert {x["id"] for x in rows} == {a.id, b.id} and rows[0]["state"] == "booked"
    r = _cli(db_url, "list", "--state", "cancelled")
    assert r.exit_code == 0 and r.output == ""
    r = _cli(db_url, "show", str(a.id))
    assert r.exit_code == 0 and f"{a.id}\tconference\tbooked" in r.output
    r = _cli(db_url, "cancel", str(a.id), "--operator", "alice", "--json")
    assert r.exit_code == 0, r.output
    got = json.loads(r.output)
    assert got["state"] == "cancelled" and got["outcome"] == "cancelled by alice"
    assert store.run(get_any, a.id).state is BookingState.CANCELLED
    r = _cli(db_url, "list", "--state", "cancelled", "--json")
    assert [x["id"] for x in json.loads(r.output)] == [a.id]


def test_refusals_exit_1_and_change_nothing(db_url, store):
    funded(store)
    b = _booked(store)

    def dialling(s):
        s.execute(update(Booking).where(Booking.id == b.id).values(state="dialing",
                                                                     lease_box="box-1"))
    store.run(dialling)
    r = _cli(db_url, "cancel", str(b.id))
    assert r.exit_code == 1 and "started dialling and can no longer be cancelled" in r.output
    assert store.run(get_any, b.id).state is BookingState.DIALING
    r = _cli(db_url, "show", "999")
    assert r.exit_code == 1 and "booking: no booking 999" in r.output
    r = _cli(db_url, "cancel", "x1")
    assert r.exit_code == 1 and "no booking x1" in r.output
    r = _cli(db_url, "list", "--state", "soon")
    assert r.exit_code == 2 and "--state" in r.output
