"""What the NOC sees of a running box: call tracing, metrics, systemd readiness and watchdog.

Why one place: these observe the box and never decide anything in it; the daemon creates a
``BoxWatch`` once and calls ``start()`` when its spans, media and call control are up, so
none of this is spread over the call-control modules.

Threads: the metrics refresh and the watchdog ping run on the reactor (a few attribute reads
and one SPANSTAT ioctl per span every few seconds); the revenue sum runs in the DB pool; the
``/metrics`` HTTP server has its own thread and only reads the registry.
"""
from __future__ import annotations

import logging
from typing import Any

from confcall.calltrace import CallObserver
from confcall.clock import every
from confcall.metrics import BoxMetrics, MeteredRunner
from confcall.sdnotify import notify, watchdog_interval_s

__all__ = ["BoxWatch"]

log = logging.getLogger("confcall.daemon")

REFRESH_S = 5.0
REVENUE_EVERY = 6  # refreshes: the revenue sum runs every 30 s


class BoxWatch:
    def __init__(self, daemon: Any) -> None:
        self.daemon = daemon
        self.metrics = BoxMetrics()
        self.calls = CallObserver(self.metrics)
        self.metrics_port: int | None = None
        self._refreshes = 0
        daemon.runner = MeteredRunner(daemon.runner, self.metrics)

    def start(self) -> None:
        d = self.daemon
        d.media.on_any_digit = self._digit
        d._loops.append(every(d.reactor, REFRESH_S, self.refresh))
        cfg = d.config
        if cfg.metrics_port and hasattr(d.reactor, "listenTCP"):  # real reactors only
            try:
                self.metrics_port = self.metrics.serve(cfg.metrics_bind, cfg.metrics_port)
            except OSError as e:  # the box still serves calls; the NOC sees no scrape
                log.error("metrics: cannot listen on %s:%s: %s (set [metrics] port)",
                          cfg.metrics_bind, cfg.metrics_port, e.strerror or e)
            else:
                d._say(f"metrics on http://{cfg.metrics_bind}:{self.metrics_port}/metrics")
        interval = watchdog_interval_s()
        if interval is not None and d.media_in_thread:
            d._loops.append(every(d.reactor, interval, self._watchdog))
        notify(f"READY=1\nSTATUS={len(d.trunks)} span(s), {len(d.batch)} channels")

    def _digit(self, ev: Any) -> None:
        if ev.start:
            self.metrics.dtmf_digits.inc()

    def refresh(self, revenue: bool = False) -> Any:
        """Copy span, media and (every REVENUE_EVERY-th time, or when asked) revenue figures
        into the metrics. Returns the revenue sum's Deferred when one was started (the gauge
        is set when it fires: the sum runs in the DB pool), else None."""
        d = self.daemon
        self.metrics.refresh(d.trunks, d.media)
        self.metrics.refresh_writes(getattr(d, "writes", None))  # issue 13: pending writes
        self.metrics.refresh_fleet(getattr(d, "fleet", None))  # issue 13: heartbeat, reaped
        summed = None
        if revenue or self._refreshes % REVENUE_EVERY == 0:
            summed = self.metrics.refresh_revenue(d.runner)
        self._refreshes += 1
        return summed

    def _watchdog(self) -> None:
        """Ping only while the media thread ticks: a stalled engine stops the pings, and
        systemd restarts the box after WatchdogSec."""
        stats = self.daemon.media.tick_stats
        if stats.stalled(limit_s=2.0):
            log.error("media engine stalled: no tick for over 2 s; withholding the watchdog "
                      "ping so systemd restarts the box")
            return
        notify("WATCHDOG=1")

    def session_started(self, session: Any) -> None:
        self.calls.conference_started(session)

    def session_ended(self, session: Any) -> None:
        self.calls.conference_ended(session)

    def callback_requested(self) -> None:
        self.metrics.callbacks_requested.inc()

    def stop(self) -> None:
        notify("STOPPING=1")
        self.metrics.stop()
