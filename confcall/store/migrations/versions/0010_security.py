"""Security (issue 14): guessing throttles, per-account toll-fraud limits, card PINs under
argon2id.

Existing card PIN hashes are HMAC-SHA256(pepper, "card:serial:PIN") in hex; the new scheme is
argon2id over that same HMAC, so the migration wraps each live card's stored HMAC in argon2id
without knowing any PIN or the pepper: every old card keeps working and gains the slow hash.

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

from confcall.store.types import UTCDateTime

revision = "0010"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_throttles",
        sa.Column("key", sa.String(160), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("leak_at", UTCDateTime, nullable=False),
        sa.Column("blocked_until", UTCDateTime, nullable=True),
    )
    op.create_table(
        "account_limits",
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("max_conferences", sa.Integer, nullable=True),
        sa.Column("spend_per_hour_fen", sa.BigInteger, nullable=True),
    )
    from confcall.rating import secrets_
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, pin_hash FROM cards WHERE state IN "
                                "('generated', 'active') AND pin_hash NOT LIKE '$argon2%'"))
    for card_id, old in rows.fetchall():
        conn.execute(sa.text("UPDATE cards SET pin_hash = :h WHERE id = :i"),
                     {"h": secrets_.wrap_card_hmac(old), "i": card_id})


def downgrade() -> None:
    # wrapped card hashes cannot be unwrapped; secrets_ verifies both forms, so they stay
    op.drop_table("account_limits")
    op.drop_table("auth_throttles")
