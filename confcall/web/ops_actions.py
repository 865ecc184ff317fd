"""What the operator console can do, once for its pages and its API: forms and service calls.

Money and card actions go through ``confcall.rating.ops`` (the same services the CLI uses);
each runs between the two audit writes of ``operators.audited``.  The live view reads the
running box (spans, channels, conferences with each seat's span and timeslot) on the reactor
thread, where that state lives; it touches no database.
"""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from confcall.ids import new_ref
from confcall.rating import ops
from confcall.store.models import Account, Card, CardBatch, Conference, Leg, RatePlan

from .forms import Field, Form
from .operators import audited

__all__ = [
    "ACCOUNT_NEW",
    "ADJUST",
    "BATCH_NEW",
    "CDR_QUERY",
    "OP_LOGIN",
    "QUOTE",
    "RATES",
    "list_accounts",
    "live",
]

OP_LOGIN = Form("op_login", (
    Field("name", "op.login_name", "text", min=2, max=40),
    Field("password", "login.password", "text", min=1, max=200),
))
ACCOUNT_NEW = Form("account_new", (
    Field("number", "op.accounts.number", "phone", max=24),
    Field("pin", "op.accounts.pin", "digits", min=6, max=12),
    Field("area", "op.accounts.area", "digits", required=False, min=2, max=4),
    Field("plan", "op.accounts.plan", "text", required=False, max=60),
))
ADJUST = Form("adjust", (
    Field("amount_fen", "op.accounts.amount", "int", min=-10_000_000, max=10_000_000),
    Field("reason", "op.accounts.reason", "text", min=3, max=200),
))
ACCOUNT_QUERY = Form("account_query", (
    Field("q", "op.accounts.search", "text", required=False, max=24),
))
BATCH_NEW = Form("batch_new", (
    Field("label", "op.cards.label", "text", min=1, max=120),
    Field("count", "op.cards.count", "int", min=1, max=10_000),
    Field("value_fen", "op.cards.value", "int", min=1, max=10_000_000),
    Field("expires", "op.cards.expires", "date"),
))
RATES = Form("rates", (
    Field("csv", "op.rates.csv", "text", min=1, max=200_000),
))
QUOTE = Form("op_quote", (
    Field("payer", "op.rates.payer", "phone", max=24),
    Field("dialled", "op.rates.dialled", "phone", max=24),
    Field("duration_s", "op.rates.duration", "int", min=1, max=86_400),
))
CDR_QUERY = Form("cdr_query", (
    Field("number", "op.accounts.number", "phone", required=False, max=24),
    Field("cls", "col.class", "choice", required=False,
          choices=("local", "long_distance", "mobile_local", "mobile_long_distance",
                   "international", "free")),
    Field("from", "history.from", "date", required=False),
    Field("to", "history.to", "date", required=False),
    Field("limit", "op.cards.count", "int", required=False, min=1, max=1000, default=200),
))


# -- accounts ---------------------------------------------------------------------------------
def list_accounts(session: Session, q: str | None, limit: int = 100) -> list[dict[str, Any]]:
    stmt = select(Account).order_by(Account.id.desc()).limit(limit)
    if q:
        digits = "".join(ch for ch in q if ch.isdigit())
        if digits:
            stmt = stmt.where(Account.number.contains(digits))
    return [{"number": a.number, "status": a.status, "home_area": a.home_area,
             "balance_fen": a.balance_fen, "reserved_fen": a.reserved_fen,
             "created_at": a.created_at} for a in session.scalars(stmt)]


async def create_account(site: Any, who: Any, request: Any, v: dict[str, Any]) -> str:
    return await audited(site, who, request, "account.create", v["number"],
                         f"area={v.get('area') or ''} plan={v.get('plan') or ''}",
                         lambda: site.runner.call_plain(ops.create_account, v["number"],
                                                        v["pin"], v.get("area") or None,
                                                        v.get("plan") or None,
                                                        now=site.now()))


async def set_lock(site: Any, who: Any, request: Any, number: str, locked: bool) -> None:
    fn = ops.lock_account if locked else ops.unlock_account
    await audited(site, who, request, "account.lock" if locked else "account.unlock", number,
                  "", lambda: site.runner.call_plain(fn, number))


async def adjust(site: Any, who: Any, request: Any, number: str, v: dict[str, Any]
                 ) -> dict[str, Any]:
    ref = new_ref("adj")

    async def work() -> Any:
        return await site.runner.call_plain(ops.adjust, number, v["amount_fen"], ref,
                                            v["reason"], actor=f"web:{who.name}",
                                            now=site.now())
    b = await audited(site, who, request, "account.adjust", number,
                      f"{v['amount_fen']} fen: {v['reason']} ({ref})", work)
    return {"number": b.number, "balance_fen": b.balance_fen, "reference": ref}


# -- cards ------------------------------------------------------------------------------------
def list_batches(session: Session) -> list[dict[str, Any]]:
    counts = dict(session.execute(select(Card.batch_id, func.count()).group_by(Card.batch_id))
                  .all())
    states: dict[int, dict[str, int]] = {}
    for batch_id, state, n in session.execute(select(Card.batch_id, Card.state, func.count())
                                              .group_by(Card.batch_id, Card.state)):
        states.setdefault(batch_id, {})[state] = n
    return [{"id": b.id, "label": b.label, "value_fen": b.value_fen, "count": counts.get(b.id, 0),
             "states": states.get(b.id, {}), "expires_at": b.expires_at,
             "created_at": b.created_at}
            for b in session.scalars(select(CardBatch).order_by(CardBatch.id.desc()).limit(200))]


async def generate(site: Any, who: Any, request: Any, v: dict[str, Any]
                   ) -> tuple[int, list[tuple[str, str]]]:
    expires = datetime.combine(v["expires"], datetime.min.time(), UTC)
    return await audited(site, who, request, "cards.generate", v["label"],
                         f"{v['count']} x {v['value_fen']} fen until {v['expires']}",
                         lambda: site.runner.call_plain(ops.generate_cards, v["label"],
                                                        v["count"], v["value_fen"], expires,
                                                        now=site.now()))


def print_csv(batch_id: int, printed: list[tuple[str, str]]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["batch", "serial", "pin"])
    for serial, pin in printed:
        w.writerow([batch_id, serial, pin])
    return out.getvalue()


async def batch_action(site: Any, who: Any, request: Any, batch_id: int, action: str) -> int:
    fn = ops.activate_batch if action == "activate" else ops.void_batch
    return await audited(site, who, request, f"cards.{action}", str(batch_id), "",
                         lambda: site.runner.call_plain(fn, batch_id))


def export_batch(session: Session, batch_id: int) -> str | None:
    """The batch's serials and states (PINs exist only in the print file made at generation)."""
    batch = session.get(CardBatch, batch_id)
    if batch is None:
        return None
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["batch", "serial", "state", "value_fen", "expires_at", "used_at"])
    for c in session.scalars(select(Card).where(Card.batch_id == batch_id).order_by(Card.id)):
        w.writerow([batch_id, c.serial, c.state, c.value_fen, c.expires_at.isoformat(),
                    c.used_at.isoformat() if c.used_at else ""])
    return out.getvalue()


# -- rates ------------------------------------------------------------------------------------
def list_plans(session: Session) -> list[dict[str, Any]]:
    return [{"name": p.name, "rounding": p.rounding, "utc_offset_minutes": p.utc_offset_minutes}
            for p in session.scalars(select(RatePlan).order_by(RatePlan.name))]


async def import_rates(site: Any, who: Any, request: Any, plan: str, text: str) -> int:
    return await audited(site, who, request, "rates.import", plan, f"{len(text)} bytes",
                         lambda: site.runner.call_plain(ops.import_rates, plan, text))


async def quote(site: Any, v: dict[str, Any]) -> dict[str, Any]:
    q = await site.runner.call_plain(ops.quote, v["payer"], v["dialled"], v["duration_s"],
                                     at=site.now())
    return {"destination": q.destination, "class": q.number_class, "area": q.area,
            "duration_s": q.duration_s, "billed_s": q.billed_s, "amount_fen": q.amount_fen,
            "max_duration_s": q.max_duration_s}


# -- CDRs ---------------------------------------------------------------------------------------
def cdrs(session: Session, v: dict[str, Any]) -> list[dict[str, Any]]:
    stmt = (select(Leg, Conference.reference, Account.number)
            .join(Conference, Leg.conference_id == Conference.id)
            .join(Account, Conference.account_id == Account.id)
            .order_by(Leg.id.desc()).limit(v.get("limit") or 200))
    if v.get("number"):
        digits = "".join(ch for ch in v["number"] if ch.isdigit())
        stmt = stmt.where(or_(Account.number.contains(digits), Leg.destination.contains(digits)))
    if v.get("cls"):
        stmt = stmt.where(Leg.number_class == v["cls"])
    if v.get("from"):
        stmt = stmt.where(Leg.started_at >= datetime.combine(v["from"], datetime.min.time(),
                                                             UTC))
    if v.get("to"):
        stmt = stmt.where(Leg.started_at < datetime.combine(v["to"], datetime.max.time(), UTC))
    return [{"conference": ref, "payer": payer, "destination": leg.destination,
             "class": leg.number_class, "started_at": leg.started_at,
             "answered_at": leg.answered_at, "duration_s": leg.duration_s,
             "billed_s": leg.billed_s, "amount_fen": leg.amount_fen}
            for leg, ref, payer in session.execute(stmt)]


# -- the live view ------------------------------------------------------------------------------
def live(daemon: Any) -> dict[str, Any]:
    """Spans (alarms, channel map), calls and conferences with each seat's span/timeslot."""
    if daemon is None:
        return {"box": False, "spans": [], "calls": [], "conferences": []}
    from confcall.control_socket import handle
    spans = handle(daemon, '{"cmd": "span_status"}')
    calls = handle(daemon, '{"cmd": "calls"}')
    confs = []
    now = float(daemon.reactor.seconds())
    for s in getattr(daemon.callbacks, "sessions", []):
        if getattr(s, "ended", False):
            continue
        seats = [_seat(1, s.initiator_leg, "initiator", "in call")]
        for m in getattr(s, "members", []):
            if m.state in ("failed", "left"):
                continue
            seats.append(_seat(m.seat, m.leg, "participant", m.state, m.number))
        confs.append({"reference": s.reference, "payer": s.payer,
                      "seconds": round(now - s.started_at, 1), "seats": seats})
    span_list = []
    for d in spans.get("spans", []):
        st = d.get("span", {})
        span_list.append({"span": st.get("spanno"), "name": st.get("name", ""),
                          "ok": bool(st.get("ok")), "alarms": list(st.get("alarm_names", [])),
                          "map": d.get("map", ""), "in_use": len(d.get("in_use", []))})
    return {"box": True, "spans": span_list, "calls": calls.get("calls", []),
            "conferences": confs}


def _seat(seat: int, leg: Any, role: str, state: str, number: str | None = None
          ) -> dict[str, Any]:
    trunk = getattr(getattr(leg, "trunk", None), "name", "")
    return {"seat": seat, "role": role, "state": str(state),
            "number": number or getattr(leg, "number", "") or "",
            "span": trunk, "timeslot": getattr(leg, "chanpos", None),
            "channel": getattr(leg, "channo", None)}
