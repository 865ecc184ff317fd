"""Prepaid recharge cards.

Life cycle: ``generated`` (batch created, PINs handed out once for printing) → ``active``
(batch released for sale) → ``used`` (redeemed) ; ``void`` (withdrawn by the operator) and
``expired`` (past its date) are terminal.

- Serial: 15 random digits from ``secrets`` (CSPRNG) + a Luhn check digit (16 digits): a
  mistyped serial is refused before any lookup, and no serial tells anything about another
  (serials of the first version — 12 digits, sequential — stay valid).
- PIN: 12 digits from ``secrets``; stored only as argon2id over a peppered HMAC
  (``secrets_.card_pin_hash``), hashed before the batch's transaction opens.  The plaintext
  exists once: in the return value of ``prepare_cards``, which the CLI writes to a file it
  opened before anything was committed (``open_print_file``) — there is no way to export it.
- Redemption (see ``ops.recharge_by_card``): ``begin_redeem`` counts the try in the
  throttles (per source, per serial) and reads the card; the PIN is checked with no
  transaction open (a dummy check for an unknown serial, answered like a wrong PIN); then
  ``finish_redeem`` is one conditional ``UPDATE cards SET state='used' ... WHERE id=? AND
  state='active'`` plus a ledger row with reference ``card:<serial>`` in one transaction: two
  racing redemptions (threads, processes or boxes on PostgreSQL) cannot both succeed.
- No card or account is ever locked for good by wrong PINs: the throttles back off and leak
  (``throttle``; the serial's bucket counts a card's wrong PINs).  A wrong PIN writes nothing
  more than the throttles, so a known and an unknown serial cost the same (a write only for
  the known one would show in the commit time).  ``unblock_card`` clears every throttle on
  the serial (and the ``failures`` column of the first version).
"""
from __future__ import annotations

import csv
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from confcall.store.engine import rowcount as _count
from confcall.store.models import Account, Card, CardBatch, table_of

from . import secrets_, throttle
from .accounts import throttle_refusal
from .errors import MoneyError
from .ledger import Posting, check_amount, post

__all__ = [
    "MAX_BATCH",
    "CardView",
    "PreparedCard",
    "activate_batch",
    "begin_redeem",
    "card_buckets",
    "expire_cards",
    "finish_redeem",
    "generate_batch",
    "luhn_digit",
    "new_serial",
    "open_print_file",
    "prepare_cards",
    "unblock_card",
    "valid_serial",
    "void_batch",
    "void_card",
    "write_print_file",
]

PIN_DIGITS = 12
SERIAL_DIGITS = 16  # 15 random + Luhn
LEGACY_SERIAL_DIGITS = 12  # batch + sequence + Luhn (before issue 14)
MAX_BATCH = 100_000


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


def valid_serial(serial: object) -> bool:
    return isinstance(serial, str) and len(serial) in (SERIAL_DIGITS, LEGACY_SERIAL_DIGITS) \
        and serial.isascii() and serial.isdigit() and luhn_digit(serial[:-1]) == serial[-1]


def new_serial() -> str:
    """15 CSPRNG digits (first non-zero, so it never looks shorter) + Luhn digit."""
    body = str(secrets.randbelow(9) + 1) + "".join(secrets.choice("0123456789")
                                                  for _ in range(SERIAL_DIGITS - 2))
    return body + luhn_digit(body)


@dataclass(frozen=True)
class PreparedCard:
    serial: str
    pin: str
    pin_hash: str


def prepare_cards(count: int, taken: frozenset[str] = frozenset()) -> list[PreparedCard]:
    """``count`` new (serial, PIN, hash) — argon2 work, so call it with no transaction open.
    The hashes are computed on one thread per core (argon2 releases the GIL)."""
    if type(count) is not int or not 1 <= count <= MAX_BATCH:
        raise MoneyError("card.batch_count", high=MAX_BATCH, value=count)
    pairs: list[tuple[str, str]] = []
    seen = set(taken)
    while len(pairs) < count:
        serial = new_serial()
        if serial in seen:
            continue
        seen.add(serial)
        pairs.append((serial, "".join(secrets.choice("0123456789")
                                      for _ in range(PIN_DIGITS))))
    workers = min(os.cpu_count() or 1, 8, max(1, count // 64))
    if workers == 1:
        hashes = [secrets_.card_pin_hash(serial, pin) for serial, pin in pairs]
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="card-hash") as ex:
            hashes = list(ex.map(lambda p: secrets_.card_pin_hash(*p), pairs, chunksize=64))
    return [PreparedCard(s, p, h) for (s, p), h in zip(pairs, hashes, strict=True)]


def check_batch(label: object, count: object, value_fen: object, expires_at: datetime,
                now: datetime) -> None:
    """Refuse a bad batch before any work (names the field and the rule)."""
    check_amount(value_fen)
    if type(count) is not int or not 1 <= count <= MAX_BATCH:
        raise MoneyError("card.batch_count", high=MAX_BATCH, value=count)
    if expires_at <= now:
        raise MoneyError("card.expiry", expires=expires_at.isoformat())
    if not isinstance(label, str) or not label.strip() or len(label) > 120 or \
            not label.isprintable():
        raise MoneyError("card.label")


def generate_batch(session: Session, label: str, count: int, value_fen: int,
                   expires_at: datetime, now: datetime,
                   prepared: list[PreparedCard] | None = None
                   ) -> tuple[CardBatch, list[tuple[str, str]]] | set[str]:
    """Create ``count`` cards from ``prepared`` (``prepare_cards``; made here if None);
    returns the batch and the only copy of (serial, PIN) pairs — or the set of serials that
    already exist (astronomically rare: the caller prepares replacements and retries)."""
    check_batch(label, count, value_fen, expires_at, now)
    if prepared is None:
        prepared = prepare_cards(count)
    if len(prepared) != count:
        raise MoneyError("card.batch_count", high=MAX_BATCH, value=len(prepared))
    serials = [p.serial for p in prepared]
    clash: set[str] = set()
    for i in range(0, len(serials), 900):
        clash.update(session.scalars(select(Card.serial)
                                     .where(Card.serial.in_(serials[i:i + 900]))))
    if clash:
        return clash
    batch = CardBatch(label=label, value_fen=value_fen, count=count, expires_at=expires_at,
                      created_at=now, exported_at=now)
    session.add(batch)
    session.flush()
    rows = [{"batch_id": batch.id, "serial": p.serial, "pin_hash": p.pin_hash,
             "state": "generated", "value_fen": value_fen, "expires_at": expires_at,
             "failures": 0} for p in prepared]
    for i in range(0, len(rows), 5000):
        session.execute(table_of(Card).insert(), rows[i:i + 5000])
    return batch, [(p.serial, p.pin) for p in prepared]


PRINT_HEADER = ["serial", "pin", "value_fen", "expires_utc", "batch", "label"]


def open_print_file(path: str) -> IO[str]:
    """Create the printer's CSV *before* the batch is committed (a new file, never
    overwritten, owner-only), so an unwritable path refuses the batch instead of leaving
    cards whose PINs exist nowhere.  OSError is the caller's to report."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "w", newline="", encoding="utf-8")


def write_print_file(path: str | IO[str], batch: CardBatch,
                     printed: list[tuple[str, str]]) -> None:
    """Write the printer's CSV once (to a path, or a file from ``open_print_file``)."""
    f = open_print_file(path) if isinstance(path, str) else path
    with f:
        w = csv.writer(f)
        w.writerow(PRINT_HEADER)
        for serial, pin in printed:
            w.writerow([serial, pin, batch.value_fen, batch.expires_at.isoformat(), batch.id,
                        batch.label])
        f.flush()
        os.fsync(f.fileno())


def _batch(session: Session, batch_id: int) -> CardBatch:
    if type(batch_id) is not int or not 1 <= batch_id <= 2**31 - 1:  # no overflow in SQL
        raise MoneyError("card.batch_unknown", batch=batch_id)
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


def unblock_card(session: Session, serial: str) -> list[str]:
    """Clear the card's wrong-PIN count and every throttle on its serial; returns what was
    cleared (``failures=N``, throttle keys), each of which is really clear afterwards."""
    card = _card(session, serial)
    cleared = [f"failures={card.failures}"] if card.failures else []
    card.failures = 0
    keys = [f"card:to:{serial}"]
    cleared += throttle.clear(session, keys)
    session.flush()
    return cleared


def expire_cards(session: Session, now: datetime) -> int:
    return _count(session, update(Card).where(Card.expires_at <= now,
                                              Card.state.in_(("generated", "active")))
                           .values(state="expired"))


def card_buckets(serial: str, source: str) -> list[throttle.Bucket]:
    """A card try counts in the source's card throttle and the serial's (typed, known or
    not: an unknown serial is throttled like a known one)."""
    return [throttle.Bucket(f"card:src:{source}", throttle.SOURCE),
            throttle.Bucket(f"card:to:{serial}", throttle.TARGET)]


@dataclass(frozen=True)
class CardView:
    id: int
    serial: str
    pin_hash: str


def begin_redeem(session: Session, e164: str, serial: str, source: str, now: datetime
                 ) -> tuple[throttle.Ticket, CardView | None] | MoneyError:
    """Count the try (refused while a throttle is blocked), then the card's hash (None:
    no such serial).  Nothing here differs between a known and an unknown serial."""
    got = throttle.attempt(session, card_buckets(serial, source), now)
    if isinstance(got, throttle.Refused):
        return throttle_refusal(got, "card.account_locked", e164)
    card = session.scalar(select(Card).where(Card.serial == serial)
                          .execution_options(populate_existing=True))
    return got, None if card is None else CardView(card.id, card.serial, card.pin_hash)


def finish_redeem(session: Session, e164: str, card: CardView, ticket: throttle.Ticket,
                  now: datetime) -> Posting | MoneyError:
    """The PIN was right: credit ``e164`` with the card if it is still active and unexpired.
    Returns the posting or the refusal (after writing what must be kept)."""
    throttle.succeeded(session, ticket, now)
    row = session.scalar(select(Card).where(Card.id == card.id)
                         .execution_options(populate_existing=True))
    assert row is not None
    if row.state != "active":
        return MoneyError("card.state", serial=row.serial, state=row.state)
    if row.expires_at <= now:
        session.execute(update(Card).where(Card.id == row.id, Card.state == "active")
                        .values(state="expired"))
        return MoneyError("card.expired", serial=row.serial,
                          expires=f"{row.expires_at:%Y-%m-%d}")
    account = session.scalar(select(Account).where(Account.number == e164)
                             .execution_options(populate_existing=True))
    if account is None:
        return MoneyError("account.unknown", number=e164)
    if account.status != "active":
        return MoneyError("account.locked", number=account.number)
    claimed = session.execute(update(Card).where(Card.id == row.id, Card.state == "active")
                              .values(state="used", used_at=now, used_by=account.id)
                              .returning(Card.id)).first()
    if claimed is None:  # somebody redeemed it between our read and our update
        return MoneyError("card.state", serial=row.serial, state="used")
    return post(session, account.id, "recharge", row.value_fen, f"card:{row.serial}", now,
                actor=account.number, note=f"card {row.serial} batch {row.batch_id}",
                card_id=row.id)
