"""The city plan's targets: count tables (certificates by type and status, by department and day; report summaries
by association; counters' verifications by day) filled from the rows already stored, and the monthly reports
anchored by the audit writer.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _china_day(column: str) -> str:
    """SQL for the day in China (UTC+8) of a stored UTC time."""
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST(({column} AT TIME ZONE 'Asia/Shanghai') AS DATE)"
    return f"date({column}, '+8 hours')"


def upgrade() -> None:
    op.create_table(
        "certificate_tallies",
        sa.Column("type_code", sa.String(length=21), nullable=False),
        sa.Column("status", sa.String(length=2), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("type_code", "status", name=op.f("pk_certificate_tallies")),
    )
    op.create_table(
        "certificate_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], name=op.f("fk_certificate_daily_org_id_organizations")),
        sa.PrimaryKeyConstraint("day", "org_id", name=op.f("pk_certificate_daily")),
    )
    op.create_table(
        "report_tallies",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], name=op.f("fk_report_tallies_org_id_organizations")),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_report_tallies")),
    )
    op.create_table(
        "counter_verifications",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"],
                                name=op.f("fk_counter_verifications_org_id_organizations")),
        sa.PrimaryKeyConstraint("org_id", "day", name=op.f("pk_counter_verifications")),
    )
    op.create_index(op.f("ix_counter_verifications_day"), "counter_verifications", ["day"], unique=False)
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "plan_reports",
        sa.Column("id", big_id, nullable=False),
        sa.Column("identifier", sa.String(length=100), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("leaf", sa.LargeBinary(length=32), nullable=False),
        sa.Column("batch_id", big_id, nullable=True),
        sa.Column("leaf_index", sa.Integer(), nullable=True),
        sa.Column("proof", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_plan_reports_batch_id_batches")),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], name=op.f("fk_plan_reports_org_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_reports")),
        sa.UniqueConstraint("identifier", name=op.f("uq_plan_reports_identifier")),
        sa.UniqueConstraint("month", name=op.f("uq_plan_reports_month")),
    )
    op.create_index(op.f("ix_plan_reports_batch_id"), "plan_reports", ["batch_id"], unique=False)
    _backfill()


def _backfill() -> None:
    """Count what is already stored, once (the application keeps the counts from now on)."""
    op.execute("INSERT INTO certificate_tallies (type_code, status, count) "
               "SELECT type_code, status, COUNT(*) FROM certificates GROUP BY type_code, status")
    day = _china_day("created_at")
    op.execute(f"INSERT INTO certificate_daily (day, org_id, count) SELECT {day}, issuer_org_id, COUNT(*) "
               f"FROM certificates GROUP BY {day}, issuer_org_id")
    op.execute("INSERT INTO report_tallies (org_id, count) "
               "SELECT association_org_id, COUNT(*) FROM report_summaries GROUP BY association_org_id")
    op.execute(f"INSERT INTO counter_verifications (org_id, day, count) SELECT counter_org_id, {day}, COUNT(*) "
               f"FROM access_log WHERE counter_org_id IS NOT NULL GROUP BY counter_org_id, {day}")


def downgrade() -> None:
    op.drop_index(op.f("ix_plan_reports_batch_id"), table_name="plan_reports")
    op.drop_index(op.f("ix_counter_verifications_day"), table_name="counter_verifications")
    for table in ("plan_reports", "counter_verifications", "report_tallies", "certificate_daily", "certificate_tallies"):
        op.drop_table(table)
