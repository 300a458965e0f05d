"""The indexer keeps each anchor's seal fingerprint (issue 12).

An API worker verifying a certificate under a root it has not seen read that root's anchor from the chain node
(``anchorOf``), one call per worker and root: at 5,000,000 certificates in 511 batches a fresh worker's first
verifications queued on the node. The indexer already stores every ``Anchored`` event in ``chain_anchors``; with
the fingerprint of the issuer's seal current at that event (from the organization events it indexed before it) a
worker reads the whole anchor from there. Rows indexed before this revision have none (NULL): their anchors are
still read from the chain, once per worker.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chain_anchors") as batch:
        batch.add_column(sa.Column("seal_fingerprint", sa.LargeBinary(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chain_anchors") as batch:
        batch.drop_column("seal_fingerprint")
