"""Trusted foreign issuers: another city's did:web issuers on the platform's trust list, DID document pinned.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trusted_issuers",
        sa.Column("did", sa.String(length=300), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("did_document", sa.Text(), nullable=False),
        sa.Column("status_url_prefix", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("did", name=op.f("pk_trusted_issuers")),
    )


def downgrade() -> None:
    op.drop_table("trusted_issuers")
