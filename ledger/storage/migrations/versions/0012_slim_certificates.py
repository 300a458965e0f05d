"""A certificate row stores its sealed record once: the ``metadata`` JSON column, a second copy of the record's
content (about a fifth of a row), is dropped; the metadata is read from the record
(``ledger.core.record.certificate_metadata``). Downgrading adds the column back, filled from the records.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("metadata")


def downgrade() -> None:
    from ledger.core.record import certificate_metadata

    with op.batch_alter_table("certificates") as batch:
        batch.add_column(sa.Column("metadata", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True))
    conn = op.get_bind()
    table = sa.table("certificates", sa.column("id", sa.Integer), sa.column("record", sa.Text),
                     sa.column("metadata", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")))
    for id_, record in conn.execute(sa.select(table.c.id, table.c.record)).all():
        meta = certificate_metadata(json.loads(record))
        conn.execute(table.update().where(table.c.id == id_).values(metadata=meta))
    with op.batch_alter_table("certificates") as batch:
        batch.alter_column("metadata", nullable=False)
