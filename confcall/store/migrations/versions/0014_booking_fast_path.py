"""The booking write path: a generation counter for the reference data (areas, number rules,
rate plans and rates) kept by triggers, and an index for the credit check.

Why: a booking classifies every number and prices every leg; the tables behind that change a
few times a year, yet they cost a dozen statements per booking.  The booking service caches
them per process and reads one counter per booking to know whether its cache is still good.
Triggers bump the counter on every change of those tables, whoever makes it (the CLI, another
box, an operator with a SQL shell), in the same transaction as the change.

Revision ID: 0014
Revises: 0007
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0007"  # migrations are chained in the order they were merged
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
    # the credit check sums the account's not-yet-started bookings: (account, state) finds
    # them without reading the account's past ones; expected_fen makes it covering
    op.create_index("ix_bookings_account_state", "bookings",
                    ["account_id", "state", "expected_fen"])
    bump = "UPDATE reference_generation SET generation = generation + 1 WHERE id = 1"
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION confcall_bump_reference_generation() RETURNS trigger "
                   f"LANGUAGE plpgsql AS $$ BEGIN {bump}; RETURN NULL; END $$")
        for table in WATCHED:
            op.execute(f"CREATE TRIGGER {table}_generation AFTER INSERT OR UPDATE OR DELETE "
                       f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                       "EXECUTE PROCEDURE confcall_bump_reference_generation()")
    else:
        for table in WATCHED:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_generation_{event.lower()} AFTER {event} "
                           f"ON {table} BEGIN {bump}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER {table}_generation ON {table}")
        op.execute("DROP FUNCTION confcall_bump_reference_generation()")
    else:
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_generation_{event}")
    op.drop_index("ix_bookings_account_state", "bookings")
    op.drop_table("reference_generation")
