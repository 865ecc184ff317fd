"""The operator console's pages (``/ops``): live view, accounts, cards, rates, CDRs, audit log;
plus the site-wide static files and ``/metrics``.

Viewers see everything; only admins act (each action audited, see ``operators.audited``).  The
live page refreshes itself every few seconds — by a small script when JavaScript runs (it
polls ``/api/v1/ops/live``), by a ``<meta refresh>`` when it does not.
"""
from __future__ import annotations

from importlib.resources import files
from typing import Any

from confcall.rating.errors import MoneyError

from . import metrics, ops_actions, sessions
from . import operators as operator_accounts
from .app import SESSION_COOKIE, WebSite, fen_text
from .http import Redirect, WebError, arg, form_of, safe_next
from .i18n import Refusal, refusal_text, t

__all__ = ["install"]

STATIC = {name: (files("confcall.web") / "static" / name).read_bytes()
          for name in ("site.css", "live.js")}
TYPES = {"css": b"text/css; charset=utf-8", "js": b"text/javascript; charset=utf-8"}


def install(site: WebSite) -> None:
    route = site.route

    def page(request: Any, name: str, who: Any, status: int = 200, **ctx: Any) -> bytes:
        return site.render(request, name, status, who=who, **ctx)

    def text_of(request: Any, e: Exception) -> str:
        return refusal_text(site.lang(request), getattr(e, "key", "error"),
                            getattr(e, "params", {}))

    @route("/static/<name>")
    async def static(request: Any, name: str) -> bytes:
        body = STATIC.get(name)
        if body is None:
            raise WebError(404, "error.not_found")
        request.setHeader(b"content-type", TYPES[name.rsplit(".", 1)[1]])
        request.setHeader(b"cache-control", b"public, max-age=3600")
        return body

    @route("/metrics")
    async def prometheus(request: Any) -> bytes:
        request.setHeader(b"content-type", metrics.CONTENT_TYPE_LATEST.encode())
        return metrics.exposition()

    # -- login --------------------------------------------------------------------------------
    @route("/ops/login")
    async def login_form(request: Any) -> bytes:
        import secrets
        nonce = secrets.token_urlsafe(24)
        request.addCookie(b"confcall_prelogin", nonce.encode(), path=b"/", httpOnly=True,
                          secure=site._secure(request), sameSite=b"lax")
        return page(request, "ops_login.html", None, nonce=nonce,
                    next=safe_next(arg(request, "next"), "/ops"))

    @route("/ops/login", ("POST",))
    async def login_post(request: Any) -> bytes:
        import hmac
        form = form_of(request)
        cookie = (request.getCookie(b"confcall_prelogin") or b"").decode("ascii", "replace")
        if not cookie or not hmac.compare_digest(cookie.encode(),
                                                 form.get("nonce", "").encode()):
            raise WebError(403, "error.csrf")
        nxt = safe_next(form.get("next"), "/ops")
        values, errors = ops_actions.OP_LOGIN.parse(form)
        if errors:
            return page(request, "ops_login.html", None, 400, nonce=cookie, next=nxt,
                        errors=[e.text(site.lang(request)) for e in errors])
        try:
            await site.runner.call_plain(operator_accounts.authenticate, values["name"],
                                         values["password"], site.now())
        except Refusal as e:
            return page(request, "ops_login.html", None, 403, nonce=cookie, next=nxt,
                        errors=[text_of(request, e)])
        old = (request.getCookie(SESSION_COOKIE) or b"").decode("ascii", "replace") or None
        token, _csrf = await site.runner.call(sessions.start, "operator", values["name"],
                                              site.now(), old)
        site.login_cookie(request, token)
        raise Redirect(nxt if nxt.startswith("/ops") and nxt != "/ops/login" else "/ops")

    # -- live ---------------------------------------------------------------------------------
    @route("/ops")
    async def live(request: Any) -> bytes:
        who = await site.need(request, "operator")
        return page(request, "ops_live.html", who, live=ops_actions.live(site.daemon))

    # -- accounts -------------------------------------------------------------------------------
    async def accounts_page(request: Any, who: Any, status: int = 200, **ctx: Any) -> bytes:
        q = arg(request, "q")
        rows = await site.runner.call(ops_actions.list_accounts, (q or "")[:24] or None)
        return page(request, "ops_accounts.html", who, status, rows=rows, q=q or "", **ctx)

    @route("/ops/accounts")
    async def accounts(request: Any) -> bytes:
        who = await site.need(request, "operator")
        return await accounts_page(request, who)

    @route("/ops/accounts", ("POST",))
    async def account_action(request: Any) -> bytes:
        who = await site.need(request, "operator", write=True)
        form = form_of(request)
        action = form.get("action", "")
        lang = site.lang(request)
        try:
            if action == "create":
                values, errors = ops_actions.ACCOUNT_NEW.parse(form)
                if errors:
                    return await accounts_page(request, who, 400,
                                               errors=[e.text(lang) for e in errors])
                number = await ops_actions.create_account(site, who, request, values)
                msg = f"{t(lang, 'op.done')}: {number}"
            elif action in ("lock", "unlock"):
                number = form.get("number", "")[:24]
                await ops_actions.set_lock(site, who, request, number, action == "lock")
                msg = f"{t(lang, 'op.done')}: {number} {t(lang, 'op.accounts.' + action)}"
            elif action == "adjust":
                values, errors = ops_actions.ADJUST.parse(form)
                if errors:
                    return await accounts_page(request, who, 400,
                                               errors=[e.text(lang) for e in errors])
                done = await ops_actions.adjust(site, who, request, form.get("number", "")[:24],
                                                values)
                msg = (f"{t(lang, 'op.done')}: {done['number']} → "
                       f"{fen_text(done['balance_fen'], lang)}")
            else:
                raise WebError(400, "field.choice", field="action")
        except (MoneyError, Refusal) as e:
            return await accounts_page(request, who, 422, errors=[text_of(request, e)])
        return await accounts_page(request, who, messages=[msg])

    # -- cards ------------------------------------------------------------------------------------
    async def cards_page(request: Any, who: Any, status: int = 200, **ctx: Any) -> bytes:
        rows = await site.runner.call(ops_actions.list_batches)
        return page(request, "ops_cards.html", who, status, rows=rows, **ctx)

    @route("/ops/cards")
    async def cards(request: Any) -> bytes:
        who = await site.need(request, "operator")
        return await cards_page(request, who)

    @route("/ops/cards", ("POST",))
    async def cards_action(request: Any) -> bytes:
        who = await site.need(request, "operator", write=True)
        form = form_of(request)
        action = form.get("action", "")
        lang = site.lang(request)
        try:
            if action == "generate":
                values, errors = ops_actions.BATCH_NEW.parse(form)
                if errors:
                    return await cards_page(request, who, 400,
                                            errors=[e.text(lang) for e in errors])
                batch_id, printed = await ops_actions.generate(site, who, request, values)
                # the print file: the only time the PINs exist in clear; sent once, not stored
                request.setHeader(b"content-type", b"text/csv; charset=utf-8")
                request.setHeader(b"content-disposition",
                                  f'attachment; filename="cards-{batch_id}.csv"'.encode())
                return ops_actions.print_csv(batch_id, printed).encode()
            if action in ("activate", "void"):
                raw = form.get("batch", "")
                if not raw.isdigit() or len(raw) > 12:
                    raise WebError(400, "field.integer", field="batch")
                n = await ops_actions.batch_action(site, who, request, int(raw), action)
                return await cards_page(request, who,
                                        messages=[f"{t(lang, 'op.done')}: {n}"])
            raise WebError(400, "field.choice", field="action")
        except (MoneyError, Refusal) as e:
            return await cards_page(request, who, 422, errors=[text_of(request, e)])

    @route("/ops/cards/<batch_id>/export.csv")
    async def cards_export(request: Any, batch_id: str) -> bytes:
        await site.need(request, "operator")
        if not batch_id.isdigit() or len(batch_id) > 12:
            raise WebError(404, "error.not_found")
        text = await site.runner.call(ops_actions.export_batch, int(batch_id))
        if text is None:
            raise WebError(404, "error.not_found")
        request.setHeader(b"content-type", b"text/csv; charset=utf-8")
        return text.encode()

    # -- rates ----------------------------------------------------------------------------------
    async def rates_page(request: Any, who: Any, status: int = 200, **ctx: Any) -> bytes:
        plans = await site.runner.call(ops_actions.list_plans)
        return page(request, "ops_rates.html", who, status, plans=plans, **ctx)

    @route("/ops/rates")
    async def rates(request: Any) -> bytes:
        who = await site.need(request, "operator")
        return await rates_page(request, who)

    @route("/ops/rates", ("POST",))
    async def rates_action(request: Any) -> bytes:
        form = form_of(request)
        action = form.get("action", "")
        lang = site.lang(request)
        who = await site.need(request, "operator", write=action == "import")
        if action == "quote":
            site.check_csrf(request, who)
        try:
            if action == "import":
                plan = form.get("plan", "").strip()[:60]
                values, errors = ops_actions.RATES.parse(form)
                if errors or not plan:
                    return await rates_page(request, who, 400,
                                            errors=[e.text(lang) for e in errors] or
                                            [t(lang, "field.required",
                                               field=t(lang, "op.rates.plan"))])
                n = await ops_actions.import_rates(site, who, request, plan, values["csv"])
                return await rates_page(request, who, messages=[f"{t(lang, 'op.done')}: {n}"])
            if action == "quote":
                values, errors = ops_actions.QUOTE.parse(form)
                if errors:
                    return await rates_page(request, who, 400,
                                            errors=[e.text(lang) for e in errors])
                q = await ops_actions.quote(site, values)
                return await rates_page(request, who, quote=q)
            raise WebError(400, "field.choice", field="action")
        except (MoneyError, Refusal) as e:
            return await rates_page(request, who, 422, errors=[text_of(request, e)])

    @route("/ops/rates/<plan>.csv")
    async def rates_export(request: Any, plan: str) -> bytes:
        await site.need(request, "operator")
        from confcall.rating import ops
        try:
            text = await site.runner.call_plain(ops.export_rates, plan[:60])
        except MoneyError:
            raise WebError(404, "error.not_found") from None
        request.setHeader(b"content-type", b"text/csv; charset=utf-8")
        return text.encode()

    # -- bookings ---------------------------------------------------------------------------------
    from confcall.booking import BookingError

    from . import booking_port

    from confcall.booking.listing import PAGE_DEFAULT, Cursor

    from .actions import LIST

    async def bookings_page(request: Any, who: Any, status: int = 200,
                            limit: int = PAGE_DEFAULT, cursor: str | None = None,
                            **ctx: Any) -> bytes:
        """A page of every booking (newest start first) and a link to the next one."""
        at = Cursor.parse(cursor) if cursor else None
        rows, nxt = await site.runner.call(booking_port.page_any, limit, at)
        more = None if nxt is None else f"/ops/bookings?limit={limit}&cursor={nxt}"
        return page(request, "ops_bookings.html", who, status, rows=rows, more=more,
                    tz=site.config.timezone, **ctx)

    @route("/ops/bookings")
    async def bookings(request: Any) -> bytes:
        who = await site.need(request, "operator")
        values, errors = LIST.parse({f.name: arg(request, f.name) for f in LIST.fields})
        if errors:
            return page(request, "ops_bookings.html", who, 400, rows=[], more=None,
                        tz=site.config.timezone,
                        errors=[e.text(site.lang(request)) for e in errors])
        return await bookings_page(request, who, limit=values["limit"],
                                   cursor=values.get("cursor"))

    @route("/ops/bookings/<booking_id>/cancel", ("POST",))
    async def booking_cancel(request: Any, booking_id: str) -> bytes:
        who = await site.need(request, "operator", write=True)
        if not booking_id.isdigit() or len(booking_id) > 12:
            raise WebError(404, "error.not_found")
        try:
            await operator_accounts.audited(
                site, who, request, "booking.cancel", booking_id, "",
                lambda: site.runner.call(booking_port.cancel_any, int(booking_id), site.now(),
                                         f"web:{who.name}"))
        except BookingError as e:
            return await bookings_page(request, who, 409,
                                       errors=[e.text(site.lang(request))])
        return await bookings_page(request, who,
                                   messages=[t(site.lang(request), "bookings.cancelled")])

    # -- CDRs and audit ---------------------------------------------------------------------------
    @route("/ops/cdrs")
    async def cdrs(request: Any) -> bytes:
        who = await site.need(request, "operator")
        raw = {f.name: arg(request, f.name) for f in ops_actions.CDR_QUERY.fields}
        values, errors = ops_actions.CDR_QUERY.parse(raw)
        rows = [] if errors else await site.runner.call(ops_actions.cdrs, values)
        return page(request, "ops_cdrs.html", who, 400 if errors else 200, rows=rows,
                    values={k: v or "" for k, v in raw.items()},
                    errors=[e.text(site.lang(request)) for e in errors])

    @route("/ops/audit")
    async def audit(request: Any) -> bytes:
        who = await site.need(request, "operator")
        rows = await site.runner.call(operator_accounts.list_audit)
        return page(request, "ops_audit.html", who, rows=rows)
