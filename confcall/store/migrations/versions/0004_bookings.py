"""Booked conferences and phone-mode callbacks as rows, with a lease and every dial attempt.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from confcall.store.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STATES = ("booked", "claimed", "dialing", "in_progress", "done", "failed", "cancelled",
          "missed")
RESULTS = ("answered", "busy", "no_answer", "congestion", "failed", "refused", "lost")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("initiator", sa.String(20), nullable=False),
        sa.Column("initiator_dial", sa.String(32), nullable=False),
        sa.Column("start_at", UTCDateTime, nullable=False),
        sa.Column("ends_at", UTCDateTime, nullable=False),
        sa.Column("expected_s", sa.Integer, nullable=False),
        sa.Column("expected_fen", sa.BigInteger, nullable=False),
        sa.Column("retries", sa.Integer, nullable=False),
        sa.Column("retry_interval_s", sa.Integer, nullable=False),
        sa.Column("music", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("lease_box", sa.String(32), nullable=True),
        sa.Column("lease_until", UTCDateTime, nullable=True),
        sa.Column("takeovers", sa.Integer, nullable=False),
        sa.Column("conference_ref", sa.String(120), nullable=True),
        sa.Column("outcome", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=True),
        sa.Column("ended_at", UTCDateTime, nullable=True),
        sa.UniqueConstraint("reference"),
        sa.CheckConstraint(f"state IN ({_in(STATES)})", name="state"),
        sa.CheckConstraint("kind IN ('conference', 'callback')", name="kind"),
        sa.CheckConstraint("retries >= 0 AND retry_interval_s > 0", name="retries"),
    )
    op.create_index("ix_bookings_state_start", "bookings", ["state", "start_at"])
    op.create_index("ix_bookings_state_lease", "bookings", ["state", "lease_until"])
    op.create_index("ix_bookings_account_start", "bookings", ["account_id", "start_at"])
    op.create_index("ix_bookings_kind_initiator", "bookings", ["kind", "initiator",
                                                              "created_at"])
    op.create_table(
        "booking_participants",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("booking_id", sa.Integer,
                  sa.ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("dial", sa.String(32), nullable=False),
        sa.UniqueConstraint("booking_id", "position", name="uq_booking_participants_key"),
    )
    op.create_table(
        "booking_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(120), nullable=False),
        sa.Column("booking_id", sa.Integer,
                  sa.ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("attempt_no", sa.Integer, nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("box", sa.String(32), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("answered_at", UTCDateTime, nullable=True),
        sa.Column("ended_at", UTCDateTime, nullable=True),
        sa.Column("result", sa.String(12), nullable=True),
        sa.Column("cause", sa.Integer, nullable=True),
        sa.UniqueConstraint("reference"),
        sa.UniqueConstraint("booking_id", "position", "attempt_no",
                            name="uq_booking_attempts_key"),
        sa.CheckConstraint(f"result IS NULL OR result IN ({_in(RESULTS)})", name="result"),
        sa.CheckConstraint("attempt_no >= 1 AND position >= 0", name="numbers"),
    )


def downgrade() -> None:
    op.drop_table("booking_attempts")
    op.drop_table("booking_participants")
    op.drop_index("ix_bookings_kind_initiator", table_name="bookings")
    op.drop_index("ix_bookings_account_start", table_name="bookings")
    op.drop_index("ix_bookings_state_lease", table_name="bookings")
    op.drop_index("ix_bookings_state_start", table_name="bookings")
    op.drop_table("bookings")
