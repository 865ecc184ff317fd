"""Web site throughput: bookings and listings per second, p50/p99 latency, on loopback.

Run: ``.venv/bin/python bench/web.py [--seconds 10] [--clients 16] [--spans 8]`` (``--short``:
a few seconds on one span, what the test suite runs so the bench cannot rot).

What runs: the real box (``confcall.daemon.Daemon``) in its own process on a simulated card of
``--spans`` E1 spans (8 = 240 B-channels), its media engine ticking every B-channel in its own
thread every 20 ms, and the web site on the box's reactor ([web] on a free loopback port) over
SQLite (WAL, synchronous=FULL) through the DbRunner thread pool — the production shape.  The
box's process is pinned to one core (``sched_setaffinity``), the load generator to the other.
``--site alone``: the site in its own process (``confcall web``'s ``standalone.start``) pinned
to the other core over the same SQLite file, the box without ``[web]`` on core 0 with the load
generator: the deployment where the goal's "one core" is the site's (docs/web.md).

The load: ``--clients`` keep-alive HTTP/1.1 connections (asyncio, one subscriber account per
connection), each logged in through ``POST /api/v1/session``; phase 1 sends ``POST
/api/v1/bookings`` (a 3-party call, start times spread so capacity never refuses) back to back
for ``--seconds`` (closed loop: the most the box serves); then the same bookings are offered at
``--rate`` per second (open loop, default 500: what the goal asks, latency counted from when each
request was due, so queueing is in it) on up to ``--rate-clients`` connections (default 64: at
that rate the requests are many browsers', not 16 sockets'); phase 2 sends
``GET /api/v1/bookings`` (the first page: 20 bookings of the thousands each account holds by
then) for as long.
Latency is measured per request to the last byte of the answer.  Prompts are tones, argon2 the cheap
test profile (logins only).

Beside each phase: the site's group commits as its ``/metrics`` counts them (batches, bookings
per batch, batches over 50 ms) and the disk, probed by a thread of this process that
overwrites a block of a file beside the database and flushes it (``fdatasync``, what SQLite's
commit waits for) every 20 ms.  A commit waits for the disk: when the virtual disk of a shared
machine stalls a flush for a few hundred milliseconds, every booking in flight waits with it,
and the probe shows the stall was the disk's (docs/web.md, "Fifth round").

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
from typing import Any

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
def bench_config(url: str, spans: int, echo: bool, web: bool) -> Any:
    from confcall.config import Config
    return Config(source="bench", database_url=url, simulated=True,
                  sim_spans=(("E1", "pri"),) * spans, control_socket="", web_enabled=web,
                  web_port=0, booking_max_days_ahead=365, booking_channels=100_000,
                  echo_canceller=echo)


def serve(url: str, spans: int, echo: bool, web: bool = True) -> None:
    """The box: ``web`` = the site on its reactor (else the site runs alone: ``serve_site``)."""
    sys.path.insert(0, str(ROOT))
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    from confcall.sim import SimCard
    from twisted.internet import reactor
    from twisted.internet.task import LoopingCall

    from confcall.daemon import Daemon
    from confcall.rating import secrets_
    from tests.conference.box_harness import tone_sounds
    secrets_.configure("test")
    card = SimCard([("E1", "pri")] * spans).install()
    config = bench_config(url, spans, echo, web)
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


def serve_site(url: str, spans: int, core: int) -> None:
    """The site alone (``confcall web``'s ``standalone.start``) on ``core``, over the box's
    database: bookings are rows, the box's scheduler finds them by polling."""
    sys.path.insert(0, str(ROOT))
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    from twisted.internet import reactor

    from confcall.rating import secrets_
    from confcall.web import WebConfig
    from confcall.web.standalone import start
    secrets_.configure("test")
    cfg = WebConfig.from_config(bench_config(url, spans, True, True))
    reactor.callWhenRunning(start, reactor, url, cfg, port=0)
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


class DiskProbe:
    """How long the disk takes to flush, measured beside the bench: a thread overwrites one
    4 KiB block of a file in ``directory`` (the database's) and ``fdatasync``s it every
    ``period`` seconds; ``take()`` returns the flush times since the last ``take()``."""

    def __init__(self, directory: Path, period: float = 0.02) -> None:
        self.path = directory / "disk-probe.bin"
        self.period = period
        self._times: list[float] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="disk-probe", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            block = b"\xa5" * 4096
            os.pwrite(fd, block, 0)
            os.fsync(fd)  # the block exists: later flushes write data only
            while not self._stop.wait(self.period):
                os.pwrite(fd, block, 0)
                t0 = time.perf_counter()
                os.fdatasync(fd)
                with self._lock:
                    self._times.append(time.perf_counter() - t0)
        finally:
            os.close(fd)

    def take(self) -> list[float]:
        with self._lock:
            times, self._times = self._times, []
        return times

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def commit_figures(text: str) -> dict[str, float]:
    """The site's group-commit histograms (``confcall_web_commit_*``) from a /metrics text."""
    out: dict[str, float] = {}
    for name in ("confcall_web_commit_seconds_count", "confcall_web_commit_units_sum"):
        m = re.search(rf"^{name} ([\d.e+-]+)$", text, re.M)
        out[name] = float(m.group(1)) if m else 0.0
    m = re.search(r'^confcall_web_commit_seconds_bucket\{le="0\.05"\} ([\d.e+-]+)$', text, re.M)
    out["under_50ms"] = float(m.group(1)) if m else 0.0
    return out


async def scrape(host: str, port: int) -> dict[str, float]:
    c = Conn(host, port)
    await c.open()
    try:
        status, body, _ = await c.request("GET", "/metrics")
    finally:
        c.w.close()
    return commit_figures(body.decode()) if status == 200 else {}


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
                    box: BoxCpu, rate: float | None = None, other: BoxCpu | None = None
                    ) -> dict[str, object]:
    """``phase`` requests for ``seconds``; the box's CPU and the machine's load average are
    taken around it.

    Closed loop (``rate`` None): every connection sends its next request as soon as the answer
    to the last one came: the most the box serves, latency then being mostly the queue those
    connections make (Little's law: clients / rate).  Open loop (``rate``): requests are
    due at a fixed rate whatever the answers, each sent on a free connection, and its latency
    counts from when it was due (time waiting for a free connection included, so a stalled
    box cannot hide its stall): what a subscriber at that load sees.  Its pool is larger
    (``--rate-clients``): at 500 bookings/s the requests come from as many browsers, each
    with its own connection, so a request waiting for one of 16 sockets measures the bench's
    pool, not the site; how many had to wait is counted (``waited``)."""
    lat: list[float] = []
    errors: dict[int, int] = {}
    counter = [0]
    waited = [0]
    page: list[int] = []
    stop = time.perf_counter() + seconds

    async def send(c: Conn, n: int, due: float) -> None:
        status, body, _ = await c.request(*request_of(phase, n, base))
        lat.append(time.perf_counter() - due)
        if phase == "list" and not page and status == 200:
            page.append(len(json.loads(body)))
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
            if idle.empty():
                waited[0] += 1
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
    other0 = thread_cpu(other.pid) if other is not None else {}
    if rate is None:
        await asyncio.gather(*(worker(c) for c in conns))
    else:
        await open_loop(rate)
    elapsed = time.perf_counter() - t0
    _media, reactor, pool = box.split(cpu0, thread_cpu(box.pid))
    extra: dict[str, object] = {"page": page[0]} if page else {}
    if other is not None:  # the box beside a site alone: its media thread still ticks
        extra["box_media"] = other.split(other0, thread_cpu(other.pid))[0] / elapsed
    n = max(len(lat), 1)
    lat.sort()
    return {"requests": len(lat), "per_s": len(lat) / elapsed,
            "pool_ms": 1000 * pool / n,
            "reactor_ms": 1000 * max(reactor - box.reactor_idle * elapsed, 0.0) / n,
            "elapsed_s": elapsed, "load": os.getloadavg()[0],
            "p50_ms": 1000 * statistics.median(lat),
            "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))], "errors": errors,
            "rate": rate, "waited": waited[0], "connections": len(conns), **extra}


async def load(host: str, port: int, clients: int, seconds: float, site: BoxCpu,
               spy: str | None = None, rate: float | None = None,
               box: BoxCpu | None = None, probe: DiskProbe | None = None,
               rate_clients: int = 0) -> dict[str, object]:
    """Log the clients in, then the phases against the site (``site``: the process serving
    it; ``box``: the box's process when the site runs alone).  The closed loop and the
    listing use the first ``clients`` connections, the fixed rate all ``rate_clients``."""
    other = box if box is not None and box.pid != site.pid else None
    total = max(clients, rate_clients)
    pool = [Conn(host, port) for _ in range(total)]
    conns = pool[:clients]
    for c, number in zip(pool, numbers(total), strict=True):
        await c.open()
        status, body, _ = await c.request("POST", "/api/v1/session",
                                          {"number": number, "password": PIN})
        if status != 200:
            raise SystemExit(f"login failed: {status} {body[:200]!r}")
        c.csrf = json.loads(body)["csrf"]
    base = datetime.now(UTC) + timedelta(hours=2)
    if other is not None:
        await asyncio.gather(site.measure_idle(), other.measure_idle())
    else:
        await site.measure_idle()
    results: dict[str, object] = {}
    for phase in ("book", "list"):
        sampler = None
        if spy and phase == "book":  # where the site's time goes while it books (py-spy)
            sampler = await asyncio.create_subprocess_exec(
                "py-spy", "record", "-p", str(site.pid), "-d", str(int(seconds)), "-r", "200",
                "-f", "raw", "-o", spy, "--gil", "--nonblocking", stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
        results[phase] = await observed(host, port, probe, run_phase(
            conns, phase, seconds, base, site, other=other))
        if rate and phase == "book":  # the same bookings offered at a fixed rate
            results["book@rate"] = await observed(host, port, probe, run_phase(
                pool, phase, seconds, base + timedelta(days=120), site, rate, other=other))
        if sampler is not None:
            await asyncio.wait_for(sampler.wait(), 60)
    for c in pool:
        c.w.close()
    return results


async def observed(host: str, port: int, probe: DiskProbe | None, phase: Any
                   ) -> dict[str, object]:
    """A phase's figures plus what the site's /metrics and the disk probe saw meanwhile."""
    m0 = await scrape(host, port)
    if probe is not None:
        probe.take()
    x: dict[str, object] = await phase
    m1 = await scrape(host, port)
    if m0 and m1:
        batches = m1["confcall_web_commit_seconds_count"] - m0["confcall_web_commit_seconds_count"]
        x["commits"] = (batches,
                        m1["confcall_web_commit_units_sum"] - m0["confcall_web_commit_units_sum"],
                        batches - (m1["under_50ms"] - m0["under_50ms"]))
    if probe is not None:
        flushes = sorted(probe.take())
        if flushes:
            x["disk"] = (len(flushes), flushes[len(flushes) // 2], flushes[-1],
                         sum(1 for f in flushes if f > 0.05))
    return x


class Child:
    """A process of the bench (the box, the site alone) whose output is read to the end (a
    full pipe would stall it) and searched for what it announces."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path,
                 patterns: dict[str, str], ready_on: str) -> None:
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=env, cwd=cwd)
        self.seen: list[str] = []
        self.found: dict[str, int] = {}
        self.ready = threading.Event()
        self._patterns, self._ready_on = patterns, ready_on
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.seen.append(line)
            for key, pattern in self._patterns.items():
                m = re.search(pattern, line)
                if m:
                    self.found[key] = int(m.group(1))
            if line.startswith(self._ready_on):
                self.ready.set()
        self.ready.set()

    def tail(self) -> str:
        return "".join(self.seen[-40:])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--clients", type=int, default=16,
                    help="connections of the closed loop and the listing phase")
    ap.add_argument("--rate-clients", type=int, default=64,
                    help="connections the fixed-rate phase may use (the requests of many "
                         "browsers; how many requests found none free is printed)")
    ap.add_argument("--spans", type=int, default=8)
    ap.add_argument("--ec", choices=["on", "off"], default="on",
                    help="confcall's software echo canceller on every channel (on = the "
                         "config's default; off = the card's hardware canceller does it)")
    ap.add_argument("--site", choices=["box", "alone"], default="box",
                    help="box: the site on the box's reactor (core 0, with the media engine); "
                         "alone: the site in its own process (confcall web) on core 1 over "
                         "the same SQLite file, the box without [web] on core 0")
    ap.add_argument("--short", action="store_true", help="1 s per phase, 1 span, 4 clients")
    ap.add_argument("--spy", metavar="FILE", help="sample the site's process with py-spy --gil "
                    "(the thread running Python) during the booking phase (raw stacks to "
                    "FILE; py-spy must be on PATH)")
    ap.add_argument("--rate", type=float, default=500.0,
                    help="after the closed-loop booking phase, offer bookings at this fixed "
                         "rate per second (open loop, latency from when each was due; 0: skip)")
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    ap.add_argument("--no-web", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--serve-site", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.spans, args.ec == "on", web=not args.no_web)
        return 0
    if args.serve_site:
        serve_site(args.serve_site, args.spans, 1 if (os.cpu_count() or 1) > 1 else 0)
        return 0
    if args.short:
        args.seconds, args.clients, args.spans, args.rate = 1.0, 4, 1, 50.0
        args.rate_clients = 8
    alone = args.site == "alone"
    tmp = Path(tempfile.mkdtemp(prefix="confcall-bench-web-"))
    children: list[Child] = []
    try:
        url = prepare(tmp, max(args.clients, args.rate_clients))
        env = {**os.environ, "CONFCALL_ARGON2": "test",
               "CONFCALL_PEPPER": "bench-pepper", "PYTHONPATH": str(ROOT)}
        env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))
        box_argv = [sys.executable, __file__, "--serve", url, "--spans", str(args.spans),
                    "--ec", args.ec] + (["--no-web"] if alone else [])
        box_proc = Child(box_argv, env, tmp, {
            "port": r"web site on http://127\.0\.0\.1:(\d+)/", "channels": r"^channels (\d+)",
            "media": r"^media thread (\d+)"}, "media warm")
        children.append(box_proc)
        # the first start compiles the media kernels (minutes on a loaded machine)
        box_proc.ready.wait(900)
        channels = box_proc.found.get("channels")
        if channels is None or box_proc.proc.poll() is not None:
            print(box_proc.tail())
            return 1
        site_proc = box_proc
        if alone:
            site_proc = Child([sys.executable, __file__, "--serve-site", url, "--spans",
                               str(args.spans)], env, tmp,
                              {"port": r"listening on http://127\.0\.0\.1:(\d+)/"},
                              "confcall web: listening")
            children.append(site_proc)
            site_proc.ready.wait(300)
        port = site_proc.found.get("port")
        if port is None or site_proc.proc.poll() is not None:
            print(site_proc.tail())
            return 1
        if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
            # the load beside the box (alone: the site's core is its own)
            os.sched_setaffinity(0, {0} if alone else {1})
        try:
            box = BoxCpu(box_proc.proc.pid, box_proc.found.get("media", -1))
            site = BoxCpu(site_proc.proc.pid, -1) if alone else box
            probe = DiskProbe(tmp)
            probe.start()
            try:
                r = asyncio.run(load("127.0.0.1", port, args.clients, args.seconds, site,
                                     args.spy, args.rate or None, box=box, probe=probe,
                                     rate_clients=args.rate_clients))
            finally:
                probe.stop()
        except ConnectionError as e:
            print(f"{e}; the site said:\n" + site_proc.tail())
            return 1
    finally:
        for child in children:
            child.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    where = ("the site alone on core 1 (its own process, reactor + DB pool), the box on core 0"
             if alone else "box and site on 1 core")
    print(f"web bench: {where} with {channels} B-channels in the box's media engine (echo "
          f"canceller {args.ec}), SQLite (WAL, synchronous=FULL), {args.clients} keep-alive "
          f"clients, {args.seconds:.0f} s per phase")
    print(f"  box idle: media engine thread {100 * box.media_share:.0f} % of a core, reactor "
          f"(simulated spans' tick, signalling, timers) {100 * box.reactor_idle:.0f} %")
    if alone:
        print(f"  site idle: reactor {100 * site.reactor_idle:.0f} % of its core")
    ok = True
    phases = [("book", "POST /api/v1/bookings"), ("list", "GET /api/v1/bookings")]
    if "book@rate" in r:
        phases.insert(1, ("book@rate", f"  same, offered {args.rate:.0f}/s"))
        print(f"  (the fixed rate on up to {args.rate_clients} connections)")
    who = "site" if alone else "box"
    for phase, name in phases:
        x = r[phase]
        assert isinstance(x, dict)
        print(f"  {name:24s} {x['requests']:6d} requests  {x['per_s']:7.1f} /s  "
              f"p50 {x['p50_ms']:6.1f} ms  p99 {x['p99_ms']:6.1f} ms  errors {x['errors']}  "
              f"load average {x['load']:.1f}")
        print(f"  {'':24s} {who} CPU per request: DB pool {x['pool_ms']:.2f} ms + reactor "
              f"{x['reactor_ms']:.2f} ms beyond its idle rate"
              + (f"; box media thread {100 * x['box_media']:.0f} % of a core meanwhile"
                 if alone else "")
              + (f"; {x['page']} bookings a page" if "page" in x else ""))
        if x["rate"]:
            print(f"  {'':24s} requests that found all {x['connections']} connections busy "
                  f"and waited: {x['waited']}")
        if "commits" in x and phase != "list":
            batches, units, slow = x["commits"]  # type: ignore[misc]
            print(f"  {'':24s} group commits: {batches:.0f}, {units / max(batches, 1):.1f} "
                  f"bookings each, {slow:.0f} took over 50 ms")
        if "disk" in x:
            n, p50, worst, over = x["disk"]  # type: ignore[misc]
            print(f"  {'':24s} disk flush (fdatasync probe, {n} flushes): p50 "
                  f"{1000 * p50:.1f} ms, max {1000 * worst:.1f} ms, {over} over 50 ms")
        ok = ok and not x["errors"]
    b = r["book"]
    assert isinstance(b, dict)
    cpu_ms = b["pool_ms"] + b["reactor_ms"]
    idle = site.reactor_idle if alone else box.media_share + box.reactor_idle
    if cpu_ms > 0:
        print(f"  bookings/s the {who}'s core could serve beside its idle load, were it not "
              f"shared ((1 - idle) / CPU per booking): {1000 * max(1 - idle, 0) / cpu_ms:.0f}")
    o = r.get("book@rate")  # the goal: 500/s served with p99 < 50 ms (open loop at 500/s)
    met = isinstance(o, dict) and args.rate >= 500 and o["per_s"] >= 0.98 * args.rate and \
        o["p99_ms"] < 50 and not o["errors"]
    stalled = isinstance(o, dict) and "disk" in o and o["disk"][2] > 0.05  # type: ignore[index]
    why = ""
    if not met and stalled:
        why = (f" (the disk stalled a flush for {1000 * o['disk'][2]:.0f} ms during the "  # type: ignore[index]
               "phase: every booking in flight waits for its commit's flush)")
    elif os.getloadavg()[0] >= 1.5:
        why = " (on a shared machine: see the load average)"
    print(f"  goal >= 500 bookings/s, p99 < 50 ms (bookings offered at {args.rate:.0f}/s): "
          f"{'met' if met else 'NOT met'}{why}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
