"""Prepaid recharge cards.

Life cycle: ``generated`` (batch created, PINs handed out once for printing) → ``active``
(batch released for sale) → ``used`` (redeemed) ; ``void`` (withdrawn by the operator) and
``expired`` (past its date) are terminal.

- Serial: 5-digit batch number + 6-digit sequence + Luhn check digit (12 digits), so a
  mistyped serial is refused before any lookup.
- PIN: 12 digits from ``secrets`` (CSPRNG); stored only as a keyed hash (see ``secrets_``).
  The plaintext exists once: in the return value of ``generate_batch``, which the CLI writes
  to a new file (``write_print_file``) — there is no way to export it again.
- Redemption is one conditional ``UPDATE cards SET state='used' ... WHERE id=? AND
  state='active'`` plus a ledger row with reference ``card:<serial>`` in one transaction: two
  racing redemptions (threads, processes or boxes on PostgreSQL) cannot both succeed.
- Lockouts: after MAX_CARD_FAILURES wrong PINs a card refuses every PIN (until the operator
  unblocks it); after MAX_ACCOUNT_FAILURES failed attempts an account may not redeem for
  ACCOUNT_LOCK.
"""
from __future__ import annotations

import csv
import os
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from confcall.store.engine import rowcount as _count
from confcall.store.models import Account, Card, CardBatch, table_of

from . import secrets_
from .accounts import count_failure, get_account, lockout_refusal
from .errors import MoneyError
from .ledger import Posting, check_amount, post

__all__ = [
    "ACCOUNT_LOCK",
    "MAX_ACCOUNT_FAILURES",
    "MAX_BATCH",
    "MAX_CARD_FAILURES",
    "activate_batch",
    "expire_cards",
    "generate_batch",
    "luhn_digit",
    "redeem",
    "unblock_card",
    "valid_serial",
    "void_batch",
    "void_card",
    "write_print_file",
]

PIN_DIGITS = 12
MAX_BATCH = 100_000
MAX_CARD_FAILURES = 5
MAX_ACCOUNT_FAILURES = 5
ACCOUNT_LOCK = timedelta(minutes=30)


def luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def valid_serial(serial: str) -> bool:
    return isinstance(serial, str) and len(serial) == 12 and serial.isascii() and \
        serial.isdigit() and luhn_digit(serial[:-1]) == serial[-1]


def generate_batch(session: Session, label: str, count: int, value_fen: int,
                   expires_at: datetime, now: datetime) -> tuple[CardBatch, list[tuple[str, str]]]:
    """Create ``count`` cards; returns the batch and the only copy of (serial, PIN) pairs."""
    check_amount(value_fen)
    if type(count) is not int or not 1 <= count <= MAX_BATCH:
        raise MoneyError("card.batch_count", high=MAX_BATCH, value=count)
    if expires_at <= now:
        raise MoneyError("card.expiry", expires=expires_at.isoformat())
    if not label or len(label) > 120:
        raise MoneyError("card.label")
    batch = CardBatch(label=label, value_fen=value_fen, count=count, expires_at=expires_at,
                      created_at=now, exported_at=now)
    session.add(batch)
    session.flush()
    if batch.id >= 100_000:
        raise MoneyError("card.batch_count", high=MAX_BATCH, value=count)
    printed: list[tuple[str, str]] = []
    rows = []
    for i in range(count):
        body = f"{batch.id:05d}{i:06d}"
        serial = body + luhn_digit(body)
        pin = "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))
        printed.append((serial, pin))
        rows.append({"batch_id": batch.id, "serial": serial,
                     "pin_hash": secrets_.card_pin_hash(serial, pin), "state": "generated",
                     "value_fen": value_fen, "expires_at": expires_at, "failures": 0})
    for i in range(0, len(rows), 5000):
        session.execute(table_of(Card).insert(), rows[i:i + 5000])
    return batch, printed


def write_print_file(path: str, batch: CardBatch, printed: list[tuple[str, str]]) -> None:
    """Write the printer's CSV once: a new file (never overwritten), readable by owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["serial", "pin", "value_fen", "expires_utc", "batch", "label"])
        for serial, pin in printed:
            w.writerow([serial, pin, batch.value_fen, batch.expires_at.isoformat(), batch.id,
                        batch.label])


def _batch(session: Session, batch_id: int) -> CardBatch:
    batch = session.get(CardBatch, batch_id)
    if batch is None:
        raise MoneyError("card.batch_unknown", batch=batch_id)
    return batch


def activate_batch(session: Session, batch_id: int) -> int:
    _batch(session, batch_id)
    return _count(session, update(Card).where(Card.batch_id == batch_id,
                                              Card.state == "generated")
                           .values(state="active"))


def void_batch(session: Session, batch_id: int) -> int:
    _batch(session, batch_id)
    return _count(session, update(Card).where(Card.batch_id == batch_id,
                                              Card.state.in_(("generated", "active")))
                           .values(state="void"))


def _card(session: Session, serial: str) -> Card:
    if not valid_serial(serial):
        raise MoneyError("card.malformed", serial=serial)
    card = session.scalar(select(Card).where(Card.serial == serial)
                          .execution_options(populate_existing=True))
    if card is None:
        raise MoneyError("card.unknown", serial=serial)
    return card


def void_card(session: Session, serial: str) -> None:
    card = _card(session, serial)
    if _count(session, update(Card).where(Card.id == card.id,
                                          Card.state.in_(("generated", "active")))
                       .values(state="void")) != 1:
        raise MoneyError("card.state", serial=serial, state=card.state)


def unblock_card(session: Session, serial: str) -> None:
    card = _card(session, serial)
    card.failures = 0


def expire_cards(session: Session, now: datetime) -> int:
    return _count(session, update(Card).where(Card.expires_at <= now,
                                              Card.state.in_(("generated", "active")))
                           .values(state="expired"))


def _account_failure(session: Session, account: Account, now: datetime,
                     err: MoneyError) -> MoneyError:
    count_failure(session, account.id, Account.card_failures, Account.card_locked_until,
                  MAX_ACCOUNT_FAILURES, ACCOUNT_LOCK, now)
    return err


def redeem(session: Session, number: str, serial: str, pin: str,
           now: datetime) -> Posting | MoneyError:
    """Recharge ``number``'s account with a card.  Returns the posting, or the refusal after
    recording the failed attempt (so the caller commits the counters, then reports)."""
    account = get_account(session, number)
    refusal = lockout_refusal(account, account.card_locked_until, "card.account_locked", now)
    if refusal is not None:
        return refusal
    try:
        card = _card(session, serial)
    except MoneyError as err:
        return _account_failure(session, account, now, err)
    if card.state != "active":
        return MoneyError("card.state", serial=serial, state=card.state)
    if card.expires_at <= now:
        session.execute(update(Card).where(Card.id == card.id, Card.state == "active")
                        .values(state="expired"))
        return MoneyError("card.expired", serial=serial, expires=f"{card.expires_at:%Y-%m-%d}")
    if card.failures >= MAX_CARD_FAILURES:
        return MoneyError("card.locked", serial=serial)
    if not isinstance(pin, str) or not secrets_.check_card_pin(card.pin_hash, serial, pin):
        session.execute(update(Card).where(Card.id == card.id)
                        .values(failures=Card.failures + 1))
        return _account_failure(session, account, now, MoneyError("card.wrong_pin"))
    claimed = session.execute(update(Card).where(Card.id == card.id, Card.state == "active")
                              .values(state="used", used_at=now, used_by=account.id)
                              .returning(Card.id)).first()
    if claimed is None:  # somebody redeemed it between our read and our update
        return MoneyError("card.state", serial=serial, state="used")
    if account.card_failures:
        account.card_failures = 0
    return post(session, account.id, "recharge", card.value_fen, f"card:{serial}", now,
                actor=account.number, note=f"card {serial} batch {card.batch_id}",
                card_id=card.id)
