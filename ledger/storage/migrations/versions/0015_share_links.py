"""Share links: a holder shows one certificate (or chosen fields of it) to anyone with the link, for a limited
time, until revoked; every opening is an access-log entry (so an entry is either an intake or an opening).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "share_links",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("holder_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("certificate_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fields", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("label", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificates.id"],
                                name=op.f("fk_share_links_certificate_id_certificates")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_share_links_token_hash")),
    )
    op.create_index(op.f("ix_share_links_holder_key"), "share_links", ["holder_key"], unique=False)
    with op.batch_alter_table("access_log") as batch:
        batch.alter_column("counter_org_id", existing_type=sa.Integer(), nullable=True)
        batch.alter_column("staff_id", existing_type=sa.String(length=64), nullable=True)
        batch.alter_column("service_item_code", existing_type=sa.String(length=40), nullable=True)
        batch.alter_column("case_number", existing_type=sa.String(length=64), nullable=True)
        batch.alter_column("use_code_id", existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                           nullable=True)
        batch.add_column(sa.Column("share_link_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                   nullable=True))
        batch.create_foreign_key(op.f("fk_access_log_share_link_id_share_links"), "share_links", ["share_link_id"],
                                 ["id"])


def downgrade() -> None:
    # the schema before share links holds intakes only: share openings go with the links, and so do the lookups
    # logged since (no counter, no intake; ledger.holders.lookups)
    op.execute("DELETE FROM access_log WHERE share_link_id IS NOT NULL OR use_code_id IS NULL")
    with op.batch_alter_table("access_log") as batch:
        batch.drop_constraint(op.f("fk_access_log_share_link_id_share_links"), type_="foreignkey")
        batch.drop_column("share_link_id")
        batch.alter_column("counter_org_id", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("staff_id", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("service_item_code", existing_type=sa.String(length=40), nullable=False)
        batch.alter_column("case_number", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("use_code_id", existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                           nullable=False)
    op.drop_index(op.f("ix_share_links_holder_key"), table_name="share_links")
    op.drop_table("share_links")
