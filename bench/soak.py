"""Soak: 8 E1 spans kept fully loaded for 2 virtual hours; RSS and open fds must stay flat.

Run: ``.venv/bin/python bench/soak.py [--spans 8] [--hours 2] [--short] [--wall-limit S]``
(``--short``: 2 spans, 8 virtual minutes: the test suite runs it, tests/misc/test_benches.py;
``--wall-limit``: stop after that many wall seconds and report the part simulated)

What runs: the whole box as in bench/overload.py (daemon on a simulated card, libpri both
sides, numba media engine, call control, rating on SQLite through the inline runner), with
conferences of three (callback + two invitations, held 2-6 minutes) offered at 1.3x what the
box can carry, so the B-channels stay busy and calls churn for hours. The
subscribers are a fixed pool reused as conferences end, and the simulator forgets its ended
call records, so what grows is what the box keeps.

What is measured: the process's resident memory (/proc/self/statm) and open file descriptors
(/proc/self/fd) once a virtual minute, and the channels busy. Required: after the first
quarter (caches, the SQLite page cache, numba and the allocator's arenas settle), RSS grows by
less than 2 % + 8 MB, open fds do not grow at all (but for the DB pool's SQLite connections,
one per thread as load calls threads up, bounded by the pool's maximum), and the channels are
>= 85 % busy (three channels a conference: a few spans cannot be full at every moment).

The baseline is never taken before the box's lists of recent things are full: it keeps every
live conference, callback and access call and those ended in the last ten minutes
(``confcall.recent.RecentlyEnded``), so its memory rightly grows until ten minutes after the
first conferences ended (``SETTLE_S``: 10 min + the longest hold + a minute). Growth before that
is the design, growth after it is a leak. For 2 hours the first quarter (30 min) is later
anyway; a run stopped by ``--wall-limit`` or a short one takes the later of the two, and a run
too short to have a baseline after ``SETTLE_S`` (``--short``: 8 minutes) says that its RSS
figure is no flatness verdict (it still must stay under the allowance: it shows the bench runs).
How the creep was found: the booking scheduler kept every served callback (and through it its
whole ended conference) in a ``deque(maxlen=2000)``, full only after ~80 minutes at this load;
``--trace-memory`` lists the Python growers, and counting live ``ConferenceSession`` objects
against the box's lists is the quicker probe (tests/conference/test_ended_conferences_released.py).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import tracemalloc
from collections import Counter, deque
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import overload  # noqa: E402  (bench/overload.py: the same box and conference script)

overload.HOLD_S = (120.0, 360.0)
# "fully loaded": offered 1.3x; conferences take three channels each, so a few spans cannot
# be full at every moment (Erlang B: about 91 % carried on 2 spans, 97 % on 8)
BUSY_GOAL = 0.85
PAGE = os.sysconf("SC_PAGE_SIZE")
STEP_TICKS = 5  # the subscribers' script looks at its calls every 100 ms
# the box's lists of recent things (ended kept 10 min) are full this long after the start
SETTLE_S = 600.0 + overload.HOLD_S[1] + 60.0


def baseline_s(seconds: float) -> float:
    """When the RSS/fd baseline is taken in a run of ``seconds``: the first quarter, and not
    before the box's lists are full (``SETTLE_S``) when the run is long enough for that."""
    return max(seconds / 4, SETTLE_S) if seconds >= 2 * SETTLE_S else seconds / 4


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


class _Native:
    """Where native memory sits, for the progress lines: SQLite's own allocator (its page caches,
    one per pool connection, fill as the database grows, up to ``cache_size`` each) and glibc's
    heap (in use vs. free but kept: fragmentation across the threads' arenas). Both are read in
    this process, which is the box's."""

    def __init__(self) -> None:
        import ctypes
        import ctypes.util
        self._sqlite = self._libc = None
        try:
            self._sqlite = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
            self._sqlite.sqlite3_memory_used.restype = ctypes.c_int64
        except OSError:
            pass

        class Mallinfo2(ctypes.Structure):
            _fields_ = [(n, ctypes.c_size_t) for n in (
                "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                "uordblks", "fordblks", "keepcost")]
        try:
            self._libc = ctypes.CDLL("libc.so.6")
            self._libc.mallinfo2.restype = Mallinfo2
        except (OSError, AttributeError):
            self._libc = None

    def line(self) -> str:
        parts = []
        if self._sqlite is not None:
            parts.append(f"sqlite {self._sqlite.sqlite3_memory_used() / 2**20:5.1f} MB")
        if self._libc is not None:
            m = self._libc.mallinfo2()
            parts.append(f"heap in use {(m.uordblks + m.hblkhd) / 2**20:6.1f} MB "
                         f"free {m.fordblks / 2**20:5.1f} MB")
        return "  ".join(parts)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def fd_targets() -> dict[str, str]:
    out = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            out[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass
    return out


class Soak(overload.Overload):
    """Overload's box and script with a reusable pool of subscribers and arrivals on the fly."""

    def plan(self) -> None:
        for sw in self.bx.switches:  # hours of audio are the simulator's, not the box's
            sw.keep_audio = False
        for span in self.bx.card.spans:
            span.keep_heard = False
        self.pool: list[tuple[Any, list[Any]]] = []
        # enough that no number asks for more callbacks than the box's per-number limit
        # (3 per 10 min): a slot is busy ~5 min a conference, then waits its turn
        slots = self.capacity // (1 + overload.PARTICIPANTS) + 40 + self.capacity // 4
        for i in range(slots):
            a = self.bx.phone(f"1350{i:07d}", answer_after=1.0)
            parts = [self.bx.phone(f"139{j}{i:07d}", answer_after=2.0)
                     for j in range(overload.PARTICIPANTS)]
            self.bx.account(a.number, 10_000_000)
            self.pool.append((a, parts))
        self.free = list(range(slots))
        limit = self.bx.daemon.config.rate_limit
        self.used_at: list[deque[float]] = [deque(maxlen=limit) for _ in range(slots)]
        self.next_at = 1.0
        self.n = 0
        self.no_slot = 0
        self.outcomes: Counter = Counter()
        # the reasons of failed conferences: counted, not kept (the bench's own memory must
        # not grow with the run: what is measured is the process's RSS)
        self.whys: Counter = Counter()
        self.ticks_over = 0  # ticks whose box CPU went over 20 ms (not a list of every tick)

    def arrivals(self, now: float) -> list[overload.Conf]:
        out = []
        while self.next_at <= now:
            slot = self._eligible_slot()
            if slot is not None:
                self.free.remove(slot)
                self.used_at[slot].append(self.next_at)
                a, parts = self.pool[slot]
                c = overload.Conf(self.n, self.next_at, self.rnd.uniform(*overload.HOLD_S),
                                  a, parts)
                c.slot = slot  # type: ignore[attr-defined]
                out.append(c)
            else:
                self.no_slot += 1
            self.n += 1
            self.next_at += self.rnd.expovariate(self.rate)
        return out

    def _eligible_slot(self) -> int | None:
        """The free subscriber who waited longest and may ask for a callback now: the box
        refuses a number more than ``rate_limit`` callbacks per ``rate_window_s`` (its
        fraud guard), which real subscribers do not meet; the pool is sized to avoid it."""
        window = self.bx.daemon.config.rate_window_s
        for slot in self.free:
            times = self.used_at[slot]
            if len(times) < times.maxlen or self.next_at - times[0] > window + 1:  # type: ignore[operator]
                return slot
        return None

    def forget_ended(self) -> None:
        """The simulator's memory is not the box's: drop the switches' ended call records.
        (Not the phones' lists: the script finds a conference's callback by its position
        there, and dropping the ended access call made it miss the callback; a phone's list
        is emptied when its slot is free again, ``_recycle``.)"""
        for sw in self.bx.switches:
            sw.records = [r for r in sw.records if not r.ended]
        self.bx.card.device.ioctl_log.clear()  # the simulated card's record of every ioctl

    def soak(self, seconds: float, wall_limit: float = 0.0,
             progress: bool = False, trace: bool = False) -> dict[str, Any]:
        clock = self.bx.clock
        traced: list[Any] = []  # tracemalloc snapshots: after the first quarter, at the end
        active: list[overload.Conf] = []
        samples: list[tuple[float, float, int, int]] = []  # t, rss, fds, busy
        native = _Native() if progress else None
        next_sample = 0.0
        wall0 = time.perf_counter()
        cpu0 = time.process_time()
        while self.now() < seconds:
            now = self.now()
            if wall_limit and time.perf_counter() - wall0 > wall_limit:
                break
            if clock.ticks % STEP_TICKS:  # the script acts every 100 ms; the box every tick
                self._tick(clock)
                continue
            active += self.arrivals(now)
            still = []
            for c in active:
                self.step(c, now)
                if c.state in ("done", "refused", "failed"):
                    self.outcomes[c.state] += 1
                    if c.state == "failed":
                        self.whys[c.why] += 1
                    # the slot's phones are free once every call of theirs has ended
                    self._release_later.append(c)
                else:
                    still.append(c)
            active = still
            if now >= next_sample:
                self._recycle()
                self.forget_ended()
                samples.append((now, rss_mb(), open_fds(), self.busy()))
                if now >= baseline_s(seconds):  # what is open, to name any fd left open
                    self._fds_last = fd_targets()
                    if self._fds_quarter is None:
                        self._fds_quarter = self._fds_last
                if trace and not traced and now >= baseline_s(seconds):
                    traced.append(tracemalloc.take_snapshot())
                if progress:
                    t, rss, fds, b = samples[-1]
                    print(f"  [minute {t / 60:4.0f}] RSS {rss:6.1f} MB  fds {fds}  busy {b}  "
                          f"wall {time.perf_counter() - wall0:5.0f} s  CPU "
                          f"{time.process_time() - cpu0:5.0f} s  load "
                          f"{os.getloadavg()[0]:.1f}  {native.line() if native else ''}",
                          flush=True)
                next_sample += 60.0
            self._tick(clock)
        if traced:
            traced.append(tracemalloc.take_snapshot())
        return {"wall": time.perf_counter() - wall0, "cpu": time.process_time() - cpu0,
                "samples": samples, "traced": traced}

    def _tick(self, clock: Any) -> None:
        sim0 = self._sim_cpu
        t0 = time.thread_time()
        clock.tick()
        if time.thread_time() - t0 - (self._sim_cpu - sim0) > overload.TICK_S:
            self.ticks_over += 1

    _release_later: list[overload.Conf]
    _fds_quarter: dict[str, str] | None = None
    _fds_last: dict[str, str] = {}

    def _recycle(self) -> None:
        keep = []
        for c in self._release_later:
            if all(r.ended for ph in (c.a, *c.parts) for r in ph.calls):
                for ph in (c.a, *c.parts):
                    ph.calls = []  # the next conference's script counts its calls from 0
                self.free.append(c.slot)  # type: ignore[attr-defined]
            else:
                keep.append(c)
        self._release_later = keep


def print_growers(before: Any, after: Any, n: int) -> None:
    """The Python allocations that grew most between two tracemalloc snapshots, by the
    innermost frames of the box's own code (confcall/, twisted, sqlalchemy) that made them."""
    skip = ("tracemalloc", "bench/soak.py", "bench/overload.py")
    filt = [tracemalloc.Filter(False, f"*{p}*") for p in skip]
    a, b = before.filter_traces(filt), after.filter_traces(filt)
    total = sum(s.size for s in b.statistics("filename")) - \
        sum(s.size for s in a.statistics("filename"))
    print(f"traced Python memory: {total / 2**20:+.2f} MB between the first quarter and the end;"
          f" top {n} growers:")
    for st in b.compare_to(a, "traceback")[:n]:
        print(f"  {st.size_diff / 1024:+9.1f} KiB {st.count_diff:+7d} blocks")
        for line in st.traceback.format(limit=6, most_recent_first=True):
            print("      " + line.strip())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spans", type=int, default=8)
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--factor", type=float, default=1.3)
    ap.add_argument("--short", action="store_true", help="2 spans, 8 virtual minutes (CI)")
    ap.add_argument("--wall-limit", type=float, default=0.0,
                    help="stop after this many wall seconds and report what was simulated")
    ap.add_argument("--progress", action="store_true", help="print each minute's sample")
    ap.add_argument("--trace-memory", type=int, default=0, metavar="N",
                    help="tracemalloc (slow): print the N top growers of Python memory between "
                         "the first quarter and the end")
    args = ap.parse_args(argv)
    if args.short:
        args.spans, args.hours = 2, 8 / 60
    seconds = args.hours * 3600
    s = Soak(args.spans, seconds, args.factor, seed=11)
    s._release_later = []
    try:
        t0 = time.perf_counter()
        s.plan()
        setup = time.perf_counter() - t0
        if args.trace_memory:
            tracemalloc.start(8)
        r = s.soak(seconds, args.wall_limit, args.progress, bool(args.trace_memory))
        lost = sum(ch.overruns for sp in s.bx.card.spans for ch in sp.channels)
        pool_max, db_path = s.bx.pool.max, str(s.bx.db_path)
    finally:
        s.close()
    samples = r["samples"]
    simulated = samples[-1][0] + 60 if samples else 0.0
    if simulated < seconds:
        print(f"STOPPED EARLY (wall limit {args.wall_limit:.0f} s): {simulated / 60:.0f} of "
              f"{seconds / 60:.0f} virtual minutes simulated; figures below cover those")
        seconds = simulated
    base_s = baseline_s(seconds)
    q = [x for x in samples if x[0] >= base_s]
    rss0, rss1 = q[0][1], q[-1][1]
    fds0, fds1 = q[0][2], q[-1][2]
    busy = statistics.mean(x[3] for x in q) / s.capacity
    allowed = rss0 * 0.02 + 8.0
    over = s.ticks_over
    print(f"confcall soak: {args.spans} E1 PRI spans = {s.capacity} B-channels, conferences of "
          f"3 held {overload.HOLD_S[0]:.0f}-{overload.HOLD_S[1]:.0f} s offered at "
          f"{args.factor:.2f}x capacity, {args.hours:g} virtual hours")
    print(f"  conferences: {s.n} arrived, " + ", ".join(
        f"{k} {v}" for k, v in sorted(s.outcomes.items())) + f", no free subscriber {s.no_slot}")
    whys = s.whys
    if whys:
        print("  failed: " + "; ".join(f"{k} x{v}" for k, v in whys.most_common()))
    print("  minute  RSS MB  fds  busy")
    step = max(1, len(samples) // 12)
    for t, rss, fds, b in samples[::step] + ([samples[-1]] if len(samples) % step != 1 else []):
        print(f"  {t / 60:6.0f}  {rss:6.1f}  {fds:3d}  {b:4d}")
    print(f"channels busy after the first quarter: {busy * 100:.1f} % (goal >= "
          f"{BUSY_GOAL * 100:.0f} %)")
    print(f"RSS after the first quarter: {rss0:.1f} -> {rss1:.1f} MB ({rss1 - rss0:+.1f} MB; "
          f"allowed {allowed:.1f}); open fds {fds0} -> {fds1}; audio blocks lost {lost}; "
          f"ticks over 20 ms of box CPU: {over}")
    if base_s < SETTLE_S:
        print(f"  (baseline at minute {q[0][0] / 60:.0f}, before the box's ten-minute lists of "
              f"ended calls fill at minute {SETTLE_S / 60:.0f}: no flatness verdict, a run of "
              f"{2 * SETTLE_S / 60:.0f} virtual minutes or more gives one)")
    else:
        print(f"  (baseline at minute {q[0][0] / 60:.0f}: after the box's ten-minute lists of "
              f"ended calls have filled, minute {SETTLE_S / 60:.0f})")
    print(f"wall: {r['wall']:.0f} s for {seconds:.0f} virtual s ({seconds / r['wall']:.2f}x "
          f"real time), {setup:.1f} s set-up; CPU {r['cpu']:.0f} s ({seconds / r['cpu']:.2f} "
          f"virtual s per CPU s, all threads); load average {os.getloadavg()[0]:.2f}")
    # the DB pool opens one SQLite connection (the file and its WAL) per thread as load asks
    # for threads, up to its maximum: bounded by construction; any other new fd is a leak
    db_max = 3 * (pool_max + 1)
    db0, db1 = (sum(1 for v in d.values() if v.startswith(db_path))
                for d in (s._fds_quarter or {}, s._fds_last))
    other_grew = (fds1 - db1) - (fds0 - db0)
    fds_ok = other_grew <= 0 and db1 <= db_max
    print(f"  open fds: {fds0 - db0} -> {fds1 - db1} besides the database's; the database's "
          f"{db0} -> {db1} (at most {db_max}: {pool_max} pool threads + 1, file/WAL/SHM each)")
    if fds1 > fds0 and s._fds_quarter is not None:
        new = {k: v for k, v in s._fds_last.items() if s._fds_quarter.get(k) != v}
        print("  fds opened since the first quarter, open at the last sample: " + ", ".join(
            f"{k} -> {v}" for k, v in sorted(new.items())))
    if len(r["traced"]) == 2:
        print_growers(*r["traced"], args.trace_memory)
    ok = rss1 - rss0 < allowed and fds_ok and busy >= BUSY_GOAL and lost == 0
    print("RESULT:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    random.seed(0)
    sys.exit(main())
