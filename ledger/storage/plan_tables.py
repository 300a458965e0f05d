"""The tables behind the city plan's targets (``ledger.plan``): count tables kept in step with the rows they count
(``ledger.storage.tallies``), so no report scans the certificates, and the monthly reports anchored on chain.

Each count table is a handful of rows per type, department, association or counter and day: the report reads
them whole, however many certificates there are.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.storage.models import Base, Hash32, utcnow


class CertificateTally(Base):
    """How many certificate versions of a type are at a status now (every version is a record of the library)."""

    __tablename__ = "certificate_tallies"
    type_code: Mapped[str] = mapped_column(String(21), primary_key=True)
    status: Mapped[str] = mapped_column(String(2), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class CertificateDaily(Base):
    """How many certificate versions an issuing department's library collected on a day (China time)."""

    __tablename__ = "certificate_daily"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class ReportTally(Base):
    """How many report summaries an association submitted."""

    __tablename__ = "report_tallies"
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class CounterVerifications(Base):
    """How many verifications (and intakes) a counter made on a day (China time)."""

    __tablename__ = "counter_verifications"
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True, index=True)  # the last 30 days, by this index
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class PlanReport(Base):
    """A month's figures as a salted record, anchored by the platform's audit writer (``ledger.plan.monthly``)."""

    __tablename__ = "plan_reports"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(100), unique=True)  # PT.<platform USCC>.<YYYY-MM>
    month: Mapped[str] = mapped_column(String(7), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))  # the audit writer that anchors it
    record: Mapped[str] = mapped_column(Text)
    salt: Mapped[str] = mapped_column(String(64))
    leaf: Mapped[bytes] = mapped_column(Hash32)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    leaf_index: Mapped[int | None] = mapped_column(Integer)
    proof: Mapped[bytes | None] = mapped_column(LargeBinary)  # concatenated 32-byte siblings
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


CERTIFICATE_TALLIES = CertificateTally.__table__
CERTIFICATE_DAILY = CertificateDaily.__table__
REPORT_TALLIES = ReportTally.__table__
COUNTER_VERIFICATIONS = CounterVerifications.__table__
PLAN_REPORTS = PlanReport.__table__
