"""Index only the certificates that have a value: ``supersedes_id`` (set on renewed and amended versions) and
``document_digest`` (set when a PDF was issued). Imported records have neither, so at 5,000,000 rows the full
indexes were mostly NULL entries that every insert wrote and nothing read. Queries filter with ``= value`` (and
``supersedes_id IS NOT NULL`` beside a join), which both databases match to a partial index.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_INDEXES = ("supersedes_id", "document_digest")


def upgrade() -> None:
    for column in _INDEXES:
        op.drop_index(f"ix_certificates_{column}", table_name="certificates")
        op.create_index(f"ix_certificates_{column}", "certificates", [column], unique=False,
                        sqlite_where=sa.text(f"{column} IS NOT NULL"),
                        postgresql_where=sa.text(f"{column} IS NOT NULL"))


def downgrade() -> None:
    for column in _INDEXES:
        op.drop_index(f"ix_certificates_{column}", table_name="certificates")
        op.create_index(f"ix_certificates_{column}", "certificates", [column], unique=False)
