"""Idle memory of a box: RSS of `confcall serve` on a simulated card with 1 and 8 E1 spans.

Run: ``.venv/bin/python bench/memory.py [--spans 1,8] [--short]``

What runs: the real ``confcall serve`` in a child process (as systemd would run it: the
rendered Mandarin prompts and the music registered with the media engine, the numba kernels,
the DB layer on SQLite, the metrics endpoint off), on a simulated card of N E1 PRI spans. The
bench is the unit's notify socket: it waits for ``READY=1`` (spans open, call control up;
``tests/proc_ready.py``, no polling), lets the box idle for the measurement window
(``--idle``, 3 s), then reads ``VmRSS`` (and ``VmHWM``, the peak) from /proc. Goal: an idle
8-span box under 300 MB.

``--breakdown`` prints what each layer adds in a fresh process (measured on the shared VM:
numpy + Twisted ~45 MB, the DB layer ~29 MB, numba and the media kernels ~136 MB, prompts and
music ~9 MB; phonenumbers' geodata ~129 MB, loaded only to seed the area table — which `db
upgrade` now does once, so a box that starts on an upgraded database never loads it).

``--short`` (the suite's test): one span, no idle window, and only checks that the box
reports READY and a plausible RSS. Prompts are rendered once into ``.cache/bench-prompts``.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.proc_ready import NotifySocket, NotReady, Output, exits_within, stop

GOAL_MB = 300.0


def _status(pid: int) -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024  # kB -> MB
    return out


def idle_rss(spans: int, idle_s: float = 3.0, timeout_s: float = 600.0) -> dict[str, float]:
    """Start serve on ``spans`` simulated E1 spans, wait for READY, idle, measure, stop."""
    prompts = ROOT / ".cache" / "bench-prompts"
    with tempfile.TemporaryDirectory(prefix="confcall-mem-") as tmp:
        t = Path(tmp)
        sim = ", ".join(['"E1:pri"'] * spans)
        (t / "confcall.toml").write_text(
            f'[database]\nurl = "sqlite:///{t}/confcall.db"\n'
            f'[hardware]\nsimulated = true\nsim_spans = [{sim}]\n'
            f'[prompts]\ndirectory = "{prompts}"\n[control]\nsocket = "{t}/confcall.sock"\n'
            '[metrics]\nport = 0\n[log]\nlevel = "warning"\n')
        # as installed: the database upgraded (and seeded) once, before the service starts
        subprocess.run([sys.executable, "-m", "confcall.cli", "db", "--db",
                        f"sqlite:///{t}/confcall.db", "upgrade"], check=True,
                       stdout=subprocess.DEVNULL)
        notify = NotifySocket(str(t / "notify"))
        env = {**os.environ, "NOTIFY_SOCKET": notify.path, "CONFCALL_PEPPER": "b" * 64,
               "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR",
                                                 str(ROOT / ".cache" / "numba"))}
        proc = subprocess.Popen([sys.executable, "-m", "confcall.cli", "serve", "-c",
                                 str(t / "confcall.toml")], cwd=t, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out = Output(proc)  # drained all along: a chatty box never blocks on a full pipe
        try:
            try:
                ready_s = notify.wait_ready(proc, timeout_s)
            except NotReady as e:
                raise SystemExit(f"serve did not report READY: {e}\n{out.text()}") from None
            # the measurement window: the ready box idles (an exit ends it at once)
            if idle_s > 0 and exits_within(proc, idle_s) or proc.poll() is not None:
                raise SystemExit(f"serve exited with {proc.wait()}:\n{out.text()}")
            st = _status(proc.pid)
            st["ready_s"] = ready_s
            return st
        finally:
            stop(proc)
            notify.close()


_BREAKDOWN = r"""
import sys
from pathlib import Path
def rss(key="VmRSS:"):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024
last = rss()
def step(name):
    global last
    now = rss()
    print(f"  {name:<52}{now - last:7.0f} MB  (total {now:.0f} MB, peak {rss('VmHWM:'):.0f})",
          flush=True)
    last = now
step("python interpreter")
import numpy, twisted.internet.reactor  # noqa: E401
step("numpy + Twisted")
import sqlalchemy, alembic  # noqa: E401
from confcall.store import Store
step("SQLAlchemy + Alembic + models (the DB layer)")
from confcall.dsp.engine import MediaEngine
import numpy as np
eng = MediaEngine(240, np.full(240, 2, np.int8))  # A-law
eng.process_tick(np.zeros((240, 160), np.uint8), np.zeros((240, 160), np.uint8))
step("numba + media kernels (loaded from the cache), 240 ch")
from confcall.daemon import prompt_sounds
sounds = prompt_sounds("zh", sys.argv[1])
step(f"prompts + music ({len(sounds)} sounds, zh)")
from confcall.rating import areas
areas.build_area_table()
step("phonenumbers geodata (only when seeding areas)")
"""


def breakdown() -> None:
    """RSS added by each layer, imported in the order a box loads them (a fresh process)."""
    print("memory by layer (fresh process, cumulative):")
    subprocess.run([sys.executable, "-c", _BREAKDOWN, str(ROOT / ".cache" / "bench-prompts")],
                   check=True, cwd=ROOT, env={**os.environ, "NUMBA_CACHE_DIR": os.environ.get(
                       "NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spans", default="1,8", help="comma-separated span counts")
    ap.add_argument("--short", action="store_true",
                    help="one span, RSS read at READY (no idle window), a quick check")
    ap.add_argument("--idle", type=float, default=3.0,
                    help="seconds the ready box idles before its RSS is read (default 3)")
    ap.add_argument("--breakdown", action="store_true",
                    help="also print the RSS each layer adds (DB, numba, prompts, geodata)")
    args = ap.parse_args()
    if args.breakdown:
        breakdown()
    counts = [1] if args.short else [int(x) for x in args.spans.split(",")]
    worst = 0.0
    for n in counts:
        st = idle_rss(n, idle_s=0.0 if args.short else args.idle)
        worst = max(worst, st["VmRSS"])
        print(f"idle RSS, {n} simulated E1 span(s) ({n * 30} B-channels): {st['VmRSS']:.0f} MB "
              f"(peak {st['VmHWM']:.0f} MB; ready after {st['ready_s']:.1f} s)")
    print(f"goal: idle 8-span box < {GOAL_MB:.0f} MB; load average {os.getloadavg()[0]:.2f}")
    if args.short:
        return 0 if 50 < worst < 2000 else 1
    return 0 if worst < GOAL_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())
