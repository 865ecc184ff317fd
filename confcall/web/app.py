"""The site: Klein routes over a ``twisted.web`` ``Site``, Jinja2 pages, the JSON API.

Why Klein and not ``app.run()``: Klein gives werkzeug routing on Twisted's own server, so the
site runs on the daemon's reactor beside the trunks; ``app.run()`` would show tracebacks to
clients, so the site is served by ``Site(app.resource())`` with ``displayTracebacks`` off and
an error handler of its own that logs the failure and shows a one-line apology.  Klein's own
sessions, forms and CSRF (whose token is the session id) are not used: ``sessions.py`` is ours.

Threads: a handler parses on the reactor thread and hands every database unit of work (and
with it every argon2 check) to the DB thread pool through the runner (``DbRunner`` in
production, ``InlineRunner`` in virtual-time tests); rendering a page from a loaded template
is the only other work done on the reactor.
"""
from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from klein import Klein
from twisted.web.server import Request, Site

from confcall.booking import BookingLimits

from . import i18n, sessions
from .forms import FieldError
from .http import ApiError, Redirect, SecureRoot, WebError, client_of, form_of, safe_next
from .sessions import Principal

__all__ = ["WebConfig", "WebSite"]

log = logging.getLogger("confcall.web")
SESSION_COOKIE = b"confcall_session"
LANG_COOKIE = b"confcall_lang"


@dataclass(frozen=True)
class WebConfig:
    """The ``[web]`` section: where the site listens and how bookings default."""
    enabled: bool = False
    bind: str = "127.0.0.1"
    port: int = 8080
    tls_cert: str = ""
    tls_key: str = ""
    timezone: str = "Asia/Shanghai"
    retry_count: int = 2  # the booking form's defaults ([booking] section)
    retry_interval_s: int = 60
    limits: BookingLimits = field(default_factory=BookingLimits)

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert and self.tls_key)

    @classmethod
    def from_config(cls, cfg: Any, box_channels: int = 30) -> WebConfig:
        """From the box's ``Config``: ``[web]``, and ``[booking]``/``[conference]`` for the
        booking form's defaults and bounds (the service's own limits, one source)."""
        from confcall.booking import limits_from_config
        return cls(enabled=cfg.web_enabled, bind=cfg.web_bind, port=cfg.web_port,
                   tls_cert=cfg.web_tls_cert, tls_key=cfg.web_tls_key,
                   timezone=cfg.web_timezone, retry_count=cfg.booking_retries_default,
                   retry_interval_s=cfg.booking_retry_interval_default_s,
                   limits=limits_from_config(cfg, box_channels))


Handler = Callable[..., Awaitable[Any]]


class WebSite:
    """Everything a request needs: the store runner, the clock, the box (for live views)."""

    def __init__(self, runner: Any, *, config: WebConfig | None = None,
                 now: Callable[[], datetime] | None = None, daemon: Any = None,
                 booking_defaults: dict[str, Any] | None = None) -> None:
        self.runner = runner
        self.config = config or WebConfig()
        self.now = now or (lambda: datetime.now(UTC))
        self.daemon = daemon
        from .groupcommit import GroupCommit
        from .metrics import observe_commit
        # bursts of bookings share one commit; its time and size go to /metrics
        self.bookings = GroupCommit(runner, observe=observe_commit)
        self.app = Klein()
        self.env = Environment(loader=PackageLoader("confcall.web", "templates"),
                               autoescape=select_autoescape(["html"]),
                               trim_blocks=True, lstrip_blocks=True)
        self.env.globals.update(t=i18n.t, fen=fen_text, class_keys=set(i18n.TEXT),
                                state_keys=set(i18n.TEXT), local_time=_local_time,
                                refusal=lambda lang, key: i18n.refusal_text(lang, key))
        self._templates = {name: self.env.get_template(name)
                           for name in self.env.list_templates(extensions=["html"])}
        self._install_errors()
        from . import api, operator, subscriber
        subscriber.install(self)
        operator.install(self)
        api.install(self)

    # -- serving --------------------------------------------------------------------------------
    def resource(self) -> Any:
        return SecureRoot(self.app.resource())

    def site(self) -> Site:
        site = Site(self.resource())
        site.requestFactory = JsonAwareRequest
        site.displayTracebacks = False
        site.noisy = False
        return site

    def listen(self, reactor: Any, port: int | None = None) -> Any:
        """Listen on the configured address (TLS when a cert and key are configured)."""
        cfg = self.config
        port = cfg.port if port is None else port
        if cfg.tls:
            from twisted.internet import ssl
            with open(cfg.tls_key, "rb") as k, open(cfg.tls_cert, "rb") as c:
                cert = ssl.PrivateCertificate.loadPEM(k.read() + c.read())
            return reactor.listenSSL(port, self.site(), cert.options(), interface=cfg.bind)
        return reactor.listenTCP(port, self.site(), interface=cfg.bind)

    # -- routing --------------------------------------------------------------------------------
    def route(self, path: str, methods: tuple[str, ...] = ("GET",)) -> Callable[[Handler], Any]:
        """Register ``handler(request, **url_args)``; records the route pattern for metrics."""
        def register(handler: Handler) -> Any:
            @functools.wraps(handler)
            async def wrapped(request: Any, **kwargs: Any) -> Any:
                request.route_pattern = path
                return await handler(request, **kwargs)
            return self.app.route(path, methods=list(methods), strict_slashes=False,
                                  endpoint=f"{path}:{','.join(methods)}")(wrapped)
        return register

    # -- who is asking ------------------------------------------------------------------------
    def lang(self, request: Any) -> str:
        cached = getattr(request, "_lang", None)
        if cached:
            return str(cached)
        q = request.args.get(b"lang")
        value = (q[0] if q else request.getCookie(LANG_COOKIE) or b"").decode("ascii",
                                                                               "replace")
        request._lang = i18n.pick_lang(value)
        return str(request._lang)

    def source(self, request: Any) -> str:
        return f"ip:{client_of(request)}"

    async def principal(self, request: Any) -> Principal | None:
        token = (request.getCookie(SESSION_COOKIE) or b"").decode("ascii", "replace")
        if not token:
            return None
        found = await self.runner.call(sessions.lookup, token, self.now())
        if found is None:
            return None
        kind, name, csrf = found
        role = ""
        if kind == "operator":
            from .operators import role_of
            role = await self.runner.call(role_of, name)
            if role is None:
                return None
        return Principal(kind, name, csrf, role)

    async def need(self, request: Any, kind: str, *, api: bool = False,
                   write: bool = False) -> Principal:
        """The logged-in principal of ``kind``, or a redirect to the login page (pages) / a 401
        (API).  ``write``: the request changes something, so its CSRF token must match, and an
        operator must be an admin."""
        who = await self.principal(request)
        if who is None or who.kind != kind:
            if api:
                raise WebError(401, "error.login_needed")
            login = "/login" if kind == "subscriber" else "/ops/login"
            raise Redirect(f"{login}?next={request.uri.decode('utf-8', 'replace')}"
                           if request.method == b"GET" else login)
        if write:
            self.check_csrf(request, who, api=api)
            if who.is_operator and who.role != "admin":
                raise WebError(403, "error.forbidden")
        return who

    def check_csrf(self, request: Any, who: Principal, *, api: bool = False) -> None:
        presented = (request.getHeader("x-csrf-token") if api else
                     form_of(request).get("csrf"))
        if not sessions.csrf_ok(who.csrf, presented):
            raise WebError(403, "error.csrf")

    def login_cookie(self, request: Any, token: str) -> None:
        request.addCookie(SESSION_COOKIE, token.encode(), path=b"/", httpOnly=True,
                          secure=self._secure(request), sameSite=b"lax")

    def logout_cookie(self, request: Any) -> None:
        request.addCookie(SESSION_COOKIE, b"", path=b"/", httpOnly=True, max_age=b"0",
                          secure=self._secure(request), sameSite=b"lax")

    def lang_cookie(self, request: Any, lang: str) -> None:
        request.addCookie(LANG_COOKIE, lang.encode(), path=b"/", httpOnly=True,
                          max_age=b"31536000", secure=self._secure(request),
                          sameSite=b"lax")
        request._lang = lang

    def _secure(self, request: Any) -> bool:
        return bool(self.config.tls or request.isSecure())

    # -- output ---------------------------------------------------------------------------------
    def render(self, request: Any, name: str, status: int = 200, **ctx: Any) -> bytes:
        lang = self.lang(request)
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        path = request.path.decode("utf-8", "replace")
        ctx.setdefault("who", None)
        ctx.setdefault("messages", [])
        ctx.setdefault("errors", [])
        html = self._templates[name].render(lang=lang, path=path,
                                            other_lang="en" if lang == "zh" else "zh", **ctx)
        return html.encode("utf-8")

    def json(self, request: Any, body: Any, status: int = 200) -> bytes:
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"application/json")
        return json.dumps(body, ensure_ascii=False, default=_json_default).encode("utf-8")

    def api_field_errors(self, request: Any, errors: list[FieldError]) -> ApiError:
        lang = self.lang(request)
        first = errors[0]
        return ApiError(400, {"error": {**first.as_json(lang),
                                        "fields": [e.as_json(lang) for e in errors]}})

    def api_refusal(self, request: Any, exc: Exception) -> ApiError:
        """A service refusal (``MoneyError``/``BookingError``) as a JSON error."""
        key, _params, field, _detail = refusal_parts(exc)
        lang = self.lang(request)
        return ApiError(status_of(key), {"error": {
            "code": key, "field": field, "message": i18n.refusal_of(lang, exc)}})

    # -- errors ---------------------------------------------------------------------------------
    def _install_errors(self) -> None:
        from werkzeug.exceptions import MethodNotAllowed, NotFound

        app = self.app

        @app.handle_errors(Redirect)
        def redirect(request: Any, failure: Any) -> bytes:
            request.setResponseCode(303)
            request.setHeader(b"location", safe_next(failure.value.location).encode())
            return b""

        @app.handle_errors(ApiError)
        def api_error(request: Any, failure: Any) -> bytes:
            return self.json(request, failure.value.body, failure.value.status)

        @app.handle_errors(WebError)
        def web_error(request: Any, failure: Any) -> bytes:
            e = failure.value
            return self._error(request, e.status, e.key, **e.params)

        @app.handle_errors(NotFound)
        def not_found(request: Any, failure: Any) -> bytes:
            return self._error(request, 404, "error.not_found")

        @app.handle_errors(MethodNotAllowed)
        def not_allowed(request: Any, failure: Any) -> bytes:
            return self._error(request, 405, "error.method")

        @app.handle_errors(Exception)
        def internal(request: Any, failure: Any) -> bytes:
            log.error("web: %s %s failed: %s", request.method.decode("ascii", "replace"),
                      request.uri[:200].decode("utf-8", "replace"),
                      failure.getTraceback())
            return self._error(request, 500, "error.internal")

    def _error(self, request: Any, status: int, key: str, **params: Any) -> bytes:
        lang = self.lang(request)
        text = i18n.t(lang, key, **params)
        if request.path.startswith(b"/api/"):
            return self.json(request, {"error": {"code": key, "field": "", "message": text}},
                             status)
        return self.render(request, "error.html", status, message=text)


class JsonAwareRequest(Request):
    """Twisted's request, minus the form parsing of a JSON body.  Twisted hands the
    Content-Type of every POST to the standard library's e-mail header parser before it looks
    whether the body is a form: on the API's booking path that was a tenth of the reactor's
    work per request (``bench/web.py --spy``).  A JSON body is never a form, so its requests
    skip it (``_parsePOSTFormSubmission`` is Twisted's own switch for this); forms are parsed
    as before."""

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        ctype = self.requestHeaders.getRawHeaders(b"content-type")
        if ctype and ctype[0].split(b";", 1)[0].strip().lower() == b"application/json":
            self._parsePOSTFormSubmission = False
        super().requestReceived(command, path, version)


def _local_time(dt: datetime | None, tz: str) -> str:
    from zoneinfo import ZoneInfo
    return dt.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") if dt else ""


def fen_text(fen: int, lang: str = "zh") -> str:
    sign = "-" if fen < 0 else ""
    yuan = f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"
    return i18n.t(lang, "money.yuan", yuan=yuan)


def refusal_parts(exc: Exception) -> tuple[str, dict[str, Any], str, str]:
    """(key, params, field, detail) of a MoneyError or a BookingError."""
    key = str(getattr(exc, "key", "error"))
    params = dict(getattr(exc, "params", {}) or {})
    field = str(getattr(exc, "field", "") or "")
    detail = str(getattr(exc, "detail", "") or "")
    return key, params, field, detail


_STATUS = {"booking.already_started": 409, "booking.already_ended": 409, "card.state": 409,
           "account.exists": 409,
           "operator.exists": 409, "operator.unknown": 403, "pin.wrong": 403, "card.wrong_pin": 403,
           "booking.capacity": 409, "booking.no_credit": 409, "funds.insufficient": 409}


def status_of(key: str) -> int:
    if key in _STATUS:
        return _STATUS[key]
    if key.endswith((".unknown", ".not_found")):
        return 404
    if "locked" in key or "throttle" in key or "limit" in key:
        return 429
    return 422


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if hasattr(value, "value"):  # enums
        return value.value
    raise TypeError(type(value).__name__)
