"""Certificate history: one row per lifecycle event (suspend, reinstate, revoke, ..., renew, amend).

Written by ``ledger.issue.changes`` in the database transaction that follows the event's chain
transaction; ``tx_hash`` and ``block_number`` point at that transaction (NULL for events with
none of their own, such as the issue of a new version, which is anchored later).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "certificate_events",
        sa.Column("id", _ID, nullable=False),
        sa.Column("certificate_id", _ID, nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=2), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reason_code", sa.Integer(), nullable=False),
        sa.Column("actor_org_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("related_id", _ID, nullable=True),
        sa.Column("tx_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificates.id"],
                                name=op.f("fk_certificate_events_certificate_id_certificates")),
        sa.ForeignKeyConstraint(["actor_org_id"], ["organizations.id"],
                                name=op.f("fk_certificate_events_actor_org_id_organizations")),
        sa.ForeignKeyConstraint(["related_id"], ["certificates.id"],
                                name=op.f("fk_certificate_events_related_id_certificates")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_events")),
    )
    op.create_index(op.f("ix_certificate_events_certificate_id"), "certificate_events", ["certificate_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_certificate_events_certificate_id"), table_name="certificate_events")
    op.drop_table("certificate_events")
