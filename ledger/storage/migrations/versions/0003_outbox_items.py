"""The anchoring outbox serves every anchored kind: ``certificate_id`` becomes ``item_id``.

Certificates, report summaries and access-log entries are anchored by one worker; an outbox row's
``kind`` says which table ``item_id`` points into (``ledger.storage.models.ANCHORED_ITEMS``), so the
column no longer has a foreign key to ``certificates``.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("anchor_outbox") as batch:
        batch.drop_constraint("fk_anchor_outbox_certificate_id_certificates", type_="foreignkey")
        batch.alter_column("certificate_id", new_column_name="item_id", existing_type=_ID, existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("anchor_outbox") as batch:
        batch.alter_column("item_id", new_column_name="certificate_id", existing_type=_ID, existing_nullable=True)
        batch.create_foreign_key("fk_anchor_outbox_certificate_id_certificates", "certificates",
                                 ["certificate_id"], ["id"], ondelete="CASCADE")
