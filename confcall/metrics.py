"""Prometheus metrics of one box: spans, calls, conferences, media engine, database, revenue.

Why these: they are what a NOC watches on a wall — is the line up (alarms, error counters),
is the box carrying calls (channels in use, attempts, answers, causes), is audio healthy
(media tick time, overruns), is the database keeping up (write latency, queue depth), and is
money coming in (revenue). `docs/grafana/confcall.json` is a dashboard over exactly these
names; `docs/operations.md` lists them.

How it works: call control feeds counters as events happen (``CallObserver`` in
``confcall.calltrace``); values that live elsewhere (span status, tick durations, revenue in
the database) are copied into gauges by ``refresh()`` (and ``refresh_revenue()``, which
runs its SQL in the DB pool), which the daemon runs every few seconds on the reactor. Each
box has its own registry, served over HTTP (``serve()``, its own thread) on ``[metrics]
port``; a scrape never touches the reactor, the DB or the hardware.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["BoxMetrics", "MeteredRunner"]

log = logging.getLogger("confcall.metrics")

SPAN_COUNTERS = ("bpv", "crc4", "ebit", "fas")


class BoxMetrics:
    """Every metric of one box, in its own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = r = registry or CollectorRegistry()
        # spans
        self.span_up = Gauge("confcall_span_up", "1 when the span's signalling is up",
                             ["span"], registry=r)
        self.span_alarms = Gauge("confcall_span_alarms", "DAHDI alarm bits of the span "
                                 "(0 = none, -1 = status unreadable)", ["span"],
                                 registry=r)
        self.span_errors = Gauge("confcall_span_errors", "DAHDI error counters of the span "
                                 "(bpv, crc4, ebit, fas) as the driver reports them",
                                 ["span", "counter"], registry=r)
        self.channels_total = Gauge("confcall_channels", "B-channels of the span", ["span"],
                                    registry=r)
        self.channels_in_use = Gauge("confcall_channels_in_use", "B-channels carrying a call",
                                     ["span"], registry=r)
        # calls
        self.call_attempts = Counter("confcall_call_attempts", "calls offered (in) or "
                                     "dialled (out)", ["direction"], registry=r)
        self.calls_answered = Counter("confcall_calls_answered", "calls answered",
                                      ["direction"], registry=r)
        self.calls_cleared = Counter("confcall_calls_cleared", "calls ended, by Q.850 cause",
                                     ["direction", "cause"], registry=r)
        self.calls_active = Gauge("confcall_calls_active", "calls not yet cleared",
                                  ["direction"], registry=r)
        self.conferences = Counter("confcall_conferences", "conferences started", registry=r)
        self.conferences_active = Gauge("confcall_conferences_active", "conferences running",
                                        registry=r)
        self.callbacks_requested = Counter("confcall_callbacks_requested",
                                           "callbacks accepted at the access number",
                                           registry=r)
        self.dtmf_digits = Counter("confcall_dtmf_digits", "DTMF digits detected", registry=r)
        # media engine
        self.tick_seconds = Gauge("confcall_media_tick_seconds", "media tick processing time "
                                  "over the last minute", ["quantile"], registry=r)
        self.ticks = Gauge("confcall_media_ticks", "media ticks since start", registry=r)
        self.overruns = Gauge("confcall_media_overruns", "media ticks that took longer than "
                              "20 ms, since start", registry=r)
        # database
        self.db_seconds = Histogram("confcall_db_call_seconds", "database work from request to "
                                    "result (queueing included)", registry=r,
                                    buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5,
                                             1, 2.5, 5, 10))
        self.db_queue = Gauge("confcall_db_queue_depth", "database calls waiting or running",
                              registry=r)
        self.db_failures = Counter("confcall_db_failures", "database calls that failed",
                                   registry=r)
        # the money/record write queue (issue 13, kill9's hunk): writes not yet committed,
        # and whether the database refuses them now (they are retried; see docs/durability.md)
        self.writes_pending = Gauge("confcall_db_writes_pending", "money and record writes "
                                    "waiting for the database (queued, running or retried)",
                                    registry=r)
        self.writes_failing = Gauge("confcall_db_writes_failing", "1 while the database "
                                    "cannot take money/record writes (they wait, retried)",
                                    registry=r)
        self.writes_retries = Gauge("confcall_db_writes_retries", "money/record writes "
                                    "retried after a transient database failure, since start",
                                    registry=r)
        # the fleet (issue 13, fleet's hunk; docs/fleet.md): this box's heartbeat, boxes reaped
        self.fleet_connected = Gauge("confcall_fleet_heartbeat_ok", "1 while this box's "
                                     "heartbeat reaches the database", registry=r)
        self.fleet_reaped = Gauge("confcall_fleet_boxes_reaped", "lost boxes whose open rows "
                                  "this box closed, since start", registry=r)
        # journal's hunk: the waiting writes kept on disk, and appends to it that failed
        self.writes_journaled = Gauge("confcall_db_writes_journaled", "money/record writes "
                                      "waiting for the database that are kept in the write "
                                      "journal (survive a crash)", registry=r)
        self.journal_failures = Gauge("confcall_db_journal_failures", "appends to the write "
                                      "journal that failed since start (those writes wait in "
                                      "memory only)", registry=r)
        # money
        self.revenue_fen = Gauge("confcall_revenue_fen", "fen charged for rated call legs, "
                                 "all boxes of the database together", registry=r)
        self._http: Any = None
        self._revenue_asked = 0  # sums started: only the latest one sets the gauge

    # -- copying values in ------------------------------------------------------------------
    def refresh(self, trunks: Iterable[Any], media: Any) -> None:
        """Span status and channels per trunk, media tick figures (reactor thread)."""
        for trunk in trunks:
            span = trunk.span
            label = str(span.spanno)
            self.span_up.labels(label).set(1 if trunk.up else 0)
            self.channels_total.labels(label).set(len(span.bchannels) + len(span.cas))
            self.channels_in_use.labels(label).set(
                sum(1 for leg in trunk.legs.values() if leg.active))
            try:
                st = span.status()
            except OSError as e:  # a span that cannot be asked is as good as alarmed
                log.warning("span %s: SPANSTAT failed: %s", label, e)
                self.span_alarms.labels(label).set(-1)
                continue
            self.span_alarms.labels(label).set(st.alarms)
            for name in SPAN_COUNTERS:
                self.span_errors.labels(label, name).set(getattr(st, name))
        stats = media.tick_stats
        p50, p99 = stats.quantiles(0.5, 0.99)
        self.tick_seconds.labels("0.5").set(p50)
        self.tick_seconds.labels("0.99").set(p99)
        self.ticks.set(stats.ticks)
        self.overruns.set(stats.overruns)

    def refresh_writes(self, writes: Any) -> None:
        """The box's ``OrderedWrites`` (reactor thread; issue 13, kill9's hunk)."""
        if writes is None:
            return
        self.writes_pending.set(writes.pending())
        self.writes_failing.set(1 if writes.failing else 0)
        self.writes_retries.set(writes.retries)
        self.writes_journaled.set(getattr(writes, "journaled", 0))  # journal's hunk
        self.journal_failures.set(getattr(writes, "journal_failures", 0))

    def refresh_fleet(self, fleet: Any) -> None:
        """The box's ``FleetWatch`` (reactor thread; issue 13, fleet's hunk)."""
        if fleet is None:
            return
        self.fleet_connected.set(1 if fleet.connected_since is not None else 0)
        self.fleet_reaped.set(len(fleet.reaped))

    def refresh_revenue(self, runner: Any) -> Any:
        """Sum the rated legs' charges in the DB pool; the gauge is set when it returns.

        Returns the Deferred of the sum (fired once the gauge holds it), so a caller that must
        see the figure (a test's scrape, a shutdown report) waits for it rather than reading
        the previous value. The pool has several threads: a slow sum may come back after a
        later one, so only the latest sum started is written (the gauge never goes back to an
        older total)."""
        from sqlalchemy import func, select

        from confcall.store.models import Leg

        def total(session: Any) -> int:
            return int(session.scalar(select(func.coalesce(func.sum(Leg.amount_fen), 0))))

        self._revenue_asked += 1
        asked = self._revenue_asked

        def got(fen: int) -> int:
            if asked == self._revenue_asked:
                self.revenue_fen.set(fen)
            return fen

        d = runner.call(total)
        d.addCallbacks(got, lambda f: log.warning("revenue for metrics: %s",
                                                  f.getErrorMessage()))
        return d

    # -- serving ------------------------------------------------------------------------------
    def serve(self, bind: str, port: int) -> int:
        """Serve ``/metrics`` from its own thread; returns the port (``port`` 0 = any)."""
        from prometheus_client import start_http_server
        server, _thread = start_http_server(port, addr=bind, registry=self.registry)
        self._http = server
        return int(server.server_port)

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None


class MeteredRunner:
    """The store runner, timed: every ``call``/``call_plain`` counts in the queue depth while
    pending and its time to result goes into the latency histogram. Everything else is the
    wrapped runner's."""

    def __init__(self, runner: Any, metrics: BoxMetrics,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self._runner = runner
        self._metrics = metrics
        self._clock = clock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runner, name)

    def _timed(self, d: Any) -> Any:
        m = self._metrics
        started = self._clock()
        m.db_queue.inc()

        def done(result: Any) -> Any:
            m.db_queue.dec()
            m.db_seconds.observe(self._clock() - started)
            return result

        def failed(f: Any) -> Any:
            m.db_failures.inc()
            return f
        d.addBoth(done)
        d.addErrback(failed)
        return d

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self._timed(self._runner.call(fn, *args, **kwargs))

    def call_plain(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self._timed(self._runner.call_plain(fn, *args, **kwargs))
