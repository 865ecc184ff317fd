"""SQLAlchemy 2 models of the money side.  Amounts are integer fen (BigInteger), times UTC.

The schema itself is created by the Alembic migrations in ``migrations/``; a test checks
that these models and the migrated schema agree.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import UTCDateTime

__all__ = [
    "Account",
    "AcctRecord",
    "AreaPrefix",
    "AuditEntry",
    "Base",
    "BilledLeg",
    "BookingHorizon",
    "BoxSeen",
    "Card",
    "CardBatch",
    "CdrFile",
    "Conference",
    "LedgerEntry",
    "Leg",
    "NumberRule",
    "Operator",
    "Rate",
    "RatePlan",
    "ReferenceGeneration",
    "Reservation",
    "WebSession",
    "table_of",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def table_of(model: type[Base]) -> Table:
    """The Core ``Table`` of a model (typed, for bulk and conditional statements)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("balance_fen >= 0", name="balance_nonneg"),
        CheckConstraint("reserved_fen >= 0", name="reserved_nonneg"),
        CheckConstraint("status IN ('active', 'locked')", name="status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # E.164
    home_area: Mapped[str] = mapped_column(String(8))  # area code without trunk 0, e.g. "10"
    status: Mapped[str] = mapped_column(String(10), default="active")
    pin_hash: Mapped[str] = mapped_column(String(200))
    balance_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("rate_plans.id"), nullable=True)
    pin_failures: Mapped[int] = mapped_column(Integer, default=0)
    pin_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    card_failures: Mapped[int] = mapped_column(Integer, default=0)
    card_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # billing (migration 0007): prepaid = our ledger; carrier = the carrier bills the
    # subscriber (no balance needed), with optional spend limits per local day and month
    billing_mode: Mapped[str] = mapped_column(String(10), default="prepaid",
                                              server_default="prepaid")
    day_limit_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    month_limit_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class LedgerEntry(Base):
    """Append-only: the migrations install triggers refusing UPDATE and DELETE."""
    __tablename__ = "ledger"
    __table_args__ = (
        CheckConstraint("kind IN ('recharge', 'debit', 'refund', 'adjustment')", name="kind"),
        Index("ix_ledger_account_time", "account_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(12))
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # signed: + credit, - debit
    balance_after_fen: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"), nullable=True)
    conference_id: Mapped[int | None] = mapped_column(ForeignKey("conferences.id"),
                                                      nullable=True)
    actor: Mapped[str] = mapped_column(String(60), default="system")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AreaPrefix(Base):
    """National-number prefix → area code.  Seeded from phonenumbers; operators edit it."""
    __tablename__ = "area_prefixes"
    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    area: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(120), default="")
    source: Mapped[str] = mapped_column(String(16), default="phonenumbers")


class NumberRule(Base):
    """Operator rules on national-number prefixes: block (premium, ...) or free."""
    __tablename__ = "number_rules"
    __table_args__ = (CheckConstraint("action IN ('block', 'free')", name="action"),)
    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    action: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(120), default="")


class RatePlan(Base):
    __tablename__ = "rate_plans"
    __table_args__ = (CheckConstraint("rounding IN ('up', 'half_up', 'down')", name="rounding"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    utc_offset_minutes: Mapped[int] = mapped_column(Integer, default=480)  # China: UTC+8
    rounding: Mapped[str] = mapped_column(String(8), default="up")


class Rate(Base):
    """One tariff row.  ``match`` is a class name (``local``...) or ``+`` digits (prefix)."""
    __tablename__ = "rates"
    __table_args__ = (
        UniqueConstraint("plan_id", "match", "days", "start_minute", name="uq_rates_key"),
        CheckConstraint("price_per_min_fen >= 0 AND connect_fee_fen >= 0 AND "
                        "min_charge_fen >= 0 AND free_seconds >= 0", name="nonneg"),
        CheckConstraint("initial_s > 0 AND subsequent_s > 0", name="increments"),
        CheckConstraint("start_minute >= 0 AND end_minute <= 1440 AND start_minute < end_minute",
                        name="window"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("rate_plans.id", ondelete="CASCADE"))
    match: Mapped[str] = mapped_column(String(24))
    days: Mapped[str] = mapped_column(String(7), default="1234567")  # ISO weekdays
    start_minute: Mapped[int] = mapped_column(Integer, default=0)  # local time of day
    end_minute: Mapped[int] = mapped_column(Integer, default=1440)
    price_per_min_fen: Mapped[int] = mapped_column(BigInteger)
    initial_s: Mapped[int] = mapped_column(Integer, default=60)
    subsequent_s: Mapped[int] = mapped_column(Integer, default=60)
    connect_fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    min_charge_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    free_seconds: Mapped[int] = mapped_column(Integer, default=0)


class Conference(Base):
    __tablename__ = "conferences"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    total_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class Leg(Base):
    """A rated CDR: one outbound leg of a conference, rated for the payer."""
    __tablename__ = "legs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id"))
    destination: Mapped[str] = mapped_column(String(20))
    number_class: Mapped[str] = mapped_column(String(24))
    area: Mapped[str | None] = mapped_column(String(8), nullable=True)
    area_known: Mapped[bool] = mapped_column(Boolean, default=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_s: Mapped[int] = mapped_column(Integer, default=0)
    billed_s: Mapped[int] = mapped_column(Integer, default=0)
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    rate_id: Mapped[int | None] = mapped_column(ForeignKey("rates.id"), nullable=True)


class CardBatch(Base):
    __tablename__ = "card_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(120))
    value_fen: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Card(Base):
    __tablename__ = "cards"
    __table_args__ = (
        CheckConstraint("state IN ('generated', 'active', 'used', 'void', 'expired')",
                        name="state"),
        CheckConstraint("value_fen > 0", name="value_pos"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("card_batches.id"))
    serial: Mapped[str] = mapped_column(String(24), unique=True)
    pin_hash: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(10), default="generated")
    value_fen: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), nullable=True)


class Reservation(Base):
    """Credit held for a leg in flight; ``accounts.reserved_fen`` is the sum of held ones."""
    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint("state IN ('held', 'settled', 'released')", name="state"),
        CheckConstraint("amount_fen >= 0", name="amount_nonneg"),
        Index("ix_reservations_box_state", "box", "state"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    conference_ref: Mapped[str] = mapped_column(String(120))
    destination: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    granted_s: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(10), default="held")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # the box that holds it (``[box] id``): at restart a box releases its own leftover holds
    box: Mapped[str | None] = mapped_column(String(32), nullable=True)


class CallLog(Base):
    """Every call leg the box handled, written when the channel is seized and completed when it
    ends — answered or not, billed or not — so a crash cannot lose a call from the record."""
    __tablename__ = "call_legs"
    __table_args__ = (
        CheckConstraint("role IN ('access', 'callback', 'participant', 'service')",
                        name="role"),
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
        Index("ix_call_legs_box_open", "box", "ended_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    conference_ref: Mapped[str] = mapped_column(String(120), index=True)
    role: Mapped[str] = mapped_column(String(12))
    direction: Mapped[str] = mapped_column(String(3))
    number: Mapped[str] = mapped_column(String(32))
    caller_id: Mapped[str] = mapped_column(String(32), default="")
    trunk: Mapped[str] = mapped_column(String(32))
    channo: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seized_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cause: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # records that survive the box (confcall/conference/recovery.py): whose leg it is, when it
    # was last known alive (interim records), and "box restart" when closed by that recovery
    box: Mapped[str | None] = mapped_column(String(32), nullable=True)
    alive_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)


# -- bookings --
# Booked conferences (web mode) and phone-mode callbacks: one row each, claimed by a box with a
# lease; every dial attempt is a row written before the dial (see confcall/booking/).

BOOKING_STATES = ("booked", "claimed", "dialing", "in_progress", "done", "failed",
                  "cancelled", "missed")
ATTEMPT_RESULTS = ("answered", "busy", "no_answer", "congestion", "failed", "refused", "lost")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Booking(Base):
    """A conference booked for a time (``kind`` conference) or a phone-mode callback request
    (``kind`` callback). ``lease_box``/``lease_until``: which box serves it, until when."""
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint(f"state IN ({_in(BOOKING_STATES)})", name="state"),
        CheckConstraint("kind IN ('conference', 'callback')", name="kind"),
        CheckConstraint("retries >= 0 AND retry_interval_s > 0", name="retries"),
        Index("ix_bookings_state_start", "state", "start_at"),
        Index("ix_bookings_state_lease", "state", "lease_until"),
        Index("ix_bookings_account_start", "account_id", "start_at"),
        Index("ix_bookings_kind_initiator", "kind", "initiator", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    initiator: Mapped[str] = mapped_column(String(20))  # E.164
    initiator_dial: Mapped[str] = mapped_column(String(32))  # as dialled on the trunk
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)  # start + expected length
    expected_s: Mapped[int] = mapped_column(Integer, default=0)
    expected_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    retry_interval_s: Mapped[int] = mapped_column(Integer, default=60)
    music: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(12), default="booked")
    lease_box: Mapped[str | None] = mapped_column(String(32), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    takeovers: Mapped[int] = mapped_column(Integer, default=0)
    conference_ref: Mapped[str | None] = mapped_column(String(120), nullable=True)
    outcome: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class BookingParticipant(Base):
    """A booked participant (``position`` 1..n; the initiator is position 0 in attempts)."""
    __tablename__ = "booking_participants"
    __table_args__ = (UniqueConstraint("booking_id", "position",
                                       name="uq_booking_participants_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(20))  # E.164
    dial: Mapped[str] = mapped_column(String(32))  # as dialled on the trunk


class BookingAttempt(Base):
    """One dial of one booked party, committed before the SETUP leaves: the unique key
    (booking, position, attempt) is what keeps two boxes from ringing a phone twice for it."""
    __tablename__ = "booking_attempts"
    __table_args__ = (
        UniqueConstraint("booking_id", "position", "attempt_no",
                         name="uq_booking_attempts_key"),
        CheckConstraint(f"result IS NULL OR result IN ({_in(ATTEMPT_RESULTS)})", name="result"),
        CheckConstraint("attempt_no >= 1 AND position >= 0", name="numbers"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # 0 = the initiator
    attempt_no: Mapped[int] = mapped_column(Integer)  # 1 = the first dial
    number: Mapped[str] = mapped_column(String(32))  # as dialled
    box: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    result: Mapped[str | None] = mapped_column(String(12), nullable=True)
    cause: Mapped[int | None] = mapped_column(Integer, nullable=True)


# -- web --
class WebSession(Base):
    """A logged-in browser or API client.  The cookie carries a random token; only its
    SHA-256 is stored, so a read of this table cannot be replayed as a login.  The CSRF token
    is a second, independent random value (never derived from the session id)."""
    __tablename__ = "web_sessions"
    __table_args__ = (CheckConstraint("kind IN ('subscriber', 'operator')", name="kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    principal: Mapped[str] = mapped_column(String(60))  # E.164 number or operator name
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Operator(Base):
    """An operator of the console: its own name and password, never a subscriber account.
    ``role``: ``admin`` (every action) or ``viewer`` (read only)."""
    __tablename__ = "operators"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'viewer')", name="role"),
        CheckConstraint("status IN ('active', 'locked')", name="status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    pw_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10), default="viewer")
    status: Mapped[str] = mapped_column(String(10), default="active")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Every operator action, written in the same transaction as the action where the action
    is one (so an action without its audit row cannot commit)."""
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_time", "created_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    operator: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(120), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(String(10), default="ok")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- billing --
class CdrFile(Base):
    """One CDR file handed to the carrier: allocated (``written_at`` NULL) in the transaction
    that assigns its records, written to disk, then marked written — so a crash in between
    re-writes the same file (same sequence number, same records) instead of losing it."""
    __tablename__ = "cdr_files"
    __table_args__ = (UniqueConstraint("box", "seq", name="uq_cdr_files_box_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    box: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    records: Mapped[int] = mapped_column(Integer)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    written_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class BilledLeg(Base):
    """One answered leg as handed to the carrier's billing (RADIUS accounting, CDR files).

    Filled in two halves that may commit in either order: the call log's end (``logged``:
    end time and cause) and the rating (``rated``: class, durations, charge).  The
    transaction that completes the pair writes the Stop record and stamps ``stopped_at``;
    from then on the row is final and goes into exactly one CDR file (``cdr_file_id``)."""
    __tablename__ = "billed_legs"
    __table_args__ = (
        CheckConstraint("billing_mode IN ('prepaid', 'carrier')", name="billing_mode"),
        Index("ix_billed_legs_box_file", "box", "cdr_file_id", "stopped_at"),
        Index("ix_billed_legs_account_time", "account", "answered_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    leg_ref: Mapped[str] = mapped_column(String(120), unique=True)
    session_id: Mapped[str] = mapped_column(String(120), unique=True)  # Acct-Session-Id
    box: Mapped[str] = mapped_column(String(32))
    conference_ref: Mapped[str] = mapped_column(String(120), index=True)
    account: Mapped[str] = mapped_column(String(20))  # the payer, E.164
    billing_mode: Mapped[str] = mapped_column(String(10))
    role: Mapped[str] = mapped_column(String(12))
    calling: Mapped[str] = mapped_column(String(32), default="")
    called: Mapped[str] = mapped_column(String(32))
    trunk: Mapped[str] = mapped_column(String(32), default="")
    channo: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seized_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    interims: Mapped[int] = mapped_column(Integer, default=0)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cause: Mapped[int | None] = mapped_column(Integer, nullable=True)
    logged: Mapped[bool] = mapped_column(Boolean, default=False)
    rated: Mapped[bool] = mapped_column(Boolean, default=False)
    destination: Mapped[str] = mapped_column(String(20), default="")
    number_class: Mapped[str] = mapped_column(String(24), default="")
    area: Mapped[str | None] = mapped_column(String(8), nullable=True)
    duration_s: Mapped[int] = mapped_column(Integer, default=0)
    billed_s: Mapped[int] = mapped_column(Integer, default=0)
    charge_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cdr_file_id: Mapped[int | None] = mapped_column(ForeignKey("cdr_files.id"), nullable=True)


class AcctRecord(Base):
    """The RADIUS accounting outbox: one Accounting-Request per row, written in the same
    transaction as the event it reports.  ``attributes`` (JSON) is fixed at write time, so a
    replay after an outage carries exactly what the first attempt carried.  ``sent_at`` is set
    once a billing server acknowledged it; until then the box's sender keeps trying."""
    __tablename__ = "acct_outbox"
    __table_args__ = (
        CheckConstraint("status IN ('start', 'interim', 'stop')", name="status"),
        Index("ix_acct_outbox_pending", "box", "sent_at", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(String(160), unique=True)  # Confcall-Record-Id
    box: Mapped[str] = mapped_column(String(32))
    session_id: Mapped[str] = mapped_column(String(120), index=True)
    status: Mapped[str] = mapped_column(String(8))
    event_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attributes: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    server: Mapped[str] = mapped_column(String(80), default="")


# -- the booking write path (migration 0014) ---------------------------------------------------

class ReferenceGeneration(Base):
    """One row: a counter that triggers bump on every change of ``area_prefixes``,
    ``number_rules``, ``rate_plans`` and ``rates``, so the booking service can cache what it
    derives from them and know, with one read, when to drop the cache."""
    __tablename__ = "reference_generation"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger)


class BookingHorizon(Base):
    """One row: the longest booking ever stored (seconds from start to end), raised by a
    trigger on ``bookings``: the capacity check reads back only that far."""
    __tablename__ = "booking_horizon"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    longest_s: Mapped[int] = mapped_column(BigInteger)


# the credit check sums an account's not-yet-started bookings (covering: no table reads)
Index("ix_bookings_account_state", Booking.account_id, Booking.state, Booking.expected_fen)


# -- security (issue 14, migration 0010): guessing throttles and toll-fraud limits -------------

class AuthThrottle(Base):
    """One leaky bucket of ``confcall.rating.throttle``: failures counted before each check of
    a secret, keyed by ``<kind>:src:<source>`` or ``<kind>:to:<target>``."""
    __tablename__ = "auth_throttles"
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    leak_at: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AccountLimit(Base):
    """Per-account toll-fraud limits (``confcall.rating.fraud``); no row: the box defaults."""
    __tablename__ = "account_limits"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    max_conferences: Mapped[int | None] = mapped_column(Integer, nullable=True)
    spend_per_hour_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


# -- the fleet (migration 0015): boxes sharing the database, and the cleanup of a dead one ------

class BoxSeen(Base):
    """One row per box (``[box] id``): when it started and was last seen alive (renewed every
    ``[fleet] heartbeat_s``), and who closed its open rows once it was not seen for ``[fleet]
    dead_after_s`` (``confcall.fleet``)."""
    __tablename__ = "boxes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    box: Mapped[str] = mapped_column(String(32), unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    reaping_by: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the claim
    reaping_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reaped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reaped_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
