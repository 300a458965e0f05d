"""Lookups noted by the API workers and not yet in the access log (``ledger.holders.lookups``).

An API worker writes one narrow row per certificate and caller each second; the anchoring worker turns them into
access-log entries and deletes them in the same transaction. No holder data: the identifier and who looked.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ledger.storage.models import Base


class LookupNote(Base):
    """Lookups of one certificate by one caller within a second, as an API worker noted them."""

    __tablename__ = "lookup_notes"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(96))
    counter_uscc: Mapped[str | None] = mapped_column(String(18))  # None: the public
    staff_id: Mapped[str | None] = mapped_column(String(64))
    first_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    lookups: Mapped[int] = mapped_column(Integer)


LOOKUP_NOTES = LookupNote.__table__
