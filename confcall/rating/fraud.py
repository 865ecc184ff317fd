"""Toll-fraud guards checked when a leg is authorised (issue 14 item 7).

A stolen PIN or a compromised web session turns a conference box into a free phone for
whoever holds it: many conferences at once, to expensive destinations, for hours.  Carriers
expect three guards besides the destination blocklist (``numbers``: operator rules by national
prefix or, for any country, by ``+``-prefix; premium rate; emergency codes):

- **concurrent conferences per account**: at most ``max_conferences`` conferences holding
  credit at the same time (default ``DEFAULT_MAX_CONFERENCES``);
- **spend velocity per account**: what its legs cost in the last hour plus what its legs in
  flight (the new one included) cost per hour at their held rate, at most
  ``spend_per_hour_fen`` (default ``DEFAULT_SPEND_PER_HOUR_FEN``) — whatever the balance or
  carrier limit would allow;
- **callback storm per number, across the box** (and every box on the same database): legs
  dialled to one destination are counted in a leaky bucket (``CALLBACK``: 30 at once, then
  one every 10 s), so nobody can make the boxes ring a victim's phone (or a premium line) in
  a loop, from however many accounts.

Per-account values live in ``account_limits`` (``confcall account limits``); no row means the
defaults.  All checks run inside ``credit.authorize_leg``'s transaction right after the leg's hold
(whose UPDATE locks the account row on PostgreSQL; SQLite serialises writers), so racing legs
cannot both pass; a refusal rolls the hold back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from confcall.store.models import Account, AccountLimit, Conference, Leg, Reservation

from . import throttle, validate
from .errors import MoneyError

__all__ = [
    "CALLBACK",
    "DEFAULT_MAX_CONFERENCES",
    "DEFAULT_SPEND_PER_HOUR_FEN",
    "Limits",
    "check_new_leg",
    "configure",
    "limits_of",
    "set_limits",
]

DEFAULT_MAX_CONFERENCES = 5
DEFAULT_SPEND_PER_HOUR_FEN = 300_000  # 3,000 yuan an hour: ten international legs at full rate
MAX_CONFERENCES_LIMIT = 1000
MAX_SPEND_PER_HOUR_LIMIT = 100_000_000
# a busy number (a company's switchboard) may be in many conferences of a busy hour; a storm
# is more than that: 30 at once, then one every 10 s at most (≤ 390 in an hour)
CALLBACK = throttle.Rule(burst=30, leak_s=10, base_s=60, cap_s=3600)


@dataclass(frozen=True)
class Limits:
    number: str
    max_conferences: int
    spend_per_hour_fen: int
    custom: bool  # an account_limits row (else the box defaults)


def configure(max_conferences: int = 5, spend_per_hour_fen: int = 300_000,
              callbacks_per_number: int = 30) -> None:
    """The box's defaults (``[fraud]`` in the config file; validated there)."""
    global DEFAULT_MAX_CONFERENCES, DEFAULT_SPEND_PER_HOUR_FEN, CALLBACK
    DEFAULT_MAX_CONFERENCES, DEFAULT_SPEND_PER_HOUR_FEN = max_conferences, spend_per_hour_fen
    CALLBACK = throttle.Rule(burst=callbacks_per_number, leak_s=10, base_s=60, cap_s=3600)


def limits_of(session: Session, account: Account) -> Limits:
    row = session.get(AccountLimit, account.id)
    return Limits(
        account.number,
        DEFAULT_MAX_CONFERENCES if row is None or row.max_conferences is None
        else row.max_conferences,
        DEFAULT_SPEND_PER_HOUR_FEN if row is None or row.spend_per_hour_fen is None
        else row.spend_per_hour_fen,
        row is not None)


def set_limits(session: Session, account: Account, max_conferences: int | None,
               spend_per_hour_fen: int | None) -> Limits:
    """Set (None: back to the default) an account's limits."""
    if max_conferences is not None:
        validate.int_range("--max-conferences", max_conferences, 1, MAX_CONFERENCES_LIMIT)
    if spend_per_hour_fen is not None:
        validate.int_range("--spend-per-hour", spend_per_hour_fen, 0, MAX_SPEND_PER_HOUR_LIMIT)
    row = session.get(AccountLimit, account.id)
    if max_conferences is None and spend_per_hour_fen is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(AccountLimit(account_id=account.id, max_conferences=max_conferences,
                                 spend_per_hour_fen=spend_per_hour_fen))
    else:
        row.max_conferences, row.spend_per_hour_fen = max_conferences, spend_per_hour_fen
    session.flush()
    return limits_of(session, account)


def _lock(session: Session, account: Account) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Account.id).where(Account.id == account.id).with_for_update())


def _hourly(amount_fen: int, granted_s: int) -> int:
    """What a leg holding ``amount_fen`` for ``granted_s`` seconds costs per hour at that
    rate (a week-long hold is not a week's spend in this hour)."""
    if granted_s <= 0:
        return amount_fen
    return -(-amount_fen * 3600 // granted_s)


def check_new_leg(session: Session, account: Account, conference_ref: str, destination: str,
                  amount_fen: int, granted_s: int, now: datetime) -> None:
    """Raise ``fraud.*`` if a new leg of ``conference_ref`` to ``destination`` holding
    ``amount_fen`` for ``granted_s`` would break a limit; else count the callback to
    ``destination``.  Velocity = what the account's legs cost in the last hour + what its
    legs in flight (this one included) cost per hour."""
    _lock(session, account)
    lim = limits_of(session, account)
    others = set(session.scalars(
        select(Reservation.conference_ref).where(Reservation.account_id == account.id,
                                                 Reservation.state == "held")))
    if conference_ref not in others and len(others) >= lim.max_conferences:
        raise MoneyError("fraud.conferences", number=account.number, limit=lim.max_conferences)
    holds = session.execute(select(Reservation.amount_fen, Reservation.granted_s)
                            .where(Reservation.account_id == account.id,
                                   Reservation.state == "held")).all()
    burning = sum(_hourly(a, g) for a, g in holds)
    spent = int(session.scalar(select(func.coalesce(func.sum(Leg.amount_fen), 0))
                               .join(Conference, Leg.conference_id == Conference.id)
                               .where(Conference.account_id == account.id,
                                      Leg.started_at >= now - timedelta(hours=1))) or 0)
    if spent + burning + _hourly(amount_fen, granted_s) > lim.spend_per_hour_fen:
        raise MoneyError("fraud.velocity", number=account.number, limit=lim.spend_per_hour_fen,
                         spent=spent + burning)
    got = throttle.attempt(session, [throttle.Bucket(f"callback:to:{destination}", CALLBACK)],
                           now)
    if isinstance(got, throttle.Refused):
        raise MoneyError("fraud.callback_storm", number=destination,
                         until=f"{got.until:%Y-%m-%d %H:%M:%S} UTC")
