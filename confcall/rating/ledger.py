"""The append-only ledger and the balance column it guards.

Every balance change is one ``ledger`` row with a unique ``reference`` *and* one conditional
``UPDATE accounts`` in the same transaction:

- the ledger is the proof (the migrations make it append-only with triggers);
- the balance column is the guard: a debit is ``UPDATE ... SET balance = balance - x WHERE
  balance - x >= reserved``, atomic on SQLite (BEGIN IMMEDIATE) and on PostgreSQL (the row is
  re-checked after a concurrent writer commits), so no interleaving can overdraw;
- a retried write with the same reference returns the existing row instead of applying twice
  (a different write under the same reference is refused).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from confcall.store.models import Account, LedgerEntry, table_of

from .errors import MoneyError

__all__ = ["MAX_AMOUNT_FEN", "Posting", "audit", "available", "check_amount", "post"]

MAX_AMOUNT_FEN = 10_000_000  # 100,000 yuan: above this an entry is a typo, not a recharge
_ACCOUNTS = table_of(Account)


def check_amount(value: object, low: int = 1, high: int = MAX_AMOUNT_FEN) -> int:
    """An amount in fen: a real int (not bool, float or text) within [low, high]."""
    if type(value) is not int:
        raise MoneyError("amount.type", value=value)
    if not low <= value <= high:
        raise MoneyError("amount.range", value=value, low=low, high=high)
    return value


@dataclass(frozen=True)
class Posting:
    entry: LedgerEntry
    applied: bool  # False: the reference had already been posted (idempotent retry)


def available(session: Session, account_id: int) -> tuple[int, int]:
    row = session.execute(select(_ACCOUNTS.c.balance_fen, _ACCOUNTS.c.reserved_fen)
                          .where(_ACCOUNTS.c.id == account_id)).one()
    return int(row[0]), int(row[1])


def post(session: Session, account_id: int, kind: str, amount_fen: int, reference: str,
         now: datetime, *, actor: str = "system", note: str = "", card_id: int | None = None,
         conference_id: int | None = None, release_fen: int = 0,
         allow_partial: bool = False) -> Posting:
    """Apply one signed amount to an account with its ledger row, exactly once per reference.

    ``release_fen`` is reserved credit given back in the same statement (settling a leg).
    A debit that the free balance cannot cover raises ``funds.insufficient``, unless
    ``allow_partial``: then only what is there is taken and the note says what was not.
    """
    if type(amount_fen) is not int:
        raise MoneyError("amount.type", value=amount_fen)
    existing = session.scalar(select(LedgerEntry).where(LedgerEntry.reference == reference))
    if existing is not None:
        if existing.account_id != account_id or existing.kind != kind or \
                (existing.amount_fen != amount_fen and not allow_partial):
            raise MoneyError("ledger.conflict", reference=reference)
        return Posting(existing, False)
    acc = _ACCOUNTS.c
    stmt = update(_ACCOUNTS).where(acc.id == account_id)
    if amount_fen < 0:
        stmt = stmt.where(acc.balance_fen + amount_fen >= acc.reserved_fen - release_fen)
    result = session.execute(stmt.values(balance_fen=acc.balance_fen + amount_fen,
                                         reserved_fen=acc.reserved_fen - release_fen)
                             .returning(acc.balance_fen)).first()
    if result is None:
        balance, reserved = available(session, account_id)
        free = balance - (reserved - release_fen)
        if not allow_partial:
            raise MoneyError("funds.insufficient", needed=-amount_fen, available=free)
        note = f"{note} (uncollected {-amount_fen - free} fen)".strip()
        amount_fen = -free
        result = session.execute(update(_ACCOUNTS).where(acc.id == account_id).values(
            balance_fen=acc.balance_fen + amount_fen,
            reserved_fen=acc.reserved_fen - release_fen).returning(acc.balance_fen)).first()
        assert result is not None
    entry = LedgerEntry(account_id=account_id, kind=kind, amount_fen=amount_fen,
                        balance_after_fen=int(result[0]), reference=reference,
                        card_id=card_id, conference_id=conference_id, actor=actor, note=note,
                        created_at=now)
    session.add(entry)
    session.flush()
    return Posting(entry, True)


def audit(session: Session, account_id: int) -> tuple[int, int]:
    """(balance column, sum of the ledger): equal for every healthy account."""
    balance, _ = available(session, account_id)
    total = session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0))
                           .where(LedgerEntry.account_id == account_id))
    return balance, int(total or 0)
