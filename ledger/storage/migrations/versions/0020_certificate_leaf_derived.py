"""A certificate's leaf is derived from its record, not stored (issue 12, "Bytes"): the leaf is a hash of the
record's canonical bytes, which the row holds already (``Certificate.leaf``), so the 33 bytes of ``leaf`` go.
The outbox keeps each queued leaf as before.

Upgrading first checks that every stored leaf is its record's (a row whose record was not stored canonically
would get another leaf and no longer match its anchor) and refuses to go on otherwise. Downgrading fills the
column back from the records.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_CHUNK = 5_000
_certs = sa.table("certificates", sa.column("id", _ID), sa.column("record", sa.Text),
                  sa.column("leaf", sa.LargeBinary))


def upgrade() -> None:
    from ledger.core.record import record_leaf

    for rows in _chunks(op.get_bind(), _certs.c.leaf):
        for r in rows:
            if record_leaf(r.record.encode()) != bytes(r.leaf):
                raise RuntimeError(f"certificate {r.id}: its stored leaf is not its record's; repair it before "
                                   "upgrading")
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("leaf")


def downgrade() -> None:
    from ledger.core.record import record_leaf

    with op.batch_alter_table("certificates") as batch:
        batch.add_column(sa.Column("leaf", sa.LargeBinary(length=32), nullable=True))
    conn = op.get_bind()
    for rows in _chunks(conn):
        conn.execute(_certs.update().where(_certs.c.id == sa.bindparam("cid")).values(leaf=sa.bindparam("value")),
                     [{"cid": r.id, "value": record_leaf(r.record.encode())} for r in rows])
    with op.batch_alter_table("certificates") as batch:
        batch.alter_column("leaf", existing_type=sa.LargeBinary(length=32), nullable=False)


def _chunks(conn: sa.Connection, *extra: Any) -> Iterator[list[Any]]:
    """Every certificate's id and record (and ``extra`` columns), ``_CHUNK`` rows at a time in id order."""
    last = None
    while True:
        q = sa.select(_certs.c.id, _certs.c.record, *extra).order_by(_certs.c.id).limit(_CHUNK)
        rows = conn.execute(q if last is None else q.where(_certs.c.id > last)).all()
        if not rows:
            return
        last = rows[-1].id
        yield rows
