"""Billing hand-off: carrier-billed accounts, billed legs, the RADIUS outbox, CDR files.

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

from confcall.store.types import UTCDateTime

revision = "0007"
down_revision = "0008"  # migrations are chained in the order they were merged
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN (no table rebuild: SQLite would have to copy accounts under live foreign keys)
    op.add_column("accounts", sa.Column("billing_mode", sa.String(10), nullable=False,
                                        server_default="prepaid"))
    op.add_column("accounts", sa.Column("day_limit_fen", sa.BigInteger, nullable=True))
    op.add_column("accounts", sa.Column("month_limit_fen", sa.BigInteger, nullable=True))
    op.create_table(
        "cdr_files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("box", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("total_fen", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("written_at", UTCDateTime, nullable=True),
        sa.UniqueConstraint("box", "seq", name="uq_cdr_files_box_seq"),
    )
    op.create_table(
        "billed_legs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("leg_ref", sa.String(120), nullable=False),
        sa.Column("session_id", sa.String(120), nullable=False),
        sa.Column("box", sa.String(32), nullable=False),
        sa.Column("conference_ref", sa.String(120), nullable=False),
        sa.Column("account", sa.String(20), nullable=False),
        sa.Column("billing_mode", sa.String(10), nullable=False),
        sa.Column("role", sa.String(12), nullable=False),
        sa.Column("calling", sa.String(32), nullable=False),
        sa.Column("called", sa.String(32), nullable=False),
        sa.Column("trunk", sa.String(32), nullable=False),
        sa.Column("channo", sa.Integer, nullable=True),
        sa.Column("seized_at", UTCDateTime, nullable=False),
        sa.Column("answered_at", UTCDateTime, nullable=False),
        sa.Column("interims", sa.Integer, nullable=False),
        sa.Column("ended_at", UTCDateTime, nullable=True),
        sa.Column("cause", sa.Integer, nullable=True),
        sa.Column("logged", sa.Boolean, nullable=False),
        sa.Column("rated", sa.Boolean, nullable=False),
        sa.Column("destination", sa.String(20), nullable=False),
        sa.Column("number_class", sa.String(24), nullable=False),
        sa.Column("area", sa.String(8), nullable=True),
        sa.Column("duration_s", sa.Integer, nullable=False),
        sa.Column("billed_s", sa.Integer, nullable=False),
        sa.Column("charge_fen", sa.BigInteger, nullable=False),
        sa.Column("stopped_at", UTCDateTime, nullable=True),
        sa.Column("cdr_file_id", sa.Integer, sa.ForeignKey("cdr_files.id"), nullable=True),
        sa.UniqueConstraint("leg_ref"),
        sa.UniqueConstraint("session_id"),
        sa.CheckConstraint("billing_mode IN ('prepaid', 'carrier')", name="billing_mode"),
    )
    op.create_index("ix_billed_legs_box_file", "billed_legs",
                    ["box", "cdr_file_id", "stopped_at"])
    op.create_index("ix_billed_legs_account_time", "billed_legs", ["account", "answered_at"])
    op.create_index("ix_billed_legs_conference_ref", "billed_legs", ["conference_ref"])
    op.create_table(
        "acct_outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("record_id", sa.String(160), nullable=False),
        sa.Column("box", sa.String(32), nullable=False),
        sa.Column("session_id", sa.String(120), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("event_at", UTCDateTime, nullable=False),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime, nullable=True),
        sa.Column("server", sa.String(80), nullable=False),
        sa.UniqueConstraint("record_id"),
        sa.CheckConstraint("status IN ('start', 'interim', 'stop')", name="status"),
    )
    op.create_index("ix_acct_outbox_pending", "acct_outbox", ["box", "sent_at", "id"])
    op.create_index("ix_acct_outbox_session_id", "acct_outbox", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_acct_outbox_session_id", table_name="acct_outbox")
    op.drop_index("ix_acct_outbox_pending", table_name="acct_outbox")
    op.drop_table("acct_outbox")
    op.drop_index("ix_billed_legs_conference_ref", table_name="billed_legs")
    op.drop_index("ix_billed_legs_account_time", table_name="billed_legs")
    op.drop_index("ix_billed_legs_box_file", table_name="billed_legs")
    op.drop_table("billed_legs")
    op.drop_table("cdr_files")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("month_limit_fen")
        batch.drop_column("day_limit_fen")
        batch.drop_column("billing_mode")
