"""The subscriber's pages: log in, account, book, my bookings, recharge, password, history.

Plain HTML forms (no JavaScript needed), every POST carrying the session's CSRF token.  A
handler parses with the action's form, calls ``actions``, and renders the page again with the
result or the reasons it was refused, in the page's language.
"""
from __future__ import annotations

import hmac
import secrets
from typing import Any

from confcall.booking import BookingError
from confcall.rating.errors import MoneyError

from . import actions, sessions
from .app import SESSION_COOKIE, WebSite
from .forms import FieldError
from .http import Redirect, WebError, arg, form_of, safe_next
from .i18n import Refusal, refusal_of, t

__all__ = ["install"]

PRELOGIN_COOKIE = b"confcall_prelogin"
REFUSALS = (MoneyError, Refusal)


def _refusals() -> tuple[type[Exception], ...]:
    return (*REFUSALS, BookingError)


def install(site: WebSite) -> None:
    route = site.route

    def page(request: Any, name: str, who: Any, status: int = 200, **ctx: Any) -> bytes:
        return site.render(request, name, status, who=who, **ctx)

    def errors_text(request: Any, errors: list[FieldError]) -> list[str]:
        return [e.text(site.lang(request)) for e in errors]

    def refusal(request: Any, exc: Exception) -> str:
        return refusal_of(site.lang(request), exc)

    # -- language and login -----------------------------------------------------------------
    @route("/lang/<code>")
    async def set_lang(request: Any, code: str) -> bytes:
        site.lang_cookie(request, code if code in ("zh", "en") else "zh")
        raise Redirect(safe_next(arg(request, "next")))

    @route("/login")
    async def login_form(request: Any) -> bytes:
        nonce = secrets.token_urlsafe(24)
        request.addCookie(PRELOGIN_COOKIE, nonce.encode(), path=b"/", httpOnly=True,
                          secure=site._secure(request), sameSite=b"lax")
        return page(request, "login.html", None, nonce=nonce,
                    next=safe_next(arg(request, "next")), values={})

    @route("/login", ("POST",))
    async def login_post(request: Any) -> bytes:
        form = form_of(request)
        cookie = (request.getCookie(PRELOGIN_COOKIE) or b"").decode("ascii", "replace")
        if not cookie or not hmac.compare_digest(cookie.encode(),
                                                 form.get("nonce", "").encode()):
            raise WebError(403, "error.csrf")
        nxt = safe_next(form.get("next"))
        values, errors = actions.LOGIN.parse(form)
        again = {"number": form.get("number", "")[:24]}
        if errors:
            return page(request, "login.html", None, 400, nonce=cookie, next=nxt,
                        values=again, errors=errors_text(request, errors))
        old = (request.getCookie(SESSION_COOKIE) or b"").decode("ascii", "replace") or None
        try:
            _num, token, _csrf = await actions.login(site, values["number"],
                                                     values["password"], site.source(request),
                                                     old)
        except _refusals() as e:
            key = getattr(e, "key", "")
            # the same answer for an unknown number and a wrong password (no oracle)
            msg = refusal(request, e) if "locked" in key or "throttle" in key else \
                t(site.lang(request), "login.failed")
            return page(request, "login.html", None, 403, nonce=cookie, next=nxt,
                        values=again, errors=[msg])
        site.login_cookie(request, token)
        raise Redirect(nxt if nxt != "/login" else "/")

    @route("/logout", ("POST",))
    async def logout(request: Any) -> bytes:
        who = await site.principal(request)
        if who is not None:
            site.check_csrf(request, who)
            token = (request.getCookie(SESSION_COOKIE) or b"").decode("ascii", "replace")
            await site.runner.call(sessions.end, token)
        site.logout_cookie(request)
        raise Redirect("/ops/login" if who is not None and who.is_operator else "/login")

    # -- account ----------------------------------------------------------------------------
    @route("/")
    async def home(request: Any) -> bytes:
        who = await site.need(request, "subscriber")
        acc = await actions.account_view(site, who.name)
        return page(request, "home.html", who, account=acc)

    @route("/recharge")
    async def recharge_form(request: Any) -> bytes:
        who = await site.need(request, "subscriber")
        return page(request, "recharge.html", who, values={})

    @route("/recharge", ("POST",))
    async def recharge_post(request: Any) -> bytes:
        who = await site.need(request, "subscriber", write=True)
        form = form_of(request)
        values, errors = actions.RECHARGE.parse(form)
        again = {"number": form.get("number", "")[:24], "serial": form.get("serial", "")[:24]}
        if errors:
            return page(request, "recharge.html", who, 400, values=again,
                        errors=errors_text(request, errors))
        try:
            done = await actions.recharge(site, who.name, values.get("number"),
                                          values["serial"], values["pin"], site.source(request))
        except REFUSALS as e:
            return page(request, "recharge.html", who, 422, values=again,
                        errors=[refusal(request, e)])
        lang = site.lang(request)
        from .app import fen_text
        msg = t(lang, "recharge.done", number=done["number"],
                balance=fen_text(done["balance_fen"], lang))
        return page(request, "recharge.html", who, values={}, messages=[msg])

    @route("/password")
    async def password_form(request: Any) -> bytes:
        who = await site.need(request, "subscriber")
        return page(request, "password.html", who)

    @route("/password", ("POST",))
    async def password_post(request: Any) -> bytes:
        who = await site.need(request, "subscriber", write=True)
        values, errors = actions.PASSWORD.parse(form_of(request))
        if errors:
            return page(request, "password.html", who, 400, errors=errors_text(request, errors))
        try:
            token, csrf = await actions.change_password(site, who.name, values["old"],
                                                        values["new"], values["confirm"],
                                                        site.source(request))
        except REFUSALS as e:
            return page(request, "password.html", who, 422, errors=[refusal(request, e)])
        site.login_cookie(request, token)
        from .sessions import Principal
        fresh = Principal(who.kind, who.name, csrf)
        return page(request, "password.html", fresh,
                    messages=[t(site.lang(request), "password.done")])

    # -- history ------------------------------------------------------------------------------
    async def _history(request: Any) -> tuple[Any, dict[str, Any], list[str], Any]:
        who = await site.need(request, "subscriber")
        raw = {"from": arg(request, "from"), "to": arg(request, "to")}
        values, errors = actions.HISTORY.parse(raw)
        tz = site.config.timezone
        if errors:
            return who, raw, errors_text(request, errors), None
        try:
            start, end = actions.period(values, tz, site.now())
        except Refusal as e:
            return who, raw, [refusal(request, e)], None
        return who, raw, [], (start, end)

    @route("/history")
    async def history(request: Any) -> bytes:
        who, raw, errors, span = await _history(request)
        data = None
        if span is not None:
            data = await actions.history(site, who.name, *span)
        return page(request, "history.html", who, 400 if errors else 200, values=raw,
                    errors=errors, data=data, tz=site.config.timezone)

    @route("/history.csv")
    async def history_csv(request: Any) -> bytes:
        who, _raw, _errors, span = await _history(request)
        if span is None:
            raise WebError(400, "field.date", field=t(site.lang(request), "history.from"))
        text = await actions.history_csv(site, who.name, *span, site.config.timezone)
        request.setHeader(b"content-type", b"text/csv; charset=utf-8")
        request.setHeader(b"content-disposition",
                          b'attachment; filename="confcall-statement.csv"')
        return b"\xef\xbb\xbf" + text.encode("utf-8")  # BOM: spreadsheets read it as UTF-8

    # -- bookings -----------------------------------------------------------------------------
    from . import subscriber_bookings
    subscriber_bookings.install(site, page, errors_text, refusal, _refusals)
