"""Administration: API keys that name a counter's staff member (so the access log names who looked), and holder
token revocations (every token of a holder issued before the time is refused).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("staff_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("staff_name", sa.String(length=100), nullable=True))
    op.create_table(
        "holder_revocations",
        sa.Column("holder_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("holder_key", name=op.f("pk_holder_revocations")),
    )


def downgrade() -> None:
    op.drop_table("holder_revocations")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("staff_name")
        batch.drop_column("staff_id")
