"""Logging for `confcall serve`: stderr, one event per line, key=value or JSON.

Why stderr and one line per event: under systemd, journald captures stderr and stamps each
line with the unit, time and priority; a line that names its fields (``event=leg.answered
call=L17 cause=16``) can be grepped by one call id from the first SETUP to the last RELEASE,
and the JSON form feeds a log shipper without a parser of ours.

How to use it: ``configure_logging(level="info", fmt="keyvalue")`` once at start-up; code
logs as usual (``log.info("...")``) and adds structured fields with
``log.info("...", extra=fields(event="leg.answered", call="L17"))``. Every line carries
``ts``, ``level``, ``logger`` and ``msg``; fields given in ``extra`` follow.
"""
from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = ["LEVELS", "FORMATS", "configure_logging", "route_twisted", "fields",
           "KeyValueFormatter",
           "JsonFormatter"]

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("keyvalue", "json")
_FIELDS_ATTR = "confcall_fields"  # where ``fields()`` puts the structured fields on a record


def fields(**kv: Any) -> dict[str, Any]:
    """``extra=`` for a log call: structured fields printed after the message."""
    return {_FIELDS_ATTR: kv}


def _record_fields(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    for key, value in (getattr(record, _FIELDS_ATTR, None) or {}).items():
        if value is not None:
            out[key] = value
    if record.exc_info:
        out["exc"] = logging.Formatter().formatException(record.exc_info)
    return out


def _kv_value(value: Any) -> str:
    text = str(value)
    if text and not any(c in text for c in ' "=\n\t\\'):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


class KeyValueFormatter(logging.Formatter):
    """``ts=… level=info logger=confcall.calls msg="…" event=leg.answered call=L17``."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={_kv_value(v)}" for k, v in _record_fields(record).items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line, same keys as the key=value form."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_record_fields(record), ensure_ascii=False, default=str)


def configure_logging(level: str = "info", fmt: str = "keyvalue",
                      stream: TextIO | None = None) -> logging.Handler:
    """Send the ``confcall`` loggers (and Twisted's, through the stdlib bridge) to ``stream``
    (stderr by default), replacing a handler this function installed before. Returns it."""
    if level not in LEVELS:
        raise ValueError(f"log level {level!r}; allowed: {', '.join(LEVELS)}")
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r}; allowed: {', '.join(FORMATS)}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    handler.set_name("confcall")
    root = logging.getLogger("confcall")
    for old in [h for h in root.handlers if h.get_name() == "confcall"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False
    return handler


def route_twisted() -> None:
    """Twisted's own log events (unhandled errors in Deferreds, listening ports) into the
    stdlib ``confcall.twisted`` logger, so they come out in the same format."""
    from twisted.logger import STDLibLogObserver, globalLogBeginner
    observer: Any = STDLibLogObserver(name="confcall.twisted")  # provides ILogObserver
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)
