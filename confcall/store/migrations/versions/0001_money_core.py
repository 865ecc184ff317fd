"""Money core: accounts, ledger, areas, number rules, rate plans, rates, cards, CDRs.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

from confcall.store.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_plans",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("utc_offset_minutes", sa.Integer, nullable=False),
        sa.Column("rounding", sa.String(8), nullable=False),
        sa.CheckConstraint("rounding IN ('up', 'half_up', 'down')", name="rounding"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("home_area", sa.String(8), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("pin_hash", sa.String(200), nullable=False),
        sa.Column("balance_fen", sa.BigInteger, nullable=False),
        sa.Column("reserved_fen", sa.BigInteger, nullable=False),
        sa.Column("plan_id", sa.Integer, sa.ForeignKey("rate_plans.id"), nullable=True),
        sa.Column("pin_failures", sa.Integer, nullable=False),
        sa.Column("pin_locked_until", UTCDateTime, nullable=True),
        sa.Column("card_failures", sa.Integer, nullable=False),
        sa.Column("card_locked_until", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("balance_fen >= 0", name="balance_nonneg"),
        sa.CheckConstraint("reserved_fen >= 0", name="reserved_nonneg"),
        sa.CheckConstraint("status IN ('active', 'locked')", name="status"),
        sa.UniqueConstraint("number"),
    )
    op.create_table(
        "card_batches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("label", sa.String(120), nullable=False),
        sa.Column("value_fen", sa.BigInteger, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("exported_at", UTCDateTime, nullable=True),
    )
    op.create_table(
        "cards",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("batch_id", sa.Integer, sa.ForeignKey("card_batches.id"), nullable=False),
        sa.Column("serial", sa.String(24), nullable=False),
        sa.Column("pin_hash", sa.String(128), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("value_fen", sa.BigInteger, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("used_at", UTCDateTime, nullable=True),
        sa.Column("used_by", sa.Integer, sa.ForeignKey("accounts.id"), nullable=True),
        sa.CheckConstraint("state IN ('generated', 'active', 'used', 'void', 'expired')",
                           name="state"),
        sa.CheckConstraint("value_fen > 0", name="value_pos"),
        sa.UniqueConstraint("serial"),
    )
    op.create_table(
        "conferences",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(120), nullable=False),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("ended_at", UTCDateTime, nullable=True),
        sa.Column("total_fen", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("reference"),
    )
    op.create_table(
        "ledger",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("balance_after_fen", sa.BigInteger, nullable=False),
        sa.Column("reference", sa.String(120), nullable=False),
        sa.Column("card_id", sa.Integer, sa.ForeignKey("cards.id"), nullable=True),
        sa.Column("conference_id", sa.Integer, sa.ForeignKey("conferences.id"), nullable=True),
        sa.Column("actor", sa.String(60), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("kind IN ('recharge', 'debit', 'refund', 'adjustment')",
                           name="kind"),
        sa.UniqueConstraint("reference"),
    )
    op.create_index("ix_ledger_account_time", "ledger", ["account_id", "created_at"])
    op.create_table(
        "area_prefixes",
        sa.Column("prefix", sa.String(16), primary_key=True),
        sa.Column("area", sa.String(8), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
    )
    op.create_table(
        "number_rules",
        sa.Column("prefix", sa.String(16), primary_key=True),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(120), nullable=False),
        sa.CheckConstraint("action IN ('block', 'free')", name="action"),
    )
    op.create_table(
        "rates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("plan_id", sa.Integer, sa.ForeignKey("rate_plans.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("match", sa.String(24), nullable=False),
        sa.Column("days", sa.String(7), nullable=False),
        sa.Column("start_minute", sa.Integer, nullable=False),
        sa.Column("end_minute", sa.Integer, nullable=False),
        sa.Column("price_per_min_fen", sa.BigInteger, nullable=False),
        sa.Column("initial_s", sa.Integer, nullable=False),
        sa.Column("subsequent_s", sa.Integer, nullable=False),
        sa.Column("connect_fee_fen", sa.BigInteger, nullable=False),
        sa.Column("min_charge_fen", sa.BigInteger, nullable=False),
        sa.Column("free_seconds", sa.Integer, nullable=False),
        sa.UniqueConstraint("plan_id", "match", "days", "start_minute", name="uq_rates_key"),
        sa.CheckConstraint("price_per_min_fen >= 0 AND connect_fee_fen >= 0 AND "
                           "min_charge_fen >= 0 AND free_seconds >= 0", name="nonneg"),
        sa.CheckConstraint("initial_s > 0 AND subsequent_s > 0", name="increments"),
        sa.CheckConstraint("start_minute >= 0 AND end_minute <= 1440 AND "
                           "start_minute < end_minute", name="window"),
    )
    op.create_table(
        "legs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(120), nullable=False),
        sa.Column("conference_id", sa.Integer, sa.ForeignKey("conferences.id"), nullable=False),
        sa.Column("destination", sa.String(20), nullable=False),
        sa.Column("number_class", sa.String(24), nullable=False),
        sa.Column("area", sa.String(8), nullable=True),
        sa.Column("area_known", sa.Boolean, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("answered_at", UTCDateTime, nullable=True),
        sa.Column("ended_at", UTCDateTime, nullable=False),
        sa.Column("duration_s", sa.Integer, nullable=False),
        sa.Column("billed_s", sa.Integer, nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("rate_id", sa.Integer, sa.ForeignKey("rates.id"), nullable=True),
        sa.UniqueConstraint("reference"),
    )


def downgrade() -> None:
    for table in ("legs", "rates", "number_rules", "area_prefixes"):
        op.drop_table(table)
    op.drop_index("ix_ledger_account_time", table_name="ledger")
    for table in ("ledger", "conferences", "cards", "card_batches", "accounts", "rate_plans"):
        op.drop_table(table)
