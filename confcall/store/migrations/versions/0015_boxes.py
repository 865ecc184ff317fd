"""The fleet's boxes: which box was last seen alive when, and who closed its rows once it died.

Why: several boxes share one database, and each closes only its own unfinished rows when it
starts again (``confcall.conference.recovery``). A box that dies for good would leave its call
legs, credit holds and conferences open for ever. Each box now writes its ``last_seen`` time
here every ``[fleet] heartbeat_s``; a live box that sees another not seen for ``[fleet]
dead_after_s`` closes that box's rows (``confcall.fleet``). ``reaping_by``/``reaping_until``
are the claim on that work (one reaper at a time); ``reaped_at``/``reaped_by`` what was done.

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

from confcall.store.types import UTCDateTime

revision = "0015"
down_revision = "0012"  # allotted to the fleet work; the lead re-chains at merge
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "boxes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("box", sa.String(32), nullable=False, unique=True),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("last_seen", UTCDateTime, nullable=False),
        sa.Column("reaping_by", sa.String(32), nullable=True),
        sa.Column("reaping_until", UTCDateTime, nullable=True),
        sa.Column("reaped_at", UTCDateTime, nullable=True),
        sa.Column("reaped_by", sa.String(32), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("boxes")
