"""Status lists: their anchored snapshots; status-list indices: each certificate's bit in its department's Bitstring status lists (W3C VC 2.0),
stable once given, and the next index per department; existing certificates numbered in id order.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_list_counters",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("next_index", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"],
                                name=op.f("fk_status_list_counters_org_id_organizations")),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_status_list_counters")),
    )
    op.create_table(
        "status_list_snapshots",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("identifier", sa.String(length=100), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("leaf", sa.LargeBinary(length=32), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("leaf_index", sa.Integer(), nullable=True),
        sa.Column("proof", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_status_list_snapshots_batch_id_batches")),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"],
                                name=op.f("fk_status_list_snapshots_org_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_list_snapshots")),
        sa.UniqueConstraint("identifier", name=op.f("uq_status_list_snapshots_identifier")),
    )
    op.create_index(op.f("ix_status_list_snapshots_batch_id"), "status_list_snapshots", ["batch_id"])
    op.create_index(op.f("ix_status_list_snapshots_org_id"), "status_list_snapshots", ["org_id"])
    with op.batch_alter_table("certificates") as batch:
        batch.add_column(sa.Column("status_index", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE certificates SET status_index = numbered.n FROM (SELECT id, row_number() OVER "
        "(PARTITION BY issuer_org_id ORDER BY id) - 1 AS n FROM certificates) AS numbered "
        "WHERE certificates.id = numbered.id"
    )
    op.execute(
        "INSERT INTO status_list_counters (org_id, next_index) "
        "SELECT issuer_org_id, MAX(status_index) + 1 FROM certificates GROUP BY issuer_org_id"
    )
    with op.batch_alter_table("certificates") as batch:
        batch.create_unique_constraint(op.f("uq_certificates_issuer_org_id_status_index"),
                                       ["issuer_org_id", "status_index"])


def downgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.drop_constraint(op.f("uq_certificates_issuer_org_id_status_index"), type_="unique")
        batch.drop_column("status_index")
    op.drop_table("status_list_snapshots")
    op.drop_table("status_list_counters")
