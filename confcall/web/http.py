"""HTTP plumbing shared by every page and API call: the request class that adds the security
headers and counts requests, cookies, form and JSON bodies, redirects and errors.

Security headers go on *every* response (pages, API, errors, 404s), which is why they are set
in the request class and not in each handler: ``Content-Security-Policy`` (own origin only, no
inline script, ``frame-ancestors 'none'``), ``X-Content-Type-Options: nosniff``,
``Referrer-Policy``, and ``Strict-Transport-Security`` when served over TLS.
"""
from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

from twisted.web import resource

from . import metrics

__all__ = [
    "MAX_BODY",
    "ApiError",
    "Redirect",
    "SecureRoot",
    "WebError",
    "arg",
    "client_of",
    "form_of",
    "json_of",
    "safe_next",
]

MAX_BODY = 256 * 1024  # a JSON body
MAX_REQUEST = 1024 * 1024  # any body (a rate file pasted in a form is the largest)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
       "frame-ancestors 'none'")


class WebError(Exception):
    """A refusal of the request itself (not logged in, CSRF, not found, bad body…).  ``key`` is
    an i18n key; the error handler renders it as a page or a JSON error."""

    def __init__(self, status: int, key: str, field: str = "", **params: Any) -> None:
        super().__init__(key)
        self.status, self.key, self.field, self.params = status, key, field, params


class ApiError(WebError):
    """A JSON error with a ready message (service refusals and field errors)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status, str(body.get("error", {}).get("code", "error")))
        self.body = body


class Redirect(Exception):
    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class SecureRoot(resource.Resource):
    """The site's root: adds the security headers and the request metrics to every response,
    then lets the Klein resource route the request."""

    isLeaf = True

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner

    def render(self, request: Any) -> Any:
        t0 = time.perf_counter()
        request.setHeader(b"content-security-policy", CSP.encode())
        request.setHeader(b"x-content-type-options", b"nosniff")
        request.setHeader(b"x-frame-options", b"DENY")
        request.setHeader(b"referrer-policy", b"same-origin")
        request.setHeader(b"cache-control", b"no-store")
        if request.isSecure():
            request.setHeader(b"strict-transport-security", b"max-age=31536000")
        request.notifyFinish().addBoth(lambda _: metrics.observe(request,
                                                                 time.perf_counter() - t0))
        if _body_size(request) > MAX_REQUEST:
            request.setResponseCode(413)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return "请求体过大 / request body too large\n".encode()
        return self.inner.render(request)


def _body_size(request: Any) -> int:
    content = getattr(request, "content", None)
    if content is None:
        return 0
    here = content.tell()
    content.seek(0, 2)
    size = content.tell()
    content.seek(here)
    return int(size)


def client_of(request: Any) -> str:
    """The client's address as the rate limits and the audit log see it."""
    addr = request.getClientAddress()
    return str(getattr(addr, "host", "unknown"))


def arg(request: Any, name: str) -> str | None:
    """One query/form argument as text (the first if repeated), or None."""
    values = request.args.get(name.encode())
    if not values:
        return None
    return values[0].decode("utf-8", "replace")


def form_of(request: Any) -> dict[str, str]:
    """The submitted form (url-encoded or multipart), one text value per field."""
    out: dict[str, str] = {}
    for key, values in (request.args or {}).items():
        if values:
            v = values[0]
            out[key.decode("utf-8", "replace")] = (v.decode("utf-8", "replace")
                                                   if isinstance(v, bytes) else str(v))
    return out


def json_of(request: Any) -> dict[str, Any]:
    """The request's JSON object, or a WebError saying what is wrong with it."""
    ctype = (request.getHeader("content-type") or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise WebError(415, "error.media_type")
    raw = request.content.read(MAX_BODY + 1) if request.content is not None else b""
    if len(raw) > MAX_BODY:
        raise WebError(413, "error.too_large")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise WebError(400, "error.bad_json") from None
    if not isinstance(data, dict):
        raise WebError(400, "error.bad_json")
    return data


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go back to (never another site: no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value
