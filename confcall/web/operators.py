"""Operator accounts of the console and the audit log of what they do.

Operators are not subscribers: their own table, names and passwords (argon2id over the
peppered password, as subscriber PINs), and a role — ``admin`` may act, ``viewer`` may only
look.  A wrong password backs off (1, 2, 4 … 60 minutes after 5 failures in a row), never
locks an operator out for good; an unknown name costs the same argon2 verification as a known
one, so the login does not tell which names exist.

Every operator action is audited: ``audit_begin`` writes the row *before* the action runs
(outcome ``pending``), ``audit_end`` records ``ok`` or ``refused`` with the reason.  An action
can therefore never happen without a trace, even if the box dies half-way.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from confcall.booking import BookingError
from confcall.ids import new_ref
from confcall.rating import secrets_
from confcall.rating.errors import MoneyError
from confcall.store import Store
from confcall.store.models import AuditEntry, Operator

from .i18n import Refusal

__all__ = ["ROLES", "audit_begin", "audit_end", "authenticate", "create_operator",
           "list_audit", "role_of"]

ROLES = ("admin", "viewer")
NAME = re.compile(r"^[a-z][a-z0-9_.-]{1,39}$")
PASSWORD_MIN = 10
FREE_FAILURES = 5
MAX_BACKOFF = timedelta(minutes=60)
_dummy_hash: str | None = None


class OperatorError(Refusal):
    """Operator refusals: a stable key, parameters, a text in either language."""


def _check(name: str, password: str, role: str) -> None:
    if not NAME.match(name):
        raise OperatorError("operator.name")
    if not isinstance(password, str) or len(password) < PASSWORD_MIN or len(password) > 200:
        raise OperatorError("operator.password", low=PASSWORD_MIN)
    if role not in ROLES:
        raise OperatorError("operator.role")


def create_operator(store: Store, name: str, password: str, role: str,
                    now: datetime) -> None:
    _check(name, password, role)
    pw_hash = secrets_.hash_pin(password)  # ~100 ms, outside the transaction

    def fn(s: Session) -> None:
        if s.scalar(select(Operator.id).where(Operator.name == name)) is not None:
            raise OperatorError("operator.exists", name=name)
        s.add(Operator(name=name, pw_hash=pw_hash, role=role, status="active", failures=0,
                       created_at=now))
    store.run(fn)


def role_of(session: Session, name: str) -> str | None:
    row = session.execute(select(Operator.role, Operator.status)
                          .where(Operator.name == name)).first()
    return row.role if row is not None and row.status == "active" else None


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = secrets_.hash_pin("not-an-operator-password")
    return _dummy_hash


def authenticate(store: Store, name: str, password: str, now: datetime) -> str:
    """The operator's role if the password is right; ``OperatorError`` otherwise."""
    def state(s: Session) -> tuple[int, str, datetime | None, str] | None:
        row = s.execute(select(Operator.id, Operator.pw_hash, Operator.locked_until,
                               Operator.status).where(Operator.name == name)).first()
        return None if row is None else (row.id, row.pw_hash, row.locked_until, row.status)

    found = store.run(state) if isinstance(name, str) and NAME.match(name) else None
    if found is None:
        secrets_.verify_pin(_dummy(), password)  # same cost as a known name
        raise OperatorError("operator.unknown")
    op_id, pw_hash, locked_until, status = found
    if locked_until is not None and locked_until > now:
        raise OperatorError("operator.locked", until=f"{locked_until:%Y-%m-%d %H:%M} UTC")
    ok = secrets_.verify_pin(pw_hash, password) and status == "active"

    def record(s: Session) -> str | None:
        if ok:
            s.execute(update(Operator).where(Operator.id == op_id)
                      .values(failures=0, locked_until=None))
            return s.scalar(select(Operator.role).where(Operator.id == op_id))
        n = s.execute(update(Operator).where(Operator.id == op_id)
                      .values(failures=Operator.failures + 1)
                      .returning(Operator.failures)).scalar_one()
        if n >= FREE_FAILURES:
            wait = min(timedelta(minutes=2 ** (n - FREE_FAILURES)), MAX_BACKOFF) \
                if n - FREE_FAILURES < 7 else MAX_BACKOFF
            s.execute(update(Operator).where(Operator.id == op_id)
                      .values(locked_until=now + wait))
        return None
    role = store.run(record)
    if role is None:
        raise OperatorError("operator.unknown")
    return str(role)


def audit_begin(session: Session, operator: str, action: str, target: str, detail: str,
                source: str, now: datetime) -> int:
    row = AuditEntry(reference=new_ref("audit"), operator=operator[:40], action=action[:40],
                     target=target[:120], detail=detail[:2000], source=source[:64],
                     outcome="pending", created_at=now)
    session.add(row)
    session.flush()
    return row.id


def audit_end(session: Session, audit_id: int, outcome: str, detail: str = "") -> None:
    values: dict[str, Any] = {"outcome": outcome[:10]}
    if detail:
        entry = session.get(AuditEntry, audit_id)
        if entry is not None:
            values["detail"] = (entry.detail + " | " + detail)[:2000]
    session.execute(update(AuditEntry).where(AuditEntry.id == audit_id).values(**values))


def list_audit(session: Session, limit: int = 200, operator: str | None = None
               ) -> list[dict[str, Any]]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if operator:
        stmt = stmt.where(AuditEntry.operator == operator)
    return [{"time": e.created_at, "operator": e.operator, "action": e.action,
             "target": e.target, "detail": e.detail, "source": e.source,
             "outcome": e.outcome, "reference": e.reference}
            for e in session.scalars(stmt)]


async def audited(site: Any, who: Any, request: Any, action: str, target: str, detail: str,
                  work: Callable[[], Any]) -> Any:
    """Run ``work()`` (returning a Deferred or value) between the two audit writes."""
    runner = site.runner
    audit_id = await runner.call(audit_begin, who.name, action, target, detail,
                                 site.source(request), site.now())
    try:
        result = await work()
    except (MoneyError, Refusal, BookingError) as e:
        await runner.call(audit_end, audit_id, "refused", e.key)
        raise
    except Exception:
        await runner.call(audit_end, audit_id, "error")
        raise
    await runner.call(audit_end, audit_id, "ok")
    return result
