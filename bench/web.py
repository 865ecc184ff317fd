"""Web site throughput: bookings and listings per second, p50/p99 latency, on loopback.

Run: ``.venv/bin/python bench/web.py [--seconds 10] [--clients 16] [--spans 8]`` (``--short``:
a few seconds on one span, what the test suite runs so the bench cannot rot).

What runs: the real box (``confcall.daemon.Daemon``) in its own process on a simulated card of
``--spans`` E1 spans (8 = 240 B-channels), its media engine ticking every B-channel in its own
thread every 20 ms, and the web site on the box's reactor ([web] on a free loopback port) over
SQLite (WAL, synchronous=FULL) through the DbRunner thread pool — the production shape.  The
box's process is pinned to one core (``sched_setaffinity``), the load generator to the other.

The load: ``--clients`` keep-alive HTTP/1.1 connections (asyncio, one subscriber account per
connection), each logged in through ``POST /api/v1/session``; phase 1 sends ``POST
/api/v1/bookings`` (a 3-party call, start times spread so capacity never refuses) back to back
for ``--seconds`` (closed loop: the most the box serves); then the same bookings are offered at
``--rate`` per second (open loop, default 500: what the goal asks, latency counted from when each
request was due, so queueing is in it); phase 2 sends ``GET /api/v1/bookings`` for as long.
Latency is measured per request to the last byte of the answer.  Prompts are tones, argon2 the cheap
test profile (logins only).

Goal (issue 11): >= 500 bookings/s with p99 < 50 ms on one core while the media engine runs
240 channels.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = "482913"


def numbers(n: int) -> list[str]:
    return [f"+86139{i:08d}" for i in range(n)]


def prepare(tmp: Path, clients: int, url_hint: str | None = None) -> str:
    sys.path.insert(0, str(ROOT))
    from confcall.daemon import _seed_if_empty
    from confcall.rating import ops, secrets_
    from confcall.store import Store, upgrade
    secrets_.configure("test")
    secrets_.set_pepper(b"bench-pepper")
    url = url_hint or f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    store = Store(url)
    _seed_if_empty(store)
    now = datetime.now(UTC)
    for number in numbers(clients):
        ops.create_account(store, number, PIN, now=now)
        for k in range(5):  # credit for thousands of held bookings
            ops.adjust(store, number, 10_000_000, f"bench-{number}-{k}", "bench funding",
                       now=now)
    store.dispose()
    return url


# -- the box (subprocess) ---------------------------------------------------------------------
def serve(url: str, spans: int, echo: bool) -> None:
    sys.path.insert(0, str(ROOT))
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    from confcall.sim import SimCard
    from twisted.internet import reactor
    from twisted.internet.task import LoopingCall

    from confcall.config import Config
    from confcall.daemon import Daemon
    from confcall.rating import secrets_
    from tests.conference.box_harness import tone_sounds
    secrets_.configure("test")
    card = SimCard([("E1", "pri")] * spans).install()
    config = Config(source="bench", database_url=url, simulated=True,
                    sim_spans=(("E1", "pri"),) * spans, control_socket="", web_enabled=True,
                    web_port=0, booking_max_days_ahead=365, booking_channels=100_000,
                    echo_canceller=echo)
    daemon = Daemon(config, reactor, card=card, sounds=tone_sounds(), media_in_thread=True,
                    on_event=lambda text: print(text, flush=True))

    def start() -> None:
        daemon.start()
        print(f"channels {len(daemon.batch)}", flush=True)
        media = next(t for t in threading.enumerate() if t.name == "media")
        print(f"media thread {media.native_id}", flush=True)
        engine = daemon.media.engine
        first = engine.tick

        def warm() -> None:  # the kernels compile on the first tick: measure after that
            if engine.tick - first >= 100:
                print("media warm", flush=True)
                poll.stop()
        poll = LoopingCall(warm)
        poll.start(0.2)

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", daemon.stop)
    reactor.run()


# -- the load (this process) ------------------------------------------------------------------
class Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.cookie = ""
        self.csrf = ""

    async def open(self) -> None:
        self.r, self.w = await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, body: dict | None = None
                      ) -> tuple[int, bytes, dict[str, str]]:
        data = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", "Connection: keep-alive"]
        if self.cookie:
            head.append(f"Cookie: {self.cookie}")
        if self.csrf:
            head.append(f"X-CSRF-Token: {self.csrf}")
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
        self.w.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        status_line = await self.r.readline()
        if not status_line:
            raise ConnectionError(f"the box closed the connection during {method} {path}")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while True:
            line = await self.r.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.decode().partition(":")
            headers.setdefault(k.strip().lower(), v.strip())
            if k.strip().lower() == "set-cookie" and v.strip().startswith("confcall_session="):
                self.cookie = v.strip().split(";")[0]
        if headers.get("transfer-encoding") == "chunked":
            chunks = []
            while True:
                size = int((await self.r.readline()).strip(), 16)
                if size == 0:
                    await self.r.readline()
                    break
                chunks.append(await self.r.readexactly(size))
                await self.r.readline()
            payload = b"".join(chunks)
        else:
            payload = await self.r.readexactly(int(headers.get("content-length", "0")))
        return status, payload, headers


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) each thread of the box has used so far."""
    out: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # the thread ended
        out[int(task.name)] = (int(fields[11]) + int(fields[12])) / tick
    return out


class BoxCpu:
    """The box's CPU by thread: the media engine's thread, the reactor (the main thread: the
    site's HTTP, signalling, and the simulated spans' 20 ms tick) and the rest (the DB pool,
    where the booking service runs).  On a shared machine the box gets less than a core, so
    the site's cost is taken as CPU per request, not as requests per second."""

    def __init__(self, pid: int, media_tid: int) -> None:
        self.pid, self.media_tid = pid, media_tid
        self.reactor_idle = 0.0  # the reactor's own CPU share with no request
        self.media_share = 0.0

    def split(self, before: dict[int, float], after: dict[int, float]) -> tuple[float, ...]:
        d = {t: after[t] - before.get(t, 0.0) for t in after}
        media = d.pop(self.media_tid, 0.0)
        reactor = d.pop(self.pid, 0.0)
        return media, reactor, sum(d.values())

    async def measure_idle(self, seconds: float = 3.0) -> None:
        c0, t0 = thread_cpu(self.pid), time.perf_counter()
        await asyncio.sleep(seconds)
        media, reactor, _ = self.split(c0, thread_cpu(self.pid))
        elapsed = time.perf_counter() - t0
        self.media_share, self.reactor_idle = media / elapsed, reactor / elapsed


def request_of(phase: str, n: int, base: datetime) -> tuple[str, str, dict | None]:
    """The ``n``-th request of ``phase``: a 3-party booking (start times spread a minute
    apart, so capacity never refuses) or the list of one's bookings."""
    if phase == "book":
        start = base + timedelta(minutes=n % 100_000)
        return ("POST", "/api/v1/bookings", {
            "participants": ["13800138000", "13700137000"],
            "start": start.isoformat(), "retry_count": 1, "retry_interval_s": 60})
    return ("GET", "/api/v1/bookings", None)


async def run_phase(conns: list[Conn], phase: str, seconds: float, base: datetime,
                    box: BoxCpu, rate: float | None = None) -> dict[str, object]:
    """``phase`` requests for ``seconds``; the box's CPU and the machine's load average are
    taken around it.

    Closed loop (``rate`` None): every connection sends its next request as soon as the answer
    to the last one came: the most the box serves, latency then being mostly the queue those
    connections make (Little's law: clients / rate).  Open loop (``rate``): requests are
    due at a fixed rate whatever the answers, each sent on a free connection, and its latency
    counts from when it was due (time waiting for a free connection included, so a stalled
    box cannot hide its stall): what a subscriber at that load sees."""
    lat: list[float] = []
    errors: dict[int, int] = {}
    counter = [0]
    stop = time.perf_counter() + seconds

    async def send(c: Conn, n: int, due: float) -> None:
        status, body, _ = await c.request(*request_of(phase, n, base))
        lat.append(time.perf_counter() - due)
        if status not in (200, 201):
            errors[status] = errors.get(status, 0) + 1
            if sum(errors.values()) == 1:
                print(f"  first refusal in {phase}: {status} {body[:200]!r}")

    async def worker(c: Conn) -> None:
        while time.perf_counter() < stop:
            n = counter[0]
            counter[0] += 1
            await send(c, n, time.perf_counter())

    async def open_loop(rate: float) -> None:
        idle: asyncio.Queue[Conn] = asyncio.Queue()
        for c in conns:
            idle.put_nowait(c)

        async def one(n: int, due: float) -> None:
            c = await idle.get()
            try:
                if time.perf_counter() > stop + 1.0:  # a box that fell behind: not sent at all
                    errors["unsent"] = errors.get("unsent", 0) + 1  # type: ignore[index]
                    return
                await send(c, n, due)
            finally:
                idle.put_nowait(c)
        t_start, tasks = time.perf_counter(), []
        for n in range(int(rate * seconds)):
            due = t_start + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n, due)))
        await asyncio.gather(*tasks)

    t0, cpu0 = time.perf_counter(), thread_cpu(box.pid)
    if rate is None:
        await asyncio.gather(*(worker(c) for c in conns))
    else:
        await open_loop(rate)
    elapsed = time.perf_counter() - t0
    _media, reactor, pool = box.split(cpu0, thread_cpu(box.pid))
    n = max(len(lat), 1)
    lat.sort()
    return {"requests": len(lat), "per_s": len(lat) / elapsed,
            "pool_ms": 1000 * pool / n,
            "reactor_ms": 1000 * max(reactor - box.reactor_idle * elapsed, 0.0) / n,
            "elapsed_s": elapsed, "load": os.getloadavg()[0],
            "p50_ms": 1000 * statistics.median(lat),
            "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))], "errors": errors,
            "rate": rate}


async def load(host: str, port: int, clients: int, seconds: float, box: BoxCpu,
               spy: str | None = None, rate: float | None = None) -> dict[str, object]:
    conns = [Conn(host, port) for _ in range(clients)]
    for c, number in zip(conns, numbers(clients), strict=True):
        await c.open()
        status, body, _ = await c.request("POST", "/api/v1/session",
                                          {"number": number, "password": PIN})
        if status != 200:
            raise SystemExit(f"login failed: {status} {body[:200]!r}")
        c.csrf = json.loads(body)["csrf"]
    base = datetime.now(UTC) + timedelta(hours=2)
    await box.measure_idle()
    results: dict[str, object] = {}
    for phase in ("book", "list"):
        sampler = None
        if spy and phase == "book":  # where the box's time goes while it books (py-spy)
            sampler = await asyncio.create_subprocess_exec(
                "py-spy", "record", "-p", str(box.pid), "-d", str(int(seconds)), "-r", "200", "-f",
                "raw", "-o", spy, "--nonblocking", stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
        results[phase] = await run_phase(conns, phase, seconds, base, box)
        if rate and phase == "book":  # the same bookings offered at a fixed rate
            results["book@rate"] = await run_phase(conns, phase, seconds,
                                                   base + timedelta(days=120), box, rate)
        if sampler is not None:
            await asyncio.wait_for(sampler.wait(), 60)
    for c in conns:
        c.w.close()
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--spans", type=int, default=8)
    ap.add_argument("--ec", choices=["on", "off"], default="on",
                    help="confcall's software echo canceller on every channel (on = the "
                         "config's default; off = the card's hardware canceller does it)")
    ap.add_argument("--short", action="store_true", help="1 s per phase, 1 span, 4 clients")
    ap.add_argument("--spy", metavar="FILE", help="sample the box with py-spy during the "
                    "booking phase (raw stacks to FILE; py-spy must be on PATH)")
    ap.add_argument("--rate", type=float, default=500.0,
                    help="after the closed-loop booking phase, offer bookings at this fixed "
                         "rate per second (open loop, latency from when each was due; 0: skip)")
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.spans, args.ec == "on")
        return 0
    if args.short:
        args.seconds, args.clients, args.spans, args.rate = 1.0, 4, 1, 50.0
    tmp = Path(tempfile.mkdtemp(prefix="confcall-bench-web-"))
    proc = None
    try:
        url = prepare(tmp, args.clients)
        env = {**os.environ, "CONFCALL_ARGON2": "test",
               "CONFCALL_PEPPER": "bench-pepper", "PYTHONPATH": str(ROOT)}
        env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))
        proc = subprocess.Popen([sys.executable, __file__, "--serve", url, "--spans",
                                 str(args.spans), "--ec", args.ec], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp)
        seen: list[str] = []
        ready = {"port": threading.Event(), "warm": threading.Event()}
        found: dict[str, int] = {}

        def drain() -> None:  # read the box's output to the end: a full pipe would stall it
            for line in proc.stdout:
                seen.append(line)
                m = re.search(r"web site on http://127\.0\.0\.1:(\d+)/", line)
                if m:
                    found["port"] = int(m.group(1))
                m = re.search(r"^channels (\d+)", line)
                if m:
                    found["channels"] = int(m.group(1))
                    ready["port"].set()
                m = re.search(r"^media thread (\d+)", line)
                if m:
                    found["media"] = int(m.group(1))
                if line.startswith("media warm"):
                    ready["warm"].set()
            ready["port"].set()
            ready["warm"].set()
        threading.Thread(target=drain, daemon=True).start()
        # the first start compiles the media kernels (minutes on a loaded machine)
        ready["warm"].wait(900)
        port, channels = found.get("port"), found.get("channels")
        if port is None or channels is None or proc.poll() is not None:
            print("".join(seen[-40:]))
            return 1
        if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
            os.sched_setaffinity(0, {1})
        try:
            box = BoxCpu(proc.pid, found.get("media", -1))
            r = asyncio.run(load("127.0.0.1", port, args.clients, args.seconds, box, args.spy,
                                 args.rate or None))
        except ConnectionError as e:
            print(f"{e}; the box said:\n" + "".join(seen[-40:]))
            return 1
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"web bench: box on 1 core with {channels} B-channels in its media engine (echo "
          f"canceller {args.ec}), SQLite (WAL, synchronous=FULL), {args.clients} keep-alive "
          f"clients, {args.seconds:.0f} s per phase")
    idle = box.media_share + box.reactor_idle
    print(f"  box idle: media engine thread {100 * box.media_share:.0f} % of a core, reactor "
          f"(simulated spans' tick, signalling, timers) {100 * box.reactor_idle:.0f} %")
    ok = True
    phases = [("book", "POST /api/v1/bookings"), ("list", "GET /api/v1/bookings")]
    if "book@rate" in r:
        phases.insert(1, ("book@rate", f"  same, offered {args.rate:.0f}/s"))
    for phase, name in phases:
        x = r[phase]
        assert isinstance(x, dict)
        print(f"  {name:24s} {x['requests']:6d} requests  {x['per_s']:7.1f} /s  "
              f"p50 {x['p50_ms']:6.1f} ms  p99 {x['p99_ms']:6.1f} ms  errors {x['errors']}  "
              f"load average {x['load']:.1f}")
        print(f"  {'':24s} box CPU per request: DB pool {x['pool_ms']:.2f} ms + reactor "
              f"{x['reactor_ms']:.2f} ms beyond its idle rate")
        ok = ok and not x["errors"]
    b = r["book"]
    assert isinstance(b, dict)
    cpu_ms = b["pool_ms"] + b["reactor_ms"]
    if cpu_ms > 0:
        print(f"  bookings/s the box's core could serve beside its idle load, were it not "
              f"shared ((1 - idle) / CPU per booking): {1000 * max(1 - idle, 0) / cpu_ms:.0f}")
    o = r.get("book@rate")  # the goal: 500/s served with p99 < 50 ms (open loop at 500/s)
    met = isinstance(o, dict) and args.rate >= 500 and o["per_s"] >= 0.98 * args.rate and \
        o["p99_ms"] < 50 and not o["errors"]
    print(f"  goal >= 500 bookings/s, p99 < 50 ms (bookings offered at {args.rate:.0f}/s): "
          f"{'met' if met else 'NOT met'}"
          f"{'' if os.getloadavg()[0] < 1.5 else ' (on a shared machine: see the load average)'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
