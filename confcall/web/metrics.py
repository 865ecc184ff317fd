"""The site's Prometheus metrics, in the process-wide default registry (the box's other
metrics live there too, so one ``/metrics`` serves them all).

Labels are bounded: the route *pattern* (``/api/v1/bookings/<id>``), not the raw path, so a
scanner trying a million URLs cannot grow the registry.
"""
from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "exposition", "observe", "observe_commit"]


def _metric(kind: type, name: str, doc: str, labels: list[str], **kw: Any) -> Any:
    """Create once per process (tests build many sites in one process)."""
    existing = REGISTRY._names_to_collectors.get(name)
    if existing is not None:
        return existing
    return kind(name, doc, labels, **kw)


_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)  # latency buckets
REQUESTS = _metric(Counter, "confcall_web_requests", "HTTP requests served by the site",
                   ["method", "route", "status"])
LATENCY = _metric(Histogram, "confcall_web_request_seconds",
                  "Time from request received to response finished",
                  ["method", "route"],
                  buckets=_SECONDS)
COMMIT = _metric(Histogram, "confcall_web_commit_seconds",
                 "Group commit of bookings: time from hand-off to the DB pool to the answer "
                 "(pool queue, the units, the commit and its disk flush)", [],
                 buckets=_SECONDS)
COMMIT_UNITS = _metric(Histogram, "confcall_web_commit_units",
                       "Bookings sharing one group commit", [],
                       buckets=(1, 2, 4, 8, 16, 32, 64))
_METHODS = {"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"}


def observe(request: Any, seconds: float) -> None:
    method = request.method.decode("ascii", "replace") if request.method else "?"
    method = method if method in _METHODS else "other"
    route = getattr(request, "route_pattern", None) or "unmatched"
    REQUESTS.labels(method, route, str(request.code)).inc()
    LATENCY.labels(method, route).observe(seconds)


def observe_commit(seconds: float, units: int) -> None:
    COMMIT.observe(seconds)
    COMMIT_UNITS.observe(units)


def exposition() -> bytes:
    return generate_latest(REGISTRY)
