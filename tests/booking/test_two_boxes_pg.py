"""Two boxes on one PostgreSQL (the tests' own cluster), a burst of bookings due in the same
minute: every one dialled exactly once; one box is killed (SIGKILL) mid-run, the other takes
over its leases, redials the conferences that died with it as their next attempt, and no
subscriber's phone rings twice for one attempt.

Each box is a real process running the real daemon on its own simulated card; the two share
one virtual clock stepped by the conductor (tests/booking/two_boxes.py, booking_box.py). The
rings are counted at the phones: the simulated switches' ring log. The suite runs
``CONFCALL_TWOBOX_N`` bookings (default 40); ``bench/two_boxes.py`` runs 500."""
from __future__ import annotations

import os
from collections import Counter

import pytest

from two_boxes import prepare_db, rings_per_attempt, run_two_boxes, summary

N = int(os.environ.get("CONFCALL_TWOBOX_N", "40"))


@pytest.fixture
def pg_url(pg_cluster):
    name = pg_cluster.new_database()
    prepare_db(pg_cluster.url(name))
    yield pg_cluster.url(name)
    pg_cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def check(run) -> None:
    """The rules of a two-box run, on what the phones saw and the rows written."""
    per, unexplained = rings_per_attempt(run)
    assert not unexplained, f"phones rang without an attempt row: {unexplained[:5]}"
    twice = [k for k, c in per.items() if c > 1]
    assert not twice, f"a phone rang twice for one attempt: {twice[:5]}"
    assert run.killed_at is not None, "box-a was killed mid-run"
    # every booking was served to its end: the burst, the takeover, the redials
    assert Counter(run.states.values()) == {"done": run.n}, summary(run)
    assert any(run.takeovers.values()), "box-b took over box-a's leases"
    rung = Counter((bid, pos) for bid, pos, _ in per.elements())
    for (bid, pos, no), (box, _, _, result) in run.attempts.items():
        if box == "box-b":  # the survivor placed every call it wrote an attempt for
            assert per[(bid, pos, no)] == 1, (bid, pos, no, result)
    untouched = [bid for bid, n in run.takeovers.items() if not n]
    for bid in untouched:  # dialled exactly once: one attempt per party, one ring each
        parties = [(pos, no) for (b, pos, no) in run.attempts if b == bid]
        assert sorted(parties) == [(0, 1), (1, 1)], (bid, parties)
        assert rung[(bid, 0)] == 1 and rung[(bid, 1)] == 1, bid
    assert len(untouched) >= run.n // 2, summary(run)
    # conferences that died with box-a were redialled as the next attempt, by box-b
    redials = [(bid, no) for (bid, pos, no), v in run.attempts.items()
               if pos == 0 and no == 2 and run.attempts[(bid, 0, 1)][3] == "lost"
               and run.attempts[(bid, 0, 1)][2]]
    assert redials, "a conference in progress on box-a was redialled by box-b"
    for bid, _ in redials:
        assert (run.attempts[(bid, 0, 1)][0], run.attempts[(bid, 0, 2)][0]) == (
            "box-a", "box-b"), bid


@pytest.mark.slow
@pytest.mark.postgres
def test_two_boxes_one_killed_every_booking_dialled_once(pg_url, tmp_path):
    run = run_two_boxes(pg_url, tmp_path, N, kill_after=max(6, N // 4))
    print(summary(run))
    check(run)
