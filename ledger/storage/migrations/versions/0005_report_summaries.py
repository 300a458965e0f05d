"""Report summaries: what associations submit, seal and anchor (ledger.issue.reports).

An anchored item table like ``certificates``: the outbox kind ``report`` points into it
(``ledger.storage.models.ANCHORED_ITEMS``), and the anchoring worker fills ``batch_id``, ``leaf_index``
and ``proof``.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "report_summaries",
        sa.Column("id", _ID, nullable=False),
        sa.Column("identifier", sa.String(length=100), nullable=False),
        sa.Column("association_org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("issuing_body", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("conclusion", sa.Text(), nullable=False),
        sa.Column("catalogue", JSON, nullable=False),
        sa.Column("document_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("document_cid", sa.String(length=100), nullable=True),
        sa.Column("document_key", sa.LargeBinary(), nullable=True),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("record_seal", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=2), nullable=False),
        sa.Column("leaf", sa.LargeBinary(length=32), nullable=False),
        sa.Column("batch_id", _ID, nullable=True),
        sa.Column("leaf_index", sa.Integer(), nullable=True),
        sa.Column("proof", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["association_org_id"], ["organizations.id"],
                                name=op.f("fk_report_summaries_association_org_id_organizations")),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_report_summaries_batch_id_batches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_summaries")),
        sa.UniqueConstraint("identifier", name=op.f("uq_report_summaries_identifier")),
        sa.UniqueConstraint("association_org_id", "number",
                            name=op.f("uq_report_summaries_association_org_id_number")),
    )
    op.create_index(op.f("ix_report_summaries_number"), "report_summaries", ["number"], unique=False)
    op.create_index(op.f("ix_report_summaries_kind"), "report_summaries", ["kind"], unique=False)
    op.create_index(op.f("ix_report_summaries_report_date"), "report_summaries", ["report_date"], unique=False)
    op.create_index(op.f("ix_report_summaries_batch_id"), "report_summaries", ["batch_id"], unique=False)
    op.create_index(op.f("ix_report_summaries_document_digest"), "report_summaries", ["document_digest"],
                    unique=False)


def downgrade() -> None:
    op.drop_table("report_summaries")
