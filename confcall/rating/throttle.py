"""Throttles on guessing secrets: leaky buckets with exponential back-off, per source and per
target, stored in ``auth_throttles`` so every box (and every pool thread) sees the same counts.

Why this shape (issue 14):

- *Counted before the check, atomically.*  ``attempt`` runs in its own short transaction:
  it locks the bucket rows (SQLite: the engine's ``BEGIN IMMEDIATE`` serialises writers;
  PostgreSQL: ``INSERT … ON CONFLICT DO NOTHING`` then ``SELECT … FOR UPDATE``, rows locked
  in key order so two attempts cannot deadlock), refuses if a bucket is blocked, else counts
  the attempt as a failure and commits.  Only then does the caller run argon2 (outside any
  transaction).  A burst of parallel guesses therefore gets exactly ``burst`` checks; the rest
  are refused without a check.  A right answer gives its count back (``succeeded``).
- *Per source and per target.*  The source bucket (``ani:+86…``, ``ip:…``, ``cli``) stops one
  caller from guessing across many accounts or cards; the target bucket (an account number,
  a card serial) stops many callers guessing one secret.  The account's owner calling from
  the account's own number is exempt from the account's target bucket (``owner_source``), so
  an attacker hammering an account from elsewhere throttles themselves and every other
  foreign source, never the owner on their own phone.
- *No permanent self-service lockout.*  Blocks last ``base_s * 2**(failures - burst)``,
  capped at ``cap_s``; failures leak away one per ``leak_s``.  With ``TARGET`` (burst 10, one
  leaked a minute, blocks ≥ 1 min past the burst) an account sees at most ~70 failed
  attempts per hour (NIST SP 800-63B 5.2.2 / OWASP ASVS 2.2.1: ≤ 100).
- Buckets are keyed by what the caller *typed*, known or not, so an unknown account or serial
  is throttled exactly like a known one (no existence oracle).
"""
from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from confcall.store.models import AuthThrottle

__all__ = [
    "SOURCE",
    "TARGET",
    "Bucket",
    "Refused",
    "Rule",
    "Ticket",
    "attempt",
    "clear",
    "keys_like",
    "purge",
    "succeeded",
]

PURGE_ONE_IN = 1000  # about one attempt in this many also deletes long-idle buckets
MAX_EXPONENT = 20  # 2**20 * base is far beyond any cap: keeps the arithmetic small


@dataclass(frozen=True)
class Rule:
    """``burst`` failures pass freely; from then on each failure blocks the bucket for
    ``base_s * 2**(failures - burst)`` seconds (at most ``cap_s``); one failure is forgotten
    every ``leak_s`` seconds."""
    burst: int
    leak_s: int
    base_s: int
    cap_s: int

    def block(self, failures: int) -> timedelta | None:
        if failures < self.burst:
            return None
        exp = min(failures - self.burst, MAX_EXPONENT)
        return timedelta(seconds=min(self.cap_s, self.base_s * 2 ** exp))


SOURCE = Rule(burst=5, leak_s=60, base_s=30, cap_s=3600)   # one caller, every target
TARGET = Rule(burst=10, leak_s=60, base_s=60, cap_s=900)   # one account/card, foreign sources


@dataclass(frozen=True)
class Bucket:
    key: str
    rule: Rule


@dataclass(frozen=True)
class Ticket:
    """The buckets an allowed attempt was counted in (give it to ``succeeded``), and the
    block this attempt set if it was the last of a burst (None: the next may follow)."""
    buckets: tuple[Bucket, ...]
    blocks_until: datetime | None = None


@dataclass(frozen=True)
class Refused:
    """No check allowed before ``until`` (the latest block among the buckets)."""
    until: datetime
    key: str


def _insert_missing(session: Session, keys: Iterable[str], now: datetime) -> None:
    rows = [{"key": k, "failures": 0, "leak_at": now, "blocked_until": None} for k in keys]
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert
        session.execute(pg_insert(AuthThrottle).values(rows).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.sqlite import insert as lite_insert
        session.execute(lite_insert(AuthThrottle).values(rows).on_conflict_do_nothing())


def _leaked(row: AuthThrottle, rule: Rule, now: datetime) -> tuple[int, datetime]:
    """The row's failures after leaking up to ``now``, and the new leak origin."""
    if row.failures <= 0:
        return 0, now
    origin = row.leak_at or now
    if now <= origin:
        return row.failures, origin
    n = int((now - origin).total_seconds()) // rule.leak_s
    if n >= row.failures:
        return 0, now
    return row.failures - n, origin + timedelta(seconds=n * rule.leak_s)


def _locked_rows(session: Session, buckets: tuple[Bucket, ...],
                 now: datetime) -> dict[str, AuthThrottle]:
    keys = sorted({b.key for b in buckets})
    _insert_missing(session, keys, now)
    rows = session.scalars(select(AuthThrottle).where(AuthThrottle.key.in_(keys))
                           .order_by(AuthThrottle.key).with_for_update()
                           .execution_options(populate_existing=True)).all()
    return {r.key: r for r in rows}


def attempt(session: Session, buckets: Iterable[Bucket], now: datetime) -> Ticket | Refused:
    """Count one attempt in every bucket, or refuse it (counting nothing) if one is blocked.
    Run it in its own transaction, committed before the secret is checked."""
    chosen = tuple(buckets)
    if secrets.randbelow(PURGE_ONE_IN) == 0:  # housekeeping, spread over the attempts
        purge(session, now)
    rows = _locked_rows(session, chosen, now)
    blocked: list[tuple[datetime, str]] = []
    for b in chosen:
        end = rows[b.key].blocked_until
        if end is not None and end > now:
            blocked.append((end, b.key))
    if blocked:
        return Refused(*max(blocked))
    until: datetime | None = None
    for b in chosen:
        row = rows[b.key]
        failures, leak_at = _leaked(row, b.rule, now)
        failures += 1
        block = b.rule.block(failures)
        row.failures, row.leak_at = failures, leak_at
        row.blocked_until = None if block is None else now + block
        if row.blocked_until is not None and (until is None or row.blocked_until > until):
            until = row.blocked_until
    session.flush()
    return Ticket(chosen, until)


def succeeded(session: Session, ticket: Ticket, now: datetime) -> None:
    """The secret was right: give the attempt's count back and lift the blocks, in every
    bucket it was counted in — whoever knows the secret is not guessing, and must not be
    held back by a block their own right answer (the burst's last) just set."""
    rows = _locked_rows(session, ticket.buckets, now)
    for b in ticket.buckets:
        row = rows[b.key]
        failures, leak_at = _leaked(row, b.rule, now)
        failures = max(0, failures - 1)
        row.failures, row.leak_at, row.blocked_until = failures, leak_at, None
    session.flush()


def keys_like(session: Session, suffix: str) -> list[AuthThrottle]:
    """Every bucket whose key ends with ``suffix`` (a target: ``:to:<serial>``)."""
    return list(session.scalars(select(AuthThrottle)
                                .where(AuthThrottle.key.like(f"%{suffix}"))
                                .order_by(AuthThrottle.key)))


def clear(session: Session, keys: Iterable[str]) -> list[str]:
    """Reset the given buckets (operator action); returns the keys that held anything."""
    keys = list(keys)
    if not keys:
        return []
    held = list(session.scalars(select(AuthThrottle.key).where(
        AuthThrottle.key.in_(keys),
        or_(AuthThrottle.failures > 0, AuthThrottle.blocked_until.is_not(None)))
        .order_by(AuthThrottle.key)))
    session.execute(update(AuthThrottle).where(AuthThrottle.key.in_(keys))
                    .values(failures=0, blocked_until=None))
    return held


def purge(session: Session, now: datetime, idle: timedelta = timedelta(days=1)) -> int:
    """Delete buckets idle for ``idle`` and not blocked (they would have leaked to zero
    anyway for every rule here), so rows for typed-in junk do not pile up."""
    res = session.execute(delete(AuthThrottle).where(
        AuthThrottle.leak_at < now - idle,
        or_(AuthThrottle.blocked_until.is_(None), AuthThrottle.blocked_until < now)))
    return int(getattr(res, "rowcount", 0))
