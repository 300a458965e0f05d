"""Seal registry: the city root certificate, seal certificates and revocations (ledger.storage.seals).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seal_authority",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("root_der", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seal_authority")),
    )
    op.create_table(
        "seal_certificates",
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("eseal_der", sa.LargeBinary(), nullable=True),
        sa.Column("fingerprint", sa.LargeBinary(length=32), nullable=False),
        sa.Column("algorithm", sa.String(length=8), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], name=op.f("fk_seal_certificates_org_id_organizations")),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_seal_certificates")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_seal_certificates_fingerprint")),
    )
    op.create_index(op.f("ix_seal_certificates_org_id"), "seal_certificates", ["org_id"], unique=False)
    op.create_table(
        "seal_revocations",
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("compromise_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["serial"], ["seal_certificates.serial"],
                                name=op.f("fk_seal_revocations_serial_seal_certificates")),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_seal_revocations")),
    )


def downgrade() -> None:
    op.drop_table("seal_revocations")
    op.drop_index(op.f("ix_seal_certificates_org_id"), table_name="seal_certificates")
    op.drop_table("seal_certificates")
    op.drop_table("seal_authority")
