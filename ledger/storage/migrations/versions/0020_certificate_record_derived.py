"""What a certificate row can compute from its record is not stored (issue 12, "Bytes"):

- its leaf, a hash of the record's canonical bytes (``Certificate.leaf``): the 33 bytes of ``leaf`` go (the outbox
  keeps each queued leaf as before);
- the record digest in its stored seal: new rows store the seal without it (``signer.compact_seal``, 32 bytes),
  rows stored before keep the form with the digest, which is read as before.

Upgrading first checks that every stored leaf is its record's (a row whose record was not stored canonically
would get another leaf and no longer match its anchor) and refuses to go on otherwise. Downgrading fills the
column back from the records and puts the digest back into the seals stored without it.

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
                  sa.column("record_seal", sa.LargeBinary), sa.column("leaf", sa.LargeBinary))
_seal_certs = sa.table("seal_certificates", sa.column("serial", sa.String), sa.column("der", sa.LargeBinary),
                       sa.column("eseal_der", sa.LargeBinary))


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
    registry = _registry(conn)
    for rows in _chunks(conn, _certs.c.record_seal):
        values = [{"cid": r.id, "leaf": record_leaf(r.record.encode()),
                   "seal": _with_digest(bytes(r.record_seal), r.record.encode(), registry)} for r in rows]
        conn.execute(_certs.update().where(_certs.c.id == sa.bindparam("cid"))
                     .values(leaf=sa.bindparam("leaf"), record_seal=sa.bindparam("seal")), values)
    with op.batch_alter_table("certificates") as batch:
        batch.alter_column("leaf", existing_type=sa.LargeBinary(length=32), nullable=False)


def _with_digest(seal: bytes, record: bytes, registry: Any) -> bytes:
    """A stored seal in the form 0019 reads: one stored without its digest (encoding byte with 0x80 set) gets it
    back; a whole seal (DER, 0x30) or one with its digest stays as it is."""
    from signer.compact_seal import compact_seal, expand_seal

    if seal[:1] == b"\x30" or not seal[0] & 0x80:
        return seal
    return compact_seal(expand_seal(seal, registry, record))


def _registry(conn: sa.Connection) -> Any:
    from signer.registry import SealRegistry

    rows = conn.execute(sa.select(_seal_certs.c.serial, _seal_certs.c.der, _seal_certs.c.eseal_der)).all()
    return SealRegistry(root_der=b"", seal_certificates=[bytes(r.der) for r in rows],
                        eseals={int(r.serial, 16): bytes(r.eseal_der) for r in rows if r.eseal_der is not None})


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
