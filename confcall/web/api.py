"""The JSON API under ``/api/v1``: everything the pages do, for programs.  Each operation is
declared with ``Operation`` (see ``openapi.py``), which registers its route and its entry in the
OpenAPI document served at ``/api/v1/openapi.json``.
"""
from __future__ import annotations

import functools
from typing import Any

from confcall.booking import BookingError
from confcall.rating.errors import MoneyError

from . import actions, booking_port, ops_actions, sessions
from . import operators as operator_accounts
from .app import SESSION_COOKIE, WebSite
from .forms import Form
from .http import ApiError, WebError, arg, json_of
from .i18n import Refusal
from .openapi import Operation, arr, document, obj

__all__ = ["install"]

S, INT, B, DT = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}, \
    {"type": "string", "format": "date-time"}
NDT = {"type": "string", "format": "date-time", "nullable": True}
ACCOUNT = obj(number=S, balance_fen=INT, reserved_fen=INT, available_fen=INT)
SESSION = obj(kind=S, name=S, csrf=S)
ATTEMPT = obj(["number"], time=NDT, number=S, attempt=INT, answered_at=NDT,
              result=S, cause={"type": "integer", "nullable": True})
BOOKING = obj(["id", "participants", "start", "state"], id=INT, account=S, initiator=S,
              participants=arr(S), start=DT, retry_count=INT, retry_interval_s=INT, music=B,
              state=S, attempts=arr(ATTEMPT))
QUOTE = obj(["input"], input=S, number=S, **{"class": {"type": "string", "nullable": True}},
            price_per_min_fen={"type": "integer", "nullable": True},
            refusal={"type": "string", "nullable": True})
HISTORY = obj(number=S, **{"from": DT, "to": DT}, opening_fen=INT, closing_fen=INT,
              ledger=arr(obj(time=DT, kind=S, amount_fen=INT, balance_after_fen=INT, reference=S,
                             note=S)),
              calls=arr(obj(conference=S, time=DT, destination=S, **{"class": S},
                            duration_s=INT, cost_fen=INT)))
ID = {"booking_id": {"type": "integer", "minimum": 1}}
NUMBER = {"number": {"type": "string", "pattern": r"^\+?[0-9]{3,20}$"}}
BATCH = {"batch_id": {"type": "integer", "minimum": 1}}
PLAN = {"plan": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,60}$"}}


def install(site: WebSite) -> None:
    operations: list[Operation] = []
    refusals: tuple[type[Exception], ...] = (MoneyError, Refusal, BookingError)

    def op(method: str, path: str, summary: str, who: str, *, body: Form | None = None,
           query: Form | None = None, answer: dict[str, Any] | None = None, status: int = 200,
           media: str = "application/json", tag: str = "",
           path_params: dict[str, Any] | None = None, fused: Any = None,
           headers: dict[str, Any] | None = None) -> Any:
        """Declare an operation.  ``fused(request, credentials, values, **url_args)``: an
        alternative for a well-formed request that checks the session inside its own unit of
        work (one transaction, one trip to the DB pool: the booking path); a malformed one
        takes the ordinary path, so the answers (401, 403, then 400) are the same."""
        def register(fn: Any) -> Any:
            operation = Operation(method, path, summary, who, fn, body, query, answer, status,
                                  media, tag, path_params or {}, headers or {})
            operations.append(operation)
            write = method != "GET"

            def parse(request: Any) -> tuple[dict[str, Any], list[Any]]:
                values: dict[str, Any] = {}
                errors: list[Any] = []
                if body is not None:
                    values, errors = body.parse(json_of(request), typed=True)
                if query is not None and not errors:
                    raw = {f.name: arg(request, f.name) for f in query.fields}
                    qv, errors = query.parse(raw)
                    values.update(qv)
                return values, errors

            @functools.wraps(fn)
            async def handler(request: Any, **kwargs: Any) -> bytes:
                if fused is not None:
                    try:
                        values, errors = parse(request)
                    except WebError:  # unreadable body: the ordinary path answers it
                        values, errors = {}, [None]
                    if request.content is not None:
                        request.content.seek(0)  # the ordinary path reads the body again
                    if not errors:
                        token = (request.getCookie(SESSION_COOKIE) or b"").decode("ascii",
                                                                                 "replace")
                        if not token:
                            raise WebError(401, "error.login_needed")
                        csrf = (request.getHeader("x-csrf-token") or "") if write else None
                        cred = sessions.Credentials(token, who, csrf)
                        try:
                            result = await fused(request, cred, values, **kwargs)
                        except refusals as e:
                            raise site.api_refusal(request, e) from None
                        return respond(request, result)
                who_ = None
                if who != "anyone":
                    kind = "subscriber" if who == "subscriber" else "operator"
                    who_ = await site.need(request, kind, api=True)
                    if write:
                        site.check_csrf(request, who_, api=True)
                    if who == "admin" and who_.role != "admin":
                        raise WebError(403, "error.forbidden")
                values, errors = parse(request)
                if errors:
                    raise site.api_field_errors(request, errors)
                try:
                    result = await fn(request, who_, values, **kwargs)
                except refusals as e:
                    raise site.api_refusal(request, e) from None
                return respond(request, result)

            def respond(request: Any, result: Any) -> bytes:
                if status == 204:
                    request.setResponseCode(204)
                    return b""
                if media != "application/json":
                    request.setResponseCode(status)
                    request.setHeader(b"content-type", media.encode() + b"; charset=utf-8")
                    return result if isinstance(result, bytes) else str(result).encode()
                return site.json(request, result, status)
            site.route(path, (method,))(handler)
            return fn
        return register

    def int_id(value: str) -> int:
        if not value.isdigit() or len(value) > 12 or int(value) < 1:
            raise WebError(404, "error.not_found")
        return int(value)

    # -- sessions -------------------------------------------------------------------------------
    @op("POST", "/api/v1/session", "Log in as a subscriber (number + the phone password)",
        "anyone", body=actions.LOGIN, answer=SESSION, tag="session")
    async def login(request: Any, _who: Any, v: dict[str, Any]) -> Any:
        old = (request.getCookie(SESSION_COOKIE) or b"").decode("ascii", "replace") or None
        try:
            number, token, csrf = await actions.login(site, v["number"], v["password"],
                                                      site.source(request), old)
        except refusals as e:
            key = getattr(e, "key", "")
            if "locked" in key or "throttle" in key:
                raise
            raise ApiError(403, {"error": {"code": "login.failed", "field": "",
                                           "message": _t(request, "login.failed")}}) from None
        site.login_cookie(request, token)
        return {"kind": "subscriber", "name": number, "csrf": csrf}

    def _t(request: Any, key: str) -> str:
        from .i18n import t
        return t(site.lang(request), key)

    @op("DELETE", "/api/v1/session", "Log out", "anyone", status=204, tag="session")
    async def logout(request: Any, _who: Any, _v: dict[str, Any]) -> None:
        who = await site.principal(request)
        if who is not None:
            site.check_csrf(request, who, api=True)
            token = (request.getCookie(SESSION_COOKIE) or b"").decode("ascii", "replace")
            await site.runner.call(sessions.end, token)
        site.logout_cookie(request)

    # -- subscriber -----------------------------------------------------------------------------
    @op("GET", "/api/v1/account", "Balance of the logged-in subscriber", "subscriber",
        answer=ACCOUNT, tag="subscriber")
    async def account(request: Any, who: Any, _v: dict[str, Any]) -> Any:
        return await actions.account_view(site, who.name)

    @op("POST", "/api/v1/recharge", "Recharge own number or a named one with a card",
        "subscriber", body=actions.RECHARGE, answer=obj(number=S, balance_fen=INT, own=B),
        tag="subscriber")
    async def recharge(request: Any, who: Any, v: dict[str, Any]) -> Any:
        return await actions.recharge(site, who.name, v.get("number"), v["serial"], v["pin"],
                                      site.source(request))

    @op("POST", "/api/v1/password", "Change the password (the phone service's too)",
        "subscriber", body=actions.PASSWORD, answer=SESSION, tag="subscriber")
    async def password(request: Any, who: Any, v: dict[str, Any]) -> Any:
        token, csrf = await actions.change_password(site, who.name, v["old"], v["new"],
                                                    v["confirm"], site.source(request))
        site.login_cookie(request, token)
        return {"kind": "subscriber", "name": who.name, "csrf": csrf}

    @op("GET", "/api/v1/history", "Calls and ledger statement of a period", "subscriber",
        query=actions.HISTORY, answer=HISTORY, tag="subscriber")
    async def history(request: Any, who: Any, v: dict[str, Any]) -> Any:
        start, end = actions.period(v, site.config.timezone, site.now())
        return await actions.history(site, who.name, start, end)

    @op("GET", "/api/v1/history.csv", "The same statement as CSV", "subscriber",
        query=actions.HISTORY, answer={"type": "string"}, media="text/csv", tag="subscriber")
    async def history_csv(request: Any, who: Any, v: dict[str, Any]) -> Any:
        start, end = actions.period(v, site.config.timezone, site.now())
        return (await actions.history_csv(site, who.name, start, end,
                                          site.config.timezone)).encode()

    # -- bookings -------------------------------------------------------------------------------
    def need_service() -> None:
        if not booking_port.available():
            raise WebError(503, "booking.unavailable")

    def page(request: Any, v: dict[str, Any], rows: list[Any], nxt: str | None) -> Any:
        if nxt is not None:  # RFC 8288: the next page's URL (same page size)
            request.setHeader(b"link", f'</api/v1/bookings?limit={v["limit"]}&cursor={nxt}>; '
                                       'rel="next"'.encode())
        return rows

    async def list_fused(request: Any, cred: Any, v: dict[str, Any]) -> Any:
        need_service()
        rows, nxt = await actions.bookings_page_as(site, cred, v["limit"], v.get("cursor"))
        return page(request, v, rows, nxt)

    @op("GET", "/api/v1/bookings", "My bookings with their dial attempts, a page at a time: "
        "live ones soonest first, then past ones latest first; the Link header (rel=next) "
        "gives the next page", "subscriber", query=actions.LIST, answer=arr(BOOKING),
        tag="bookings", fused=list_fused, headers={"Link": {
            "description": 'the next page, absent on the last: </api/v1/bookings?limit=20&'
                           'cursor=…>; rel="next"', "schema": {"type": "string"}}})
    async def list_bookings(request: Any, who: Any, v: dict[str, Any]) -> Any:
        need_service()
        rows, nxt = await actions.bookings_page(site, who.name, v["limit"], v.get("cursor"))
        return page(request, v, rows, nxt)

    book_form = getattr(site, "book_form", actions.BOOK)

    async def book_fused(request: Any, cred: Any, v: dict[str, Any]) -> Any:
        need_service()
        return await actions.book_as(site, cred, v, v.get("timezone") or site.config.timezone)

    @op("POST", "/api/v1/bookings", "Book a conference call", "subscriber", body=book_form,
        answer=BOOKING, status=201, tag="bookings", fused=book_fused)
    async def create_booking(request: Any, who: Any, v: dict[str, Any]) -> Any:
        need_service()
        return await actions.book(site, who.name, v, v.get("timezone") or site.config.timezone)

    @op("POST", "/api/v1/bookings/quote", "Class and price per minute of each number",
        "subscriber", body=actions.QUOTE, answer=arr(QUOTE), tag="bookings")
    async def quote(request: Any, who: Any, v: dict[str, Any]) -> Any:
        need_service()
        return await actions.quote(site, who.name, v["participants"], v.get("initiator"))

    async def _one(who: Any, booking_id: str) -> Any:
        need_service()
        try:
            return await actions.booking(site, who.name, int_id(booking_id))
        except refusals:
            raise WebError(404, "error.not_found") from None

    @op("GET", "/api/v1/bookings/<booking_id>", "One booking (only one's own)", "subscriber",
        answer=BOOKING, tag="bookings", path_params=ID)
    async def get_booking(request: Any, who: Any, _v: dict[str, Any], booking_id: str) -> Any:
        return await _one(who, booking_id)

    @op("POST", "/api/v1/bookings/<booking_id>/cancel",
        "Cancel a booking not yet dialling (one winner against the dialler)", "subscriber",
        answer=BOOKING, tag="bookings", path_params=ID)
    async def cancel(request: Any, who: Any, _v: dict[str, Any], booking_id: str) -> Any:
        b = await _one(who, booking_id)
        return await actions.cancel(site, who.name, b["id"])

    @op("GET", "/api/v1/bookings/<booking_id>/calendar.ics", "The booking as iCalendar",
        "subscriber", answer={"type": "string"}, media="text/calendar", tag="bookings",
        path_params=ID)
    async def ics(request: Any, who: Any, _v: dict[str, Any], booking_id: str) -> Any:
        from .subscriber_bookings import ics_text, share_token
        b = await _one(who, booking_id)
        return ics_text(b, site.lang(request), f"/b/{share_token(b['id'])}")

    # -- operators ------------------------------------------------------------------------------
    @op("POST", "/api/v1/ops/session", "Log in as an operator", "anyone",
        body=ops_actions.OP_LOGIN, answer=SESSION, tag="operator")
    async def op_login(request: Any, _who: Any, v: dict[str, Any]) -> Any:
        role = await site.runner.call_plain(operator_accounts.authenticate, v["name"],
                                            v["password"], site.now())
        old = (request.getCookie(SESSION_COOKIE) or b"").decode("ascii", "replace") or None
        token, csrf = await site.runner.call(sessions.start, "operator", v["name"],
                                             site.now(), old)
        site.login_cookie(request, token)
        return {"kind": "operator", "name": v["name"], "csrf": csrf, "role": role}

    @op("GET", "/api/v1/ops/live", "Spans, alarms, calls, conferences with seats", "operator",
        answer=obj(box=B, spans=arr({"type": "object"}), calls=arr({"type": "object"}),
                   conferences=arr({"type": "object"})), tag="operator")
    async def live(request: Any, who: Any, _v: dict[str, Any]) -> Any:
        return ops_actions.live(site.daemon)

    @op("GET", "/api/v1/ops/accounts", "Find accounts", "operator",
        query=ops_actions.ACCOUNT_QUERY, answer=arr({"type": "object"}), tag="operator")
    async def accounts(request: Any, who: Any, v: dict[str, Any]) -> Any:
        return await site.runner.call(ops_actions.list_accounts, v.get("q"))

    @op("POST", "/api/v1/ops/accounts", "Open an account", "admin",
        body=ops_actions.ACCOUNT_NEW, answer=obj(number=S), status=201, tag="operator")
    async def account_new(request: Any, who: Any, v: dict[str, Any]) -> Any:
        return {"number": await ops_actions.create_account(site, who, request, v)}

    @op("POST", "/api/v1/ops/accounts/<number>/lock", "Lock an account", "admin",
        answer=obj(number=S, status=S), tag="operator", path_params=NUMBER)
    async def lock(request: Any, who: Any, _v: dict[str, Any], number: str) -> Any:
        await ops_actions.set_lock(site, who, request, number, True)
        return {"number": number, "status": "locked"}

    @op("POST", "/api/v1/ops/accounts/<number>/unlock", "Unlock an account", "admin",
        answer=obj(number=S, status=S), tag="operator", path_params=NUMBER)
    async def unlock(request: Any, who: Any, _v: dict[str, Any], number: str) -> Any:
        await ops_actions.set_lock(site, who, request, number, False)
        return {"number": number, "status": "active"}

    @op("POST", "/api/v1/ops/accounts/<number>/adjust", "Credit or debit with a reason",
        "admin", body=ops_actions.ADJUST, answer=obj(number=S, balance_fen=INT, reference=S),
        tag="operator", path_params=NUMBER)
    async def adjust(request: Any, who: Any, v: dict[str, Any], number: str) -> Any:
        return await ops_actions.adjust(site, who, request, number, v)

    @op("GET", "/api/v1/ops/card-batches", "Card batches and their cards' states",
        "operator", answer=arr({"type": "object"}), tag="operator")
    async def batches(request: Any, who: Any, _v: dict[str, Any]) -> Any:
        return await site.runner.call(ops_actions.list_batches)

    @op("POST", "/api/v1/ops/card-batches", "Generate a batch (the answer is the only copy "
        "of the PINs)", "admin", body=ops_actions.BATCH_NEW,
        answer=obj(batch=INT, cards=arr(obj(serial=S, pin=S))), status=201, tag="operator")
    async def generate(request: Any, who: Any, v: dict[str, Any]) -> Any:
        batch_id, printed = await ops_actions.generate(site, who, request, v)
        return {"batch": batch_id, "cards": [{"serial": s, "pin": p} for s, p in printed]}

    for action in ("activate", "void"):
        def make(action: str) -> None:
            @op("POST", f"/api/v1/ops/card-batches/<batch_id>/{action}",
                f"{action.capitalize()} every card of a batch", "admin",
                answer=obj(batch=INT, cards=INT), tag="operator", path_params=BATCH)
            async def batch_op(request: Any, who: Any, _v: dict[str, Any],
                               batch_id: str) -> Any:
                n = await ops_actions.batch_action(site, who, request, int_id(batch_id), action)
                return {"batch": int(batch_id), "cards": n}
        make(action)

    @op("GET", "/api/v1/ops/card-batches/<batch_id>/export", "Serials and states as CSV",
        "operator", answer={"type": "string"}, media="text/csv", tag="operator",
        path_params=BATCH)
    async def export(request: Any, who: Any, _v: dict[str, Any], batch_id: str) -> Any:
        text = await site.runner.call(ops_actions.export_batch, int_id(batch_id))
        if text is None:
            raise WebError(404, "error.not_found")
        return text.encode()

    @op("GET", "/api/v1/ops/rate-plans", "Rate plans", "operator",
        answer=arr({"type": "object"}), tag="operator")
    async def plans(request: Any, who: Any, _v: dict[str, Any]) -> Any:
        return await site.runner.call(ops_actions.list_plans)

    @op("GET", "/api/v1/ops/rate-plans/<plan>/rates.csv", "A plan's rates as CSV", "operator",
        answer={"type": "string"}, media="text/csv", tag="operator", path_params=PLAN)
    async def rates_export(request: Any, who: Any, _v: dict[str, Any], plan: str) -> Any:
        from confcall.rating import ops
        return (await site.runner.call_plain(ops.export_rates, plan)).encode()

    @op("PUT", "/api/v1/ops/rate-plans/<plan>/rates", "Replace a plan's rates from CSV",
        "admin", body=ops_actions.RATES, answer=obj(plan=S, rates=INT), tag="operator",
        path_params=PLAN)
    async def rates_import(request: Any, who: Any, v: dict[str, Any], plan: str) -> Any:
        n = await ops_actions.import_rates(site, who, request, plan, v["csv"])
        return {"plan": plan, "rates": n}

    @op("POST", "/api/v1/ops/quote", "Price of a call for a payer", "operator",
        body=ops_actions.QUOTE, answer={"type": "object"}, tag="operator")
    async def op_quote(request: Any, who: Any, v: dict[str, Any]) -> Any:
        return await ops_actions.quote(site, v)

    @op("GET", "/api/v1/ops/cdrs", "Rated call records with filters", "operator",
        query=ops_actions.CDR_QUERY, answer=arr({"type": "object"}), tag="operator")
    async def cdrs(request: Any, who: Any, v: dict[str, Any]) -> Any:
        return await site.runner.call(ops_actions.cdrs, v)

    @op("GET", "/api/v1/ops/audit", "The operators' audit log (newest first)", "operator",
        answer=arr({"type": "object"}), tag="operator")
    async def audit(request: Any, who: Any, _v: dict[str, Any]) -> Any:
        return await site.runner.call(operator_accounts.list_audit)

    # -- the document itself --------------------------------------------------------------------
    from importlib.metadata import PackageNotFoundError, version
    try:
        ver = version("confcall")
    except PackageNotFoundError:
        ver = "0"
    spec = document(operations, ver)
    site.openapi = spec
    site.operations = operations

    @site.route("/api/v1/openapi.json")
    async def openapi(request: Any) -> bytes:
        return site.json(request, spec)
