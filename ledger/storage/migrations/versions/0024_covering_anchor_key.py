"""A certificate's anchor row is read from its primary key alone (issue 12, first verifications at 5,000,000 rows).

A first verification reads its certificate's ``certificate_anchors`` row (batch, leaf index, node) through the
primary key on ``certificate_id``, then the row itself from the table: two pages, each a read from disk where the
database is larger than memory (at 5,000,000 certificates on PostgreSQL, one of the ~7 pages a first verification
read from outside PostgreSQL's buffers was that row's). The key now carries the row's three other
columns (``INCLUDE``), so PostgreSQL answers from the key alone (an index-only scan, once VACUUM or autovacuum has
marked the rows all-visible; the rows are never updated). The key grows from ~21 to ~38 bytes a certificate.

SQLite keeps a table with an integer primary key in that key's own b-tree: nothing to change there.

Rebuilding the key locks the table (verifications under anchored batches wait) while it runs: 1.1 s at 5,000,000
certificates on PostgreSQL 15.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def _key(include: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE certificate_anchors DROP CONSTRAINT pk_certificate_anchors, "
               f"ADD CONSTRAINT pk_certificate_anchors PRIMARY KEY (certificate_id){include}")


def upgrade() -> None:
    _key(" INCLUDE (batch_id, leaf_index, node)")


def downgrade() -> None:
    _key("")
