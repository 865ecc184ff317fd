"""Login sessions kept in the database (several boxes serve one site), looked up by cookie.

The cookie holds 32 random bytes (URL-safe base64); the table keeps only their SHA-256, so
whoever reads the table (a backup, a replica) cannot log in with it.  Each session has its own
CSRF token, another 32 random bytes, unrelated to the cookie: a page embeds the CSRF token,
never the session id, and a forged cross-site form cannot know it.  Tokens are compared with
``hmac.compare_digest``.  Sessions expire after an idle time and at an absolute age; logging in
again replaces the old session (no fixation), logging out deletes the row.

Functions take an open SQLAlchemy session (run them through the DB thread pool).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from confcall.store.models import WebSession
from confcall.store.prepared import Prepared

from .http import WebError

__all__ = ["ABSOLUTE", "IDLE", "Credentials", "Principal", "csrf_ok", "end", "expire_old",
           "hash_token", "lookup", "resolve", "start"]

IDLE = timedelta(hours=2)
ABSOLUTE = timedelta(hours=12)
_TOUCH_EVERY = timedelta(minutes=1)  # bound the writes a busy session causes


@dataclass(frozen=True)
class Principal:
    """Who is asking: a subscriber (E.164 number) or an operator (name and role)."""
    kind: str  # "subscriber" | "operator"
    name: str
    csrf: str
    role: str = ""

    @property
    def is_subscriber(self) -> bool:
        return self.kind == "subscriber"

    @property
    def is_operator(self) -> bool:
        return self.kind == "operator"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def start(session: Session, kind: str, principal: str, now: datetime,
          old_token: str | None = None) -> tuple[str, str]:
    """A new session for ``principal``: (cookie token, CSRF token).  An old session presented
    by the same browser is ended first (login never keeps a pre-login id)."""
    if old_token:
        session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(old_token)))
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=hash_token(token), kind=kind, principal=principal,
                           csrf=csrf, created_at=now, seen_at=now, expires_at=now + IDLE))
    session.flush()
    return token, csrf


_LOOKUP = Prepared(select(
    WebSession.id, WebSession.kind, WebSession.principal, WebSession.csrf,
    WebSession.created_at, WebSession.seen_at, WebSession.expires_at).where(
    WebSession.token_hash == bindparam("token_hash")))  # built once: every request runs it


def lookup(session: Session, token: str | None, now: datetime) -> tuple[str, str, str] | None:
    """(kind, principal, csrf) of a live session, or None.  Extends the idle deadline at most
    once a minute (a read must not cost a write every time)."""
    if not token or len(token) > 128:
        return None
    row = _LOOKUP.first(session.connection(), {"token_hash": hash_token(token)})
    if row is None:
        return None
    sid, kind, principal, csrf, created_at, seen_at, expires_at = row
    if expires_at <= now or created_at + ABSOLUTE <= now:
        session.execute(delete(WebSession).where(WebSession.id == sid))
        return None
    if now - seen_at >= _TOUCH_EVERY:
        session.execute(update(WebSession).where(WebSession.id == sid)
                        .values(seen_at=now, expires_at=min(now + IDLE, created_at + ABSOLUTE)))
    return kind, principal, csrf


@dataclass(frozen=True)
class Credentials:
    """What a request presents, to be checked inside the unit of work it asks for (one
    transaction for the session lookup and the work: the booking write path)."""
    token: str
    kind: str  # the principal kind the operation needs
    csrf: str | None  # the X-CSRF-Token of a write; None for a read (not checked)


def resolve(session: Session, cred: Credentials, now: datetime) -> str:
    """The principal's name, or the answers ``WebSite.need``/``check_csrf`` give: 401 without
    a live session of that kind, 403 when a write's CSRF token does not match."""
    found = lookup(session, cred.token, now)
    if found is None or found[0] != cred.kind:
        raise WebError(401, "error.login_needed")
    if cred.csrf is not None and not csrf_ok(found[2], cred.csrf):
        raise WebError(403, "error.csrf")
    return found[1]


def end(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))


def end_all(session: Session, kind: str, principal: str) -> int:
    """Log a principal out everywhere (after a password change, an account lock)."""
    result = session.execute(delete(WebSession).where(WebSession.kind == kind,
                                                      WebSession.principal == principal))
    return int(getattr(result, "rowcount", 0) or 0)


def expire_old(session: Session, now: datetime) -> int:
    result = session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


def csrf_ok(expected: str, presented: str | None) -> bool:
    if not presented:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode("utf-8", "replace"))
