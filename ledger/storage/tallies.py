"""Count tables kept in step with what they count, in the same transaction (``ledger.storage.plan_tables``).

Every insert of certificates or report summaries and every status change adds its increments here, so a
committed row is always counted and a rolled-back one never is. Increments are upserts (``INSERT ... ON
CONFLICT DO UPDATE SET count = count + n``, the same on SQLite and PostgreSQL) applied in key order, so two
transactions touching the same counts wait for each other and never deadlock.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ledger.core.statuses import today_china
from ledger.storage.models import CERTIFICATES
from ledger.storage.plan_tables import (
    CERTIFICATE_DAILY,
    CERTIFICATE_TALLIES,
    COUNTER_VERIFICATIONS,
    REPORT_TALLIES,
)

_CHUNK = 5_000


def china_day(at: dt.datetime) -> dt.date:
    """The day in China (UTC+8) of a time: the city counts its days there."""
    return today_china(at if at.tzinfo else at.replace(tzinfo=dt.UTC))


def add_counts(conn: Connection, table: Table, keys: Sequence[str], increments: Mapping[tuple[Any, ...], int]) -> None:
    """Add ``increments`` (key values -> n) to ``table``'s ``count`` column, creating rows as needed."""
    rows = [dict(zip(keys, k, strict=True), count=n) for k, n in sorted(increments.items()) if n]
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={"count": table.c.count + stmt.excluded.count})
    for row in rows:  # one at a time, in key order: the same order in every transaction
        conn.execute(stmt, row)


def count_certificates(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
    """Count newly inserted certificate rows: by type and status, and by issuing department and day."""
    by_status: Counter[tuple[Any, ...]] = Counter()
    by_day: Counter[tuple[Any, ...]] = Counter()
    days: dict[dt.datetime, dt.date] = {}  # the rows of one insert share their time
    for r in rows:
        by_status[(r["type_code"], r["status"])] += 1
        at = r["created_at"]
        day = days.get(at) or days.setdefault(at, china_day(at))
        by_day[(day, r["issuer_org_id"])] += 1
    add_counts(conn, CERTIFICATE_TALLIES, ("type_code", "status"), by_status)
    add_counts(conn, CERTIFICATE_DAILY, ("day", "org_id"), by_day)


def count_reports(conn: Connection, org_ids: Iterable[int]) -> None:
    """Count newly inserted report summaries, per association."""
    add_counts(conn, REPORT_TALLIES, ("org_id",), Counter((org_id,) for org_id in org_ids))


def count_verifications(conn: Connection, increments: Mapping[tuple[int, dt.date], int]) -> None:
    """Add counters' verifications: (counter org id, day) -> how many."""
    add_counts(conn, COUNTER_VERIFICATIONS, ("org_id", "day"), increments)


def set_statuses(conn: Connection, ids: Sequence[int], status: str) -> None:
    """Set the certificates' status and move their counts from their former status to the new one.

    Each former status is updated by its own ``UPDATE ... WHERE status = s RETURNING type_code``: on PostgreSQL a
    row another transaction changed meanwhile is re-checked and counted by whichever changed it, once; SQLite has
    one writer, taken before the statuses are read.
    """
    c = CERTIFICATES.c
    moved: Counter[tuple[Any, ...]] = Counter()
    if conn.dialect.name == "sqlite" and ids:  # be the writer before reading, as a deferred read would go stale
        conn.execute(update(CERTIFICATES).where(c.id == -1).values(status=status))
    for start in range(0, len(ids), _CHUNK):
        part = ids[start:start + _CHUNK]
        former = sorted(set(conn.execute(select(c.status).where(c.id.in_(part), c.status != status)).scalars()))
        for old in former:
            for type_code in conn.execute(update(CERTIFICATES).where(c.id.in_(part), c.status == old)
                                          .values(status=status).returning(c.type_code)).scalars():
                moved[(type_code, old)] -= 1
                moved[(type_code, status)] += 1
    add_counts(conn, CERTIFICATE_TALLIES, ("type_code", "status"), moved)
