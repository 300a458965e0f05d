"""Contract v2 and the trust list: sender locks, the platform's deployments, published trust lists, the seal each
queued leaf was sealed with, and the chain index keyed by (issuer, root) as the v2 contract keys anchors.

The chain index is a projection of a v1 contract that a v2 deployment replaces: its anchor and status tables are
recreated empty and its cursors reset, so the indexer rebuilds them from the chain.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _index_tables(issuer_keyed: bool) -> None:
    key = ["issuer", "root"] if issuer_keyed else ["root"]
    op.create_table(
        "chain_anchors",
        sa.Column("issuer", sa.String(length=42), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("leaf_count", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(*key, name=op.f("pk_chain_anchors")),
    )
    if not issuer_keyed:
        op.create_index(op.f("ix_chain_anchors_issuer"), "chain_anchors", ["issuer"], unique=False)
    columns = [sa.Column("issuer", sa.String(length=42), nullable=False)] if issuer_keyed else []
    op.create_table(
        "chain_leaf_status",
        *columns,
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("leaf", sa.LargeBinary(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*key, "leaf", name=op.f("pk_chain_leaf_status")),
    )


def _reset_index(issuer_keyed: bool) -> None:
    op.drop_table("chain_leaf_status")
    if not issuer_keyed:
        op.drop_index(op.f("ix_chain_anchors_issuer"), table_name="chain_anchors")
    op.drop_table("chain_anchors")
    op.execute("DELETE FROM chain_events")
    op.execute("DELETE FROM chain_orgs")
    op.execute("DELETE FROM indexer_cursors")
    _index_tables(not issuer_keyed)


def upgrade() -> None:
    op.create_table(
        "chain_senders",
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_chain_senders")),
    )
    op.create_table(
        "ledger_deployments",
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_ledger_deployments")),
    )
    op.create_table(
        "trust_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("seal", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_lists")),
    )
    with op.batch_alter_table("anchor_outbox") as batch:
        batch.add_column(sa.Column("seal_fingerprint", sa.LargeBinary(length=32), nullable=True))
    _reset_index(issuer_keyed=False)


def downgrade() -> None:
    _reset_index(issuer_keyed=True)
    with op.batch_alter_table("anchor_outbox") as batch:
        batch.drop_column("seal_fingerprint")
    op.drop_table("trust_lists")
    op.drop_table("ledger_deployments")
    op.drop_table("chain_senders")
