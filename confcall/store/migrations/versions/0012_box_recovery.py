"""Records that survive the box: which box a leg and a credit hold belong to, and when a leg
was last known alive.

``call_legs.box`` and ``reservations.box`` (the ``[box] id`` that wrote them) let a box that
restarts find its own unfinished legs and holds and no other box's; ``call_legs.alive_at`` is
the leg's last interim "alive at" time, where a leg lost with the box is closed;
``call_legs.end_reason`` says why a leg was closed by the box rather than by signalling
("box restart").

Revision ID: 0012
Revises: 0014
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

from confcall.store.types import UTCDateTime

revision = "0012"
down_revision = "0014"  # migrations are chained in the order they were merged (allotted after 0007)
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN only (no table rebuild on SQLite); rows written before have no box: no box
    # claims them at restart, the operator's `account release-holds` still does
    op.add_column("call_legs", sa.Column("box", sa.String(32), nullable=True))
    op.add_column("call_legs", sa.Column("alive_at", UTCDateTime, nullable=True))
    op.add_column("call_legs", sa.Column("end_reason", sa.String(16), nullable=True))
    op.create_index("ix_call_legs_box_open", "call_legs", ["box", "ended_at"])
    op.add_column("reservations", sa.Column("box", sa.String(32), nullable=True))
    op.create_index("ix_reservations_box_state", "reservations", ["box", "state"])


def downgrade() -> None:
    op.drop_index("ix_reservations_box_state", table_name="reservations")
    with op.batch_alter_table("reservations") as t:
        t.drop_column("box")
    op.drop_index("ix_call_legs_box_open", table_name="call_legs")
    with op.batch_alter_table("call_legs") as t:
        t.drop_column("end_reason")
        t.drop_column("alive_at")
        t.drop_column("box")
