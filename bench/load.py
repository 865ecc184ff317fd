"""Load scenario (issue 6): 4 E1 PRI spans, 30 conferences of 4 formed via the callback, held.

Run: ``.venv/bin/python bench/load.py [--hold 30] [--delay 2] [--ec on|off|both] [--short]``

What runs: the real daemon (``confcall.daemon.Daemon``: libpri CPE on every span, the numba
media engine over all 120 B-channels, call control, rating on SQLite through the inline DB
runner) on a simulated 4-span E1 card, with the carrier's simulated switch (libpri NET) on each
span and 120 simulated phones shared by the 4 switches, all in virtual time (``VirtualMediaClock``,
20 ms ticks, as fast as the CPU allows, one thread).

The scenario, per conference i (0..29): initiator A_i dials the access number (staggered), hears
"confirmed" as early media and is cleared; the box calls A_i back after ``--delay`` s; A_i answers,
waits for the prompt, keys ``B#*C#*D#`` as real DTMF; B, C, D ring and answer; after the keypad's
pause inviting ends and all four talk (each phone its own tone). When all 30 conferences stand
(120 of 120 channels busy) they are held ``--hold`` virtual seconds, then every initiator hangs
up and the box clears everything.

What it measures (``time.process_time``; the run is single-threaded, so process CPU = this
thread): every CPU second is charged to exactly one bucket, nested calls are charged to the
innermost bucket:
- media.dsp       ``MediaEngine.process_tick``: G.711, echo canceller, DTMF, key suppression,
                  N-1 mix, prompts/music, for all 120 channels;
- media.io        the rest of ``MediaService.tick``: batch read/write of all B-channels through
                  the shim (real read()/write() syscalls on the simulated span's sockets) and
                  event draining;
- control         everything else on the reactor: call control (sessions, keypad, callback,
                  on-hook rejection, records, credit), the daemon's libpri CPE side
                  (``trunk.service``, Q.931/Q.921), Twisted timers, digit/prompt events
                  delivered by the engine, and the clock loop itself;
- control.db      rating/credit/records work run through the DB runner (inline here; a thread
                  pool in production, i.e. another core);
- sim.card        the simulated card: ``SimCard.tick`` (phones producing DTMF/voice, G.711
                  encode, recording what they hear, D-channel relay between the two sides);
- sim.switch      the simulated carrier: ``SimSwitch.service`` (libpri NET mode), its timers
                  (answer after N s), and the calls the script makes on it;
- driver          this script's scenario checks.
The simulator buckets are not part of a real box; media.* and control* are. "CPU per virtual
second" is the fraction of one core that part would need in real time.

Setup latency: per conference, from ``switch.place_call(A, ACCESS)`` to the moment a switch
sees the callback SETUP towards A, minus the configured callback delay, in virtual time (20 ms
resolution). It includes the access call's announcement, which the callback waits for (here a
0.3 s tone prompt; a spoken "request confirmed, please hang up" lasts longer).

Prompts are tones (``box_harness.tone_sounds``: 0.3 s per prompt, music a 2 s tone) rather than
the rendered Mandarin/English speech: start-up is faster, the media cost is the same (a prompt
is a table lookup whichever audio it holds). Argon2 uses the cheap test profile (only account
creation, at set-up, hashes a PIN).

Exit status: 0 when, in every run, all 30 conferences formed with 4 members, were still whole at
the end of the hold, and every channel was free again after the hang-up. The audio check (each
member hears the other three, not itself) is printed, with a warning when it fails.

By default the scenario runs twice: first with confcall's software echo canceller as the
config's default has it (``Config().echo_canceller``), then the other way, since the canceller
is a large share of the media cost; ``--ec on|off`` runs one.
"""
from __future__ import annotations

import argparse
import gc
import itertools
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for p in (str(ROOT / "tests" / "conference"), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))
Path(os.environ["NUMBA_CACHE_DIR"]).mkdir(parents=True, exist_ok=True)

SPANS = 4
CONFERENCES = 30
PARTICIPANTS = 3  # + the initiator = 4 per conference, 120 channels
VOICE_HZ = (300.0, 380.0, 620.0, 780.0)  # A, B, C, D: whose voice is whose; no 3rd-order
# intermodulation product of three of them lands within 80 Hz of the fourth
ANSWER_AFTER_S = (1.0, 2.0, 2.5, 3.0)


# -- CPU accounting -------------------------------------------------------------------------------
class Meter:
    """Exclusive CPU accounting: each moment is charged to the innermost active bucket."""

    def __init__(self, default: str = "control") -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.cur = default
        self._t = time.process_time()

    def switch(self, bucket: str) -> str:
        now = time.process_time()
        self.cpu[self.cur] += now - self._t
        self._t = now
        prev, self.cur = self.cur, bucket
        return prev

    def flush(self) -> None:
        self.switch(self.cur)

    def wrap(self, fn: Callable[..., Any], bucket: str) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            prev = self.switch(bucket)
            self.calls[bucket] += 1
            try:
                return fn(*args, **kwargs)
            finally:
                self.switch(prev)
        return wrapped

    def snapshot(self) -> dict[str, float]:
        self.flush()
        return dict(self.cpu)


# -- the box ---------------------------------------------------------------------------------
class LoadBox:
    """What ``box_harness.Box(tmp_path, spans=4)`` builds, with the echo canceller selectable
    (Box turns it off) and the simulator's cost metered."""

    def __init__(self, tmp: Path, meter: Meter, *, delay_s: float, echo: bool) -> None:
        from box_harness import ACCESS, CALLER_ID, NOW, SERVICE, tone_sounds
        from confcall.sim import SimCard, SimSwitch, VirtualMediaClock

        from confcall.conference.callback import CallbackPolicy
        from confcall.conference.session import SessionConfig
        from confcall.config import Config
        from confcall.daemon import Daemon
        from confcall.rating import secrets_
        from confcall.store import Store
        from confcall.store.inline import InlineRunner
        from tests.pgcluster import template

        secrets_.configure("test")
        secrets_.set_pepper(b"bench-pepper")
        self.now0 = NOW
        self.access = ACCESS
        self.card = SimCard([("E1", "pri")] * SPANS).install()
        self.clock = VirtualMediaClock()
        self.reactor = self.clock.reactor
        db = tmp / "confcall.db"
        shutil.copyfile(template("sqlite", None), db)
        self.store = Store(f"sqlite:///{db}")
        self.runner = InlineRunner(self.store)
        self.policy = CallbackPolicy(delay_s=delay_s, retries=2, retry_interval_s=20.0,
                                     caller_id=CALLER_ID)
        self.session_config = SessionConfig(max_participants=8)
        cb, sc = self.policy, self.session_config
        config = Config(simulated=True, sim_spans=(("E1", "pri"),) * SPANS,
                        access_numbers=(ACCESS,), service_numbers=(SERVICE,),
                        caller_id=cb.caller_id, min_balance_fen=100,
                        callback_delay_s=cb.delay_s, callback_retries=cb.retries,
                        callback_retry_interval_s=cb.retry_interval_s,
                        max_participants=sc.max_participants,
                        entry_timeout_s=sc.entry_timeout_s, finish_timeout_s=sc.finish_timeout_s,
                        language="zh", echo_canceller=echo)
        self.daemon = Daemon(config, self.reactor, runner=self.runner, store=self.store,
                             card=self.card, sounds=tone_sounds(), media_in_thread=False,
                             epoch=NOW)
        self.daemon.start()
        d = self.daemon
        self.trunks, self.media = d.trunks, d.media
        self.switches = [SimSwitch(sim, self.reactor, ring_timeout=30.0) for sim in self.card.spans]
        for sw in self.switches:
            self.clock.add_hook(sw.service)
        assert self.clock.run_until(lambda: all(t.up for t in self.trunks)
                                    and all(s.up for s in self.switches), 5), "spans not up"
        self._instrument(meter)

    def _instrument(self, m: Meter) -> None:
        media = self.media
        # the daemon's span clock calls self.card.tick() and self.media.tick() by attribute,
        # the engine calls self.on_event by attribute: instance attributes take over.
        media.tick = m.wrap(media.tick, "media.io")
        media.engine.process_tick = m.wrap(media.engine.process_tick, "media.dsp")
        media.engine.on_event = m.wrap(media.engine.on_event, "control")
        self.card.tick = m.wrap(self.card.tick, "sim.card")
        self.runner.call = m.wrap(self.runner.call, "control.db")
        self.runner.call_plain = m.wrap(self.runner.call_plain, "control.db")
        self.clock._hooks = [m.wrap(h, "sim.switch") for h in self.clock._hooks]
        for sw in self.switches:
            for name in ("_answer", "_ring_timeout", "place_call", "hangup"):
                setattr(sw, name, m.wrap(getattr(sw, name), "sim.switch"))
            sw.link._run_timers = m.wrap(sw.link._run_timers, "sim.switch")

    def account(self, number: str, fen: int) -> str:
        from confcall.rating import ops
        e164 = "+86" + number.lstrip("0")
        ops.create_account(self.store, e164, "482913", now=self.now0)
        ops.adjust(self.store, e164, fen, f"fund-{e164}", "load bench funding", now=self.now0)
        return e164

    def phone(self, number: str, **kwargs: Any) -> Any:
        from confcall.sim import SimPhone
        phone = SimPhone(number, **kwargs)
        for sw in self.switches:
            sw.add_phone(phone)
        return phone

    def switch_of(self, rec: Any) -> Any:
        return next(sw for sw in self.switches if any(r is rec for r in sw.records))

    def close(self) -> None:
        self.daemon.stop()
        for s in self.switches:
            s.link.stop()
        self.card.uninstall()
        self.store.dispose()


# -- one conference's script ----------------------------------------------------------------------
@dataclass(eq=False)
class Conf:
    i: int
    a: Any
    parts: list[Any]
    t_call: float
    state: str = "idle"  # idle access callback keying formed failed
    access: Any = None
    cb: Any = None
    session: Any = None
    keyed_at: float | None = None
    formed_at: float | None = None
    why: str = ""
    heard_ok: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def phones(self) -> list[Any]:
        return [self.a, *self.parts]

    def members_joined(self) -> int:
        s = self.session
        return 0 if s is None else sum(1 for m in s.members if m.state == "joined")

    def whole(self) -> bool:
        s = self.session
        return (s is not None and not s.ended and s.initiator_leg.active
                and self.members_joined() == PARTICIPANTS)


def step(c: Conf, box: LoadBox, now: float, sessions: dict[str, Any]) -> None:
    if c.state == "idle":
        if now >= c.t_call:
            sw = box.switches[c.i % SPANS]
            c.access = sw.place_call(c.a.number, box.access)
            c.state = "access"
    elif c.state == "access":
        if len(c.a.calls) >= 2:
            c.cb = c.a.calls[1]
            c.state = "callback"
        elif c.access.connected:
            c.state, c.why = "failed", "the access call was answered"
    elif c.state == "callback":
        if c.cb.ended and not c.cb.connected:
            c.state, c.why = "failed", f"callback not answered (cause {c.cb.cause})"
        elif c.cb.connected:
            s = c.session or sessions.get(c.a.number)
            c.session = s
            if s is not None and now >= s.started_at + 1.0:  # the prompt is heard first
                c.a.press("#*".join(p.number for p in c.parts) + "#")
                c.keyed_at = now
                c.state = "keying"
    elif c.state == "keying":
        s = c.session
        if s.ended:
            c.state, c.why = "failed", "conference ended while inviting"
        elif c.members_joined() == PARTICIPANTS and not s.keypad.inviting:
            for p in c.phones:
                p.talk()
            c.formed_at = now
            c.state = "formed"
        elif now - c.keyed_at > 40:
            c.state, c.why = "failed", (f"only {c.members_joined()} joined after 40 s; "
                                       f"{[(m.number, m.state) for m in s.members]}")


def levels(c: Conf) -> tuple[list[float], list[float]]:
    """Last second before hang-up: (levels of the other three, level of one's own voice) in
    dBFS, for each member."""
    from confcall.sim.voice import decode, level_db
    others, own = [], []
    for k, rec in enumerate([c.cb, *(p.last for p in c.parts)]):
        x = decode(bytes(rec.audio[-8000:]))
        for j, hz in enumerate(VOICE_HZ):
            (own if j == k else others).append(level_db(x, hz))
    return others, own


# -- run -------------------------------------------------------------------------------------
BUCKETS = ["media.dsp", "media.io", "control", "control.db", "sim.card", "sim.switch", "driver"]


def run(args: argparse.Namespace, echo: bool) -> dict[str, Any]:
    wall0 = time.perf_counter()
    meter = Meter()
    tmp = Path(tempfile.mkdtemp(prefix="confcall-load-"))
    box = None
    r: dict[str, Any] = {"echo": echo}
    try:
        box = LoadBox(tmp, meter, delay_s=args.delay, echo=echo)
        confs: list[Conf] = []
        for i in range(CONFERENCES):
            a_num = f"1380000{i:04d}"
            box.account(a_num, 100_000)
            a = box.phone(a_num, answer_after=ANSWER_AFTER_S[0], voice_hz=VOICE_HZ[0])
            parts = [box.phone(f"139{j:02d}00{i:04d}", answer_after=ANSWER_AFTER_S[j],
                               voice_hz=VOICE_HZ[j]) for j in range(1, PARTICIPANTS + 1)]
            confs.append(Conf(i, a, parts, t_call=0.5 + i * args.stagger))
        r["setup_wall"] = time.perf_counter() - wall0
        gc.collect()

        clock = box.clock
        sessions_seen: dict[str, Any] = {}
        callbacks = box.daemon.callbacks
        phases: list[tuple[str, float, float, dict[str, float]]] = []  # name, vt, wall, cpu

        def mark(name: str) -> None:
            phases.append((name, clock.now, time.perf_counter(), meter.snapshot()))

        def tick_driver(until: Callable[[], bool], timeout: float) -> bool:
            limit = clock.ticks + round(timeout / 0.020)
            while clock.ticks < limit:
                meter.switch("driver")
                # callbacks.sessions is a bounded deque (no slicing): take the new ones
                if len(sessions_seen) < len(callbacks.sessions):
                    for s in callbacks.sessions:
                        sessions_seen.setdefault(s.initiator_leg.number, s)
                now = clock.now - t0
                for c in confs:
                    if c.state not in ("formed", "failed"):
                        step(c, box, now, sessions_seen)
                done = until()
                meter.switch("control")
                if done:
                    return True
                clock.tick()
            return False

        t0 = clock.now
        mark("start")
        tick_driver(lambda: all(c.state in ("formed", "failed") for c in confs),
                    timeout=CONFERENCES * args.stagger + args.delay + 90)
        mark("ramp")
        formed = [c for c in confs if c.state == "formed"]
        r["busy"] = sum(30 - t.free_channels() for t in box.trunks)
        tick_driver(lambda: False, timeout=args.hold)
        mark("hold")
        meter.switch("driver")
        r["whole"] = sum(1 for c in formed if c.whole())
        lv = [levels(c) for c in formed]
        r["others_db"] = [x for o, _ in lv for x in o]
        r["own_db"] = [x for _, w in lv for x in w]
        r["heard_ok"] = sum(1 for o, w in lv if min(o) > -40 and max(w) < -50)
        for c in confs:
            if c.cb is not None and not c.cb.ended:
                box.switch_of(c.cb).hangup(c.cb, 16)
        meter.switch("control")
        r["cleared"] = tick_driver(lambda: all(t.free_channels() == 30 for t in box.trunks)
                                   and all(s.ended for s in callbacks.sessions), timeout=20)
        mark("teardown")
        r["wall_run"] = phases[-1][2] - phases[0][2]
    finally:
        if box is not None:
            box.close()
        shutil.rmtree(tmp, ignore_errors=True)
    r["wall_total"] = time.perf_counter() - wall0

    def d(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
        return {k: b.get(k, 0.0) - a.get(k, 0.0) for k in set(a) | set(b)}

    rows = []
    for (_, v0, w0, c0), (name, v1, w1, c1) in itertools.pairwise(phases):
        rows.append((name, v1 - v0, w1 - w0, d(c0, c1)))
    rows.append(("total", phases[-1][1] - phases[0][1], r["wall_run"],
                 d(phases[0][3], phases[-1][3])))
    r["rows"] = rows
    r["confs"] = confs
    r["formed"] = formed
    r["delay"] = box.policy.delay_s
    r["lat"] = [c.cb.started_at - c.access.started_at - box.policy.delay_s
                for c in confs if c.cb is not None]

    def disconnect_at(rec: Any) -> float | None:
        return next((t for t, m in rec.messages if m.startswith(("DISCONNECT", "RELEASE"))),
                    None)
    r["ann"] = [disconnect_at(c.access) - c.access.started_at for c in confs
                if c.access is not None and disconnect_at(c.access) is not None]
    r["join"] = [c.formed_at - (c.cb.answered_at - t0) for c in formed]
    return r


def media(c: dict[str, float]) -> float:
    return c.get("media.dsp", 0) + c.get("media.io", 0)


def ctl(c: dict[str, float]) -> float:
    return c.get("control", 0) + c.get("control.db", 0)


def sim(c: dict[str, float]) -> float:
    return c.get("sim.card", 0) + c.get("sim.switch", 0)


def report(r: dict[str, Any], args: argparse.Namespace) -> bool:
    formed, confs, rows = r["formed"], r["confs"], r["rows"]
    ec = ("ON" if r["echo"] else "OFF") + (" (the config default)" if r["echo"] == _ec_default()
                                           else " (not the config default)")
    print(f"=== echo cancellers {ec} ===")
    print(f"conferences formed with 4 members: {len(formed)}/{CONFERENCES}"
          f"   channels busy when all formed: {r['busy']}/{4 * CONFERENCES}"
          f"   still whole at end of hold: {r['whole']}/{len(formed)}"
          f"   all channels free after hang-up: {'yes' if r['cleared'] else 'NO'}")
    for c in confs:
        if c.state != "formed":
            print(f"  conference {c.i} ({c.a.number}) did not form: {c.state} {c.why}")
    if r["others_db"]:
        o, w = r["others_db"], r["own_db"]
        print(f"audio, last second of the hold: each member hears the other three at "
              f"{min(o):.1f}..{max(o):.1f} dBFS (median {statistics.median(o):.1f}; each talks at"
              f" -16 dBm0 = -19.1 dBFS), its own voice at {min(w):.1f}..{max(w):.1f} dBFS; "
              f"conferences where all hear all others > -40 and themselves < -50: "
              f"{r['heard_ok']}/{len(formed)}")
        if r["heard_ok"] != len(formed):
            print("  WARNING: members hear their own voice and/or others attenuated (see above)")
    vt = rows[-1][1]
    print(f"virtual seconds simulated: {vt:.1f}  (ramp {rows[0][1]:.1f} + hold {rows[1][1]:.1f}"
          f" + teardown {rows[2][1]:.1f})")
    print(f"wall seconds: {r['wall_run']:.1f} for the scenario ({vt / r['wall_run']:.2f}x real "
          f"time); {r['wall_total']:.1f} with set-up ({r['setup_wall']:.1f} s: DB copy, engine, "
          f"spans up, 30 accounts)")
    print("CPU seconds per virtual second (= fraction of one core needed in real time):")
    head = f"  {'phase':<10}{'virt s':>8}{'wall s':>8}" + "".join(f"{b:>12}" for b in BUCKETS)
    print(head + f"{'all':>10}")
    for name, v, w, c in rows:
        print(f"  {name:<10}{v:8.1f}{w:8.1f}" + "".join(f"{c.get(b, 0.0) / v:12.4f}"
                                                      for b in BUCKETS)
              + f"{sum(c.values()) / v:10.4f}")
    tot, ramp, hold, down = rows[-1][3], rows[0], rows[1], rows[2]
    print(f"media CPU per virtual second, 120 channels in conference (hold): "
          f"{media(hold[3]) / hold[1]:.4f}  (dsp {hold[3].get('media.dsp', 0) / hold[1]:.4f}"
          f" + channel I/O {hold[3].get('media.io', 0) / hold[1]:.4f}); whole run "
          f"{media(tot) / vt:.4f}")
    print(_rss_line())  # memory beside CPU: the whole process (box + simulator), now and peak
    print(f"call control + signalling (+DB) CPU per virtual second: whole run "
          f"{ctl(tot) / vt:.4f} (DB {tot.get('control.db', 0) / vt:.4f}); ramp with 30 "
          f"set-ups {ctl(ramp[3]) / ramp[1]:.4f} (DB {ramp[3].get('control.db', 0) / ramp[1]:.4f});"
          f" hold {ctl(hold[3]) / hold[1]:.4f}")
    print(f"  per conference formed (callback + 3 invitations, ramp CPU / 30): "
          f"{1000 * ctl(ramp[3]) / CONFERENCES:.1f} ms; clearing and rating 120 legs + 30 "
          f"conferences at hang-up: {ctl(down[3]):.2f} CPU s "
          f"(DB {down[3].get('control.db', 0):.2f}) within {down[1]:.2f} virtual s")
    print(f"simulator CPU per virtual second (not part of a box): {sim(tot) / vt:.4f} (card and "
          f"phones {tot.get('sim.card', 0) / vt:.4f}, carrier switch "
          f"{tot.get('sim.switch', 0) / vt:.4f}); bench driver {tot.get('driver', 0) / vt:.4f};"
          f" process CPU {sum(tot.values()):.1f} s in {r['wall_run']:.1f} wall s")
    lat, ann = r["lat"], r["ann"]
    if lat:
        print(f"setup latency, access-number SETUP -> callback SETUP seen by the switch, minus "
              f"the {r['delay']:.1f} s delay (virtual, 20 ms ticks, n={len(lat)}): min "
              f"{min(lat):.3f} s, median {statistics.median(lat):.3f} s, max {max(lat):.3f} s"
              f" -> goal < 1 s {'met' if max(lat) < 1.0 else 'NOT met'}")
    if ann:
        print(f"  of which the announcement (access SETUP -> confcall's DISCONNECT): median "
              f"{statistics.median(ann):.3f} s (0.3 s tone prompt here; a spoken prompt is longer"
              f" and adds to this latency one for one)")
    if r["join"]:
        print(f"callback answered -> conference of 4 formed (38 DTMF keys, ringing, 6 s keypad "
              f"pause): median {statistics.median(r['join']):.1f} s")
    print()
    return (len(formed) == CONFERENCES and r["whole"] == len(formed) and r["cleared"])


def _ec_default() -> bool:
    from confcall.config import Config
    return bool(Config().echo_canceller)


def _git_state() -> str:
    """The commit measured, and the files that differ from it (the figures are of the tree)."""
    import subprocess
    try:
        git = ["git", "-C", str(ROOT)]
        head = subprocess.run([*git, "log", "-1", "--format=%h %s"], capture_output=True,
                              text=True, timeout=10, check=False).stdout.strip()
        dirty = subprocess.run([*git, "status", "--porcelain", "--", "confcall", "tests",
                                "native"], capture_output=True, text=True, timeout=10,
                               check=False).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return "(git unavailable)"
    changed = [ln[3:] for ln in dirty if ln.strip()]
    return f"{head[:70]}" + (f"; uncommitted changes in {', '.join(changed)}" if changed else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hold", type=float, default=30.0, help="virtual seconds all 30 are held")
    ap.add_argument("--delay", type=float, default=2.0, help="callback delay (s)")
    ap.add_argument("--stagger", type=float, default=0.3,
                    help="seconds between two initiators' access calls")
    ap.add_argument("--ec", choices=("on", "off", "both"), default="both",
                    help="software echo cancellers; 'both' runs the config default first")
    ap.add_argument("--short", action="store_true",
                    help="4 conferences held 2 s, echo cancellers off (the test suite's run)")
    args = ap.parse_args(argv)
    if args.short:
        global CONFERENCES
        CONFERENCES = 4
        args.hold, args.ec = 2.0, "off"
    print("confcall load bench: 4 E1 PRI spans (120 B-channels), 30 conferences of 4 via the "
          "phone-mode callback, virtual time")
    print("  daemon: libpri CPE per span, numba media engine on the reactor thread (20 ms ticks),"
          " call control, SQLite through the inline DB runner; one thread, CPU by process_time")
    print("  prompts: short tones (tests' tone_sounds), not rendered speech; argon2: cheap test "
          "profile (set-up only)")
    print(f"  callback delay {args.delay:.1f} s, access calls staggered {args.stagger:.2f} s, "
          f"initiator keys 'B#*C#*D#', phones talk steady tones {VOICE_HZ} Hz at -16 dBm0, "
          f"hold {args.hold:.0f} s")
    print(f"  code: {_git_state()}")
    print()
    ok = True
    both = (_ec_default(), not _ec_default())
    for echo in {"on": (True,), "off": (False,), "both": both}[args.ec]:
        ok = report(run(args, echo), args) and ok
    print("RESULT:", f"OK ({CONFERENCES}/{CONFERENCES} conferences of 4 formed, held and "
          "cleared)" if ok else "FAILED")
    return 0 if ok else 1


def _rss_line() -> str:
    """This process's resident memory now and at its peak (/proc/self/status), in MB."""
    from pathlib import Path
    st = {k: int(v.split()[0]) / 1024 for k, _, v in
          (line.partition(":") for line in Path("/proc/self/status").read_text().splitlines())
          if k in ("VmRSS", "VmHWM")}
    return (f"RSS: {st.get('VmRSS', 0):.0f} MB now, {st.get('VmHWM', 0):.0f} MB peak (box and "
            "simulator in one process; bench/memory.py measures a box alone)")


if __name__ == "__main__":
    sys.exit(main())
