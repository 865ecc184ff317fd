"""Two boxes on one PostgreSQL serve a burst of bookings; one is killed (SIGKILL) mid-run.

The conductor of tests/booking/test_two_boxes_pg.py and bench/two_boxes.py. Each box is its
own process (booking_box.py: the real daemon on its own simulated card, with its own switch
and subscribers); both run on one shared virtual clock that the conductor steps (``run T`` /
``at T`` lines, see booking_box.py), so leases and due times mean the same on both and the
run does not depend on the machine's load. Once box A's subscribers have had ``kill_after``
rings, the conductor sends both boxes their next step and shoots A with SIGKILL while it
works; B goes on alone until every booking is over.

What is counted is what the subscribers saw: the ring log both boxes' simulated switches
append to (``box ring|answer number time``). ``check`` ties every ring to its attempt row
(same booking and party, same box, the latest attempt started before the ring) and says
which rule a run broke, if any.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select as sql_select

from confcall.rating import ops
from confcall.store import Store
from confcall.store.models import Booking, BookingAttempt, BookingParticipant

from due import seed_due
from tests.proc_ready import Output

HERE = Path(__file__).resolve().parent
BOX = HERE / "booking_box.py"
EPOCH = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PAYER = "+8613800000001"
STEP_S = 0.2  # virtual seconds per lockstep
FINAL = {"done", "failed", "cancelled", "missed"}
SLACK = timedelta(milliseconds=1)  # microsecond rounding between the box clock and the DB


class Lines:
    """A box's stdout, line by line, and its stdin. ``tests.proc_ready.Output`` drains the
    pipe: a box that hangs fails the run at the timeout, one that exits fails it at once."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc, self.out = proc, Output(proc)

    def next(self, timeout_s: float = 180.0) -> str:
        return self.out.wait_for(r"^", timeout_s).string

    def send(self, line: str) -> None:
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()


@dataclass
class Run:
    n: int
    killed_at: float | None = None  # virtual seconds
    virtual_s: float = 0.0
    wall_s: float = 0.0
    rings: list[tuple[str, str, str, datetime]] = field(default_factory=list)
    states: dict[int, str] = field(default_factory=dict)
    takeovers: dict[int, int] = field(default_factory=dict)
    outcomes: dict[int, str] = field(default_factory=dict)
    # (booking, position, attempt_no) -> (box, started_at, answered, result)
    attempts: dict[tuple[int, int, int], tuple[str, datetime, bool, str | None]] = \
        field(default_factory=dict)
    party_of: dict[str, tuple[int, int]] = field(default_factory=dict)  # dialled -> (b, pos)


def prepare_db(url: str) -> None:
    """Migrate and seed what the run dials: the areas of fixed lines and the mobile blocks of
    the run's numbers (initiators 130…, participants 150…, the payer 138…), and
    the default plan. (The full seed, 128,000 prefixes, takes minutes on a loaded machine.)"""
    from confcall.rating import areas, rates
    from confcall.store import upgrade
    from tests.pgcluster import DEFAULT_RATES, area_table
    upgrade(url)
    table = {p: v for p, v in area_table().items()
             if not p.startswith("1") or p.startswith(("130", "150", "138"))}
    store = Store(url)
    try:
        with store.transaction() as s:
            areas.seed_areas(s, table)
            rates.import_rates(s, "default", DEFAULT_RATES)
    finally:
        store.dispose()


def _start(url: str, box: str, rings: Path, n: int, participants: int, spans: int) -> Lines:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # the box's log goes to a file: a pipe nobody reads fills up and stalls the box
    log = open(rings.with_name(f"{box}.log"), "wb")  # noqa: SIM115 - the child's, closed below
    p = subprocess.Popen([sys.executable, str(BOX), "--db", url, "--rings", str(rings),
                          "--epoch", EPOCH.isoformat(), "--bookings", str(n),
                          "--participants", str(participants), "--spans", str(spans),
                          "--box", box],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env)
    log.close()
    return Lines(p)


def ring_count(path: Path, box: str) -> int:
    with open(path, "rb") as f:
        return f.read().count(f"{box} ring ".encode())


def run_two_boxes(url: str, tmp: Path, n: int, *, kill_after: int, participants: int = 1,
                  spread_s: float = 50.0, spans: int = 1, limit_s: float = 900.0,
                  start_timeout_s: float = 1800.0) -> Run:
    """Seed ``n`` bookings due within ``spread_s`` of EPOCH + 20 s (one redial each, 5 s
    apart), run box-a and box-b until all are over, kill box-a after ``kill_after`` rings."""
    store = Store(url)
    seed_due(store, n, start=EPOCH + timedelta(seconds=20), spread_s=spread_s,
             participants=participants, retries=1, retry_interval_s=5, now=EPOCH)
    ops.adjust(store, PAYER, 10_000_000, "fund-two-boxes", "test funding", now=EPOCH)
    rings = tmp / "rings.log"
    rings.touch()
    run = Run(n)
    t0 = time.monotonic()
    boxes = {b: _start(url, b, rings, n, participants, spans) for b in ("box-a", "box-b")}
    try:
        # start-up (imports, media kernels, spans up) on a loaded 2-core VM: minutes
        now = max(float(lines.next(start_timeout_s).split()[1]) for lines in boxes.values())
        check_every = round(1.0 / STEP_S)
        step = 0
        while True:
            now += STEP_S
            step += 1
            kill = run.killed_at is None and ring_count(rings, "box-a") >= kill_after
            for lines in boxes.values():
                lines.send(f"run {now:.3f}")
            if kill:  # it is working on this step: shot mid-work
                a = boxes.pop("box-a")
                os.kill(a.proc.pid, signal.SIGKILL)
                a.proc.wait()
                run.killed_at = now
            for lines in boxes.values():
                line = lines.next()
                assert line.startswith("at "), line
            if step % check_every == 0 and run.killed_at is not None and _all_over(store):
                break
            if now > limit_s:
                raise AssertionError(f"bookings still open after {limit_s} virtual s")
        run.virtual_s = now
        for lines in boxes.values():
            lines.send("stop")
            assert lines.next() == "bye"
            assert lines.proc.wait(60) == 0
    finally:
        for lines in boxes.values():
            if lines.proc.poll() is None:
                lines.proc.kill()
                lines.proc.wait()
    run.wall_s = time.monotonic() - t0
    _collect(run, store, rings)
    store.dispose()
    return run


def _all_over(store: Store) -> bool:
    with store.transaction() as s:
        return not s.scalar(sql_select(Booking.id).where(Booking.state.notin_(FINAL)).limit(1))


def _collect(run: Run, store: Store, rings: Path) -> None:
    with open(rings) as f:
        for line in f:
            box, event, number, at = line.split()
            run.rings.append((box, event, number, datetime.fromisoformat(at)))
    with store.transaction() as s:
        for bid, state, takeovers, outcome, dial in s.execute(sql_select(
                Booking.id, Booking.state, Booking.takeovers, Booking.outcome,
                Booking.initiator_dial)):
            run.states[bid], run.takeovers[bid], run.outcomes[bid] = state, takeovers, outcome
            run.party_of[dial] = (bid, 0)
        for bid, pos, dial in s.execute(sql_select(
                BookingParticipant.booking_id, BookingParticipant.position,
                BookingParticipant.dial)):
            run.party_of[dial] = (bid, pos)
        for bid, pos, no, box, started, answered, result in s.execute(sql_select(
                BookingAttempt.booking_id, BookingAttempt.position, BookingAttempt.attempt_no,
                BookingAttempt.box, BookingAttempt.started_at, BookingAttempt.answered_at,
                BookingAttempt.result)):
            run.attempts[(bid, pos, no)] = (box, started, answered is not None, result)


def rings_per_attempt(run: Run) -> tuple[Counter, list[str]]:
    """Each ring tied to its attempt: the latest attempt of that party made by the ringing
    box and started no later than the ring. Returns the rings per attempt and the rings that
    no attempt row explains."""
    per: Counter = Counter()
    unexplained: list[str] = []
    by_party: dict[tuple[int, int], list[tuple[datetime, int, str]]] = {}
    for (bid, pos, no), (box, started, _, _) in run.attempts.items():
        by_party.setdefault((bid, pos), []).append((started, no, box))
    for box, event, number, at in run.rings:
        if event != "ring":
            continue
        party = run.party_of.get(number)
        made = [(t, no) for t, no, b in by_party.get(party, []) if b == box and t <= at + SLACK] \
            if party else []
        if not made:
            unexplained.append(f"{box} rang {number} at {at.isoformat()}")
            continue
        per[(*party, max(made)[1])] += 1
    return per, unexplained


def summary(run: Run) -> str:
    by_box = Counter(box for box, event, _, _ in run.rings if event == "ring")
    redialled = sum(1 for (bid, pos, no), v in run.attempts.items()
                    if pos == 0 and no > 1 and run.attempts.get((bid, 0, no - 1), ("",))[-1:]
                    == ("lost",) and run.attempts[(bid, 0, no - 1)][2])
    return (f"{run.n} bookings, 2 boxes, box-a killed at {run.killed_at:.1f} virtual s: "
            f"rings {dict(by_box)}, taken over {sum(1 for v in run.takeovers.values() if v)}, "
            f"redialled after a lost conference {redialled}, states "
            f"{dict(Counter(run.states.values()))}; {run.virtual_s:.0f} virtual s in "
            f"{run.wall_s:.0f} wall s")
