"""Indexes for 5,000,000 certificates: what holder lists and intakes (``supersedes_id``: is a version
replaced?), PDF verification (``document_digest``) and a department's list (``issuer_org_id, id``) filter on;
the unused ``(status, valid_until)`` index is dropped (nothing queries by it; it cost every insert).

On PostgreSQL a large table is locked against writes while an index builds: run it in a quiet hour.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_certificates_supersedes_id"), "certificates", ["supersedes_id"], unique=False)
    op.create_index(op.f("ix_certificates_document_digest"), "certificates", ["document_digest"], unique=False)
    op.create_index("ix_certificates_issuer_org_id_id", "certificates", ["issuer_org_id", "id"], unique=False)
    op.drop_index("ix_certificates_status_valid_until", table_name="certificates")


def downgrade() -> None:
    op.create_index("ix_certificates_status_valid_until", "certificates", ["status", "valid_until"], unique=False)
    op.drop_index("ix_certificates_issuer_org_id_id", table_name="certificates")
    op.drop_index(op.f("ix_certificates_document_digest"), table_name="certificates")
    op.drop_index(op.f("ix_certificates_supersedes_id"), table_name="certificates")
