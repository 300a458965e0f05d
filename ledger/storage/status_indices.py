"""Status-list indices of certificates: each certificate's bit in its department's Bitstring status lists.

Reserved in blocks from ``status_list_counters`` by one ``UPDATE ... RETURNING`` per issuance call, in the
issuing transaction (the row lock, or SQLite's write lock, keeps two workers apart), so an index is given
once and never changes. Certificates stored by a path that gave none get one on first export.
"""

from __future__ import annotations

from sqlalchemy import Connection, update
from sqlalchemy.dialects import postgresql, sqlite

from ledger.storage.models import Certificate, StatusListCounter

_COUNTERS = StatusListCounter.__table__
_CERTS = Certificate.__table__


def allocate(conn: Connection, org_id: int, count: int) -> int:
    """Reserve ``count`` consecutive indices of ``org_id``'s lists; the first one."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(dialect_insert(_COUNTERS).values(org_id=org_id, next_index=0).on_conflict_do_nothing())
    end = conn.execute(update(_COUNTERS).where(_COUNTERS.c.org_id == org_id)
                       .values(next_index=_COUNTERS.c.next_index + count)
                       .returning(_COUNTERS.c.next_index)).scalar_one()
    return end - count


def ensure_index(conn: Connection, certificate_id: int, org_id: int) -> int:
    """The certificate's index, given now if it has none (in the caller's transaction)."""
    current = conn.execute(_CERTS.select().with_only_columns(_CERTS.c.status_index)
                           .where(_CERTS.c.id == certificate_id)).scalar_one()
    if current is not None:
        return current
    index = allocate(conn, org_id, 1)
    conn.execute(update(_CERTS).where(_CERTS.c.id == certificate_id, _CERTS.c.status_index.is_(None))
                 .values(status_index=index))
    return conn.execute(_CERTS.select().with_only_columns(_CERTS.c.status_index)
                        .where(_CERTS.c.id == certificate_id)).scalar_one()
