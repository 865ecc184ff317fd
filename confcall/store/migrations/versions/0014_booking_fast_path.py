"""The booking write path: a generation counter for the reference data (areas, number rules,
rate plans and rates) kept by triggers, the longest booking kept by a trigger, and an index for
the credit check.

Why: a booking classifies every number and prices every leg; the tables behind that change a
few times a year, yet they cost a dozen statements per booking.  The booking service caches
them per process and reads one counter per booking to know whether its cache is still good.
Triggers bump the counter on every change of those tables, whoever makes it (the CLI, another
box, an operator with a SQL shell), in the same transaction as the change.

The longest booking (``booking_horizon.longest_s``, seconds from start_at to ends_at, never
lowered): the capacity check reads only the bookings that started at most that long before a
new one, which is exact (an earlier one cannot reach into the new window) and, with the usual
30-minute bookings, reads a handful of rows instead of every booking held.

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0010"  # migrations are chained in the order they were merged
branch_labels = None
depends_on = None

WATCHED = ("area_prefixes", "number_rules", "rate_plans", "rates")


def upgrade() -> None:
    op.create_table(
        "reference_generation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("generation", sa.BigInteger, nullable=False),
        sa.CheckConstraint("id = 1", name="single_row"),
    )
    op.execute("INSERT INTO reference_generation (id, generation) VALUES (1, 1)")
    op.create_table(
        "booking_horizon",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("longest_s", sa.BigInteger, nullable=False),
        sa.CheckConstraint("id = 1", name="single_row"),
    )
    op.execute("INSERT INTO booking_horizon (id, longest_s) "
               "SELECT 1, 0" + _longest_existing(op.get_bind().dialect.name))
    # the credit check sums the account's not-yet-started bookings: (account, state) finds
    # them without reading the account's past ones; expected_fen makes it covering
    op.create_index("ix_bookings_account_state", "bookings",
                    ["account_id", "state", "expected_fen"])
    pg = op.get_bind().dialect.name == "postgresql"
    length = _length("NEW.", pg)
    stretch = (f"UPDATE booking_horizon SET longest_s = {length} "
               f"WHERE id = 1 AND longest_s < {length}")
    bump = "UPDATE reference_generation SET generation = generation + 1 WHERE id = 1"
    if pg:
        op.execute("CREATE FUNCTION confcall_stretch_booking_horizon() RETURNS trigger "
                   f"LANGUAGE plpgsql AS $$ BEGIN {stretch}; RETURN NULL; END $$")
        op.execute("CREATE TRIGGER bookings_horizon AFTER INSERT OR UPDATE OF start_at, ends_at "
                   "ON bookings FOR EACH ROW "
                   "EXECUTE PROCEDURE confcall_stretch_booking_horizon()")
        op.execute("CREATE FUNCTION confcall_bump_reference_generation() RETURNS trigger "
                   f"LANGUAGE plpgsql AS $$ BEGIN {bump}; RETURN NULL; END $$")
        for table in WATCHED:
            op.execute(f"CREATE TRIGGER {table}_generation AFTER INSERT OR UPDATE OR DELETE "
                       f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                       "EXECUTE PROCEDURE confcall_bump_reference_generation()")
    else:
        for event in ("INSERT", "UPDATE OF start_at, ends_at"):
            op.execute(f"CREATE TRIGGER bookings_horizon_{event.split()[0].lower()} "
                       f"AFTER {event} ON bookings BEGIN {stretch}; END")
        for table in WATCHED:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_generation_{event.lower()} AFTER {event} "
                           f"ON {table} BEGIN {bump}; END")


def _length(row: str, pg: bool) -> str:
    """Seconds from ``start_at`` to ``ends_at``, rounded up (one second of slack on SQLite,
    whose julianday() is a float)."""
    if pg:
        return f"CAST(CEIL(EXTRACT(EPOCH FROM ({row}ends_at - {row}start_at))) AS BIGINT)"
    return (f"(CAST(ROUND((julianday({row}ends_at) - julianday({row}start_at)) * 86400) "
            "AS INTEGER) + 1)")


def _longest_existing(dialect: str) -> str:
    """The longest booking already stored (an upgrade of a box with bookings)."""
    return f" + COALESCE((SELECT MAX({_length('', dialect == 'postgresql')}) FROM bookings), 0)"


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER {table}_generation ON {table}")
        op.execute("DROP FUNCTION confcall_bump_reference_generation()")
        op.execute("DROP TRIGGER bookings_horizon ON bookings")
        op.execute("DROP FUNCTION confcall_stretch_booking_horizon()")
    else:
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER bookings_horizon_{event}")
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_generation_{event}")
    op.drop_index("ix_bookings_account_state", "bookings")
    op.drop_table("booking_horizon")
    op.drop_table("reference_generation")
