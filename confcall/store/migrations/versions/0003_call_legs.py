"""The call log: every leg, written at seizure and completed at the end.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

from confcall.store.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_legs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(120), nullable=False),
        sa.Column("conference_ref", sa.String(120), nullable=False),
        sa.Column("role", sa.String(12), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("caller_id", sa.String(32), nullable=False),
        sa.Column("trunk", sa.String(32), nullable=False),
        sa.Column("channo", sa.Integer, nullable=True),
        sa.Column("seized_at", UTCDateTime, nullable=False),
        sa.Column("answered_at", UTCDateTime, nullable=True),
        sa.Column("ended_at", UTCDateTime, nullable=True),
        sa.Column("cause", sa.Integer, nullable=True),
        sa.UniqueConstraint("reference"),
        sa.CheckConstraint("role IN ('access', 'callback', 'participant', 'service')",
                           name="role"),
        sa.CheckConstraint("direction IN ('in', 'out')", name="direction"),
    )
    op.create_index("ix_call_legs_conference_ref", "call_legs", ["conference_ref"])


def downgrade() -> None:
    op.drop_index("ix_call_legs_conference_ref", table_name="call_legs")
    op.drop_table("call_legs")
