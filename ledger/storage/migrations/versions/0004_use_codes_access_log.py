"""Use codes (用证码) and the access log of certificate uses at counters (anchored like certificates).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "use_codes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("holder_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_use_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_use_codes_code_hash")),
    )
    op.create_index(op.f("ix_use_codes_holder_key"), "use_codes", ["holder_key"], unique=False)
    op.create_table(
        "access_log",
        sa.Column("id", _ID, nullable=False),
        sa.Column("intake_id", sa.String(length=32), nullable=False),
        sa.Column("counter_org_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("service_item_code", sa.String(length=40), nullable=False),
        sa.Column("case_number", sa.String(length=64), nullable=False),
        sa.Column("holder_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("certificates", JSON, nullable=False),
        sa.Column("use_code_id", _ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("leaf", sa.LargeBinary(length=32), nullable=False),
        sa.Column("batch_id", _ID, nullable=True),
        sa.Column("leaf_index", sa.Integer(), nullable=True),
        sa.Column("proof", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_access_log_batch_id_batches")),
        sa.ForeignKeyConstraint(["counter_org_id"], ["organizations.id"],
                                name=op.f("fk_access_log_counter_org_id_organizations")),
        sa.ForeignKeyConstraint(["use_code_id"], ["use_codes.id"], name=op.f("fk_access_log_use_code_id_use_codes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
        sa.UniqueConstraint("intake_id", name=op.f("uq_access_log_intake_id")),
        sa.UniqueConstraint("use_code_id", name=op.f("uq_access_log_use_code_id")),
    )
    op.create_index(op.f("ix_access_log_batch_id"), "access_log", ["batch_id"], unique=False)
    op.create_index(op.f("ix_access_log_counter_org_id"), "access_log", ["counter_org_id"], unique=False)
    op.create_index(op.f("ix_access_log_holder_key"), "access_log", ["holder_key"], unique=False)


def downgrade() -> None:
    op.drop_table("access_log")
    op.drop_index(op.f("ix_use_codes_holder_key"), table_name="use_codes")
    op.drop_table("use_codes")
