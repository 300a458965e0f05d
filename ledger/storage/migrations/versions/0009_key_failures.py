"""Key failures: refused attempts per API key (wrong use codes, unknown identifiers), counted across API workers for
the lockout of ``ledger.holders.attempts``.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key_prefix", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_failures")),
    )
    op.create_index("ix_key_failures_key_prefix_kind_at", "key_failures", ["key_prefix", "kind", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_key_failures_key_prefix_kind_at", table_name="key_failures")
    op.drop_table("key_failures")
