"""Lookups noted by the API workers, turned into access-log entries by the anchoring worker (issue 12).

An API worker wrote each second's lookups by bare identifier as access-log entries itself: a holder key read per
certificate, a salted canonical record, its leaf, the entry and its queued leaf, ~0.15 ms of the worker's CPU per
first verification, spent in a thread that held up the event loop while it ran. It now writes one narrow row per
certificate and caller (``lookup_notes``: identifier, counter, staff member, first time, count), and the anchoring
worker builds the entries from them (``ledger.holders.lookups.record_noted_lookups``).

Downgrading refuses while notes wait (they would be lost): run the anchoring worker (or ``certledger anchor``)
until the table is empty first.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lookup_notes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("identifier", sa.String(length=96), nullable=False),
        sa.Column("counter_uscc", sa.String(length=18), nullable=True),
        sa.Column("staff_id", sa.String(length=64), nullable=True),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lookups", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lookup_notes")),
    )


def downgrade() -> None:
    waiting = op.get_bind().execute(sa.text("SELECT count(*) FROM lookup_notes")).scalar_one()
    if waiting:
        raise RuntimeError(f"{waiting} noted lookups are not in the access log yet: run the anchoring worker (or "
                           "certledger anchor) until lookup_notes is empty, then downgrade")
    op.drop_table("lookup_notes")
