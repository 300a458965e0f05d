"""Fewer bytes a certificate, fewer writes a leaf anchored (issue 12).

What a certificate row can compute from its record is not stored:

- its leaf, a hash of the record's canonical bytes (``Certificate.leaf``): the 33 bytes of ``leaf`` go (the outbox
  keeps each queued leaf as before);
- the record digest in its stored seal: new rows store the seal without it (``signer.compact_seal``, 32 bytes),
  rows stored before keep the form with the digest, which is read as before;
- the keys of the record's format in its stored record: new rows store each as one character
  (``ledger.storage.record_text``, ~290 bytes); records stored before, plain JSON, read as they are.

Upgrading first checks that every stored leaf is its record's (a row whose record was not stored canonically
would get another leaf and no longer match its anchor) and refuses to go on otherwise. Downgrading fills the
column back from the records, puts the digest back into the seals stored without it and stores every record as
plain JSON again.

The anchoring outbox, where every leaf is written, claimed and deleted, and ``certificate_anchors``, appended
once a leaf: only ``ledger.storage.outbox`` writes them, in the transactions that insert what they point to,
and nothing they point to is ever deleted, so their foreign keys (a check on every row written) go. What a
claim sets (``batch_id``, ``leaf_index``) is no longer indexed: the claim index is (kind, org_id, id), a batch's
rows are found between the first and last outbox id it claimed (new ``batches`` columns, filled here for the
batches still pending) and the unique (batch_id, leaf_index), numbered in one statement, goes. On PostgreSQL the
outbox keeps half of each page free (fillfactor 50), so a claim is a HOT update: no index entry written.

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
_batches = sa.table("batches", sa.column("id", _ID), sa.column("status", sa.String),
                    sa.column("outbox_first_id", _ID), sa.column("outbox_last_id", _ID))
_outbox = sa.table("anchor_outbox", sa.column("id", _ID), sa.column("batch_id", _ID))
_UNCHECKED = (("anchor_outbox", "org_id", "organizations"), ("anchor_outbox", "batch_id", "batches"),
              ("certificate_anchors", "certificate_id", "certificates"), ("certificate_anchors", "batch_id", "batches"))
_seal_certs = sa.table("seal_certificates", sa.column("serial", sa.String), sa.column("der", sa.LargeBinary),
                       sa.column("eseal_der", sa.LargeBinary))


def upgrade() -> None:
    from ledger.core.record import record_leaf
    from ledger.storage.record_text import unpack_record

    for rows in _chunks(op.get_bind(), _certs.c.leaf):
        for r in rows:
            if record_leaf(unpack_record(r.record).encode()) != bytes(r.leaf):
                raise RuntimeError(f"certificate {r.id}: its stored leaf is not its record's; repair it before "
                                   "upgrading")
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("leaf")
    _outbox_up()


def _outbox_up() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("outbox_first_id", _ID, nullable=True))
        batch.add_column(sa.Column("outbox_last_id", _ID, nullable=True))
    of_batch = _outbox.c.batch_id == _batches.c.id
    op.get_bind().execute(_batches.update().where(_batches.c.status == "pending").values(
        outbox_first_id=sa.select(sa.func.min(_outbox.c.id)).where(of_batch).scalar_subquery(),
        outbox_last_id=sa.select(sa.func.max(_outbox.c.id)).where(of_batch).scalar_subquery()))
    op.drop_index("ix_anchor_outbox_claim", table_name="anchor_outbox")
    for table in ("anchor_outbox", "certificate_anchors"):
        with op.batch_alter_table(table) as batch:
            for t, column, referred in _UNCHECKED:
                if t == table:
                    batch.drop_constraint(f"fk_{t}_{column}_{referred}", type_="foreignkey")
            if table == "anchor_outbox":
                batch.drop_constraint("uq_anchor_outbox_batch_id_leaf_index", type_="unique")
    op.create_index("ix_anchor_outbox_queue", "anchor_outbox", ["kind", "org_id", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE anchor_outbox SET (fillfactor = 50)")


def _outbox_down() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE anchor_outbox RESET (fillfactor)")
    op.drop_index("ix_anchor_outbox_queue", table_name="anchor_outbox")
    for table in ("anchor_outbox", "certificate_anchors"):
        with op.batch_alter_table(table) as batch:
            for t, column, referred in _UNCHECKED:
                if t == table:
                    batch.create_foreign_key(f"fk_{t}_{column}_{referred}", referred, [column], ["id"])
            if table == "anchor_outbox":
                batch.create_unique_constraint("uq_anchor_outbox_batch_id_leaf_index", ["batch_id", "leaf_index"])
    op.create_index("ix_anchor_outbox_claim", "anchor_outbox", ["kind", "org_id", "batch_id", "id"], unique=False)
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("outbox_last_id")
        batch.drop_column("outbox_first_id")


def downgrade() -> None:
    from ledger.core.record import record_leaf
    from ledger.storage.record_text import unpack_record

    _outbox_down()
    with op.batch_alter_table("certificates") as batch:
        batch.add_column(sa.Column("leaf", sa.LargeBinary(length=32), nullable=True))
    conn = op.get_bind()
    registry = _registry(conn)
    for rows in _chunks(conn, _certs.c.record_seal):
        plain = [unpack_record(r.record) for r in rows]
        values = [{"cid": r.id, "record": text, "leaf": record_leaf(text.encode()),
                   "seal": _with_digest(bytes(r.record_seal), text.encode(), registry)} for r, text in zip(rows, plain)]
        conn.execute(_certs.update().where(_certs.c.id == sa.bindparam("cid")).values(
            record=sa.bindparam("record"), leaf=sa.bindparam("leaf"), record_seal=sa.bindparam("seal")), values)
    with op.batch_alter_table("certificates") as batch:
        batch.alter_column("leaf", existing_type=sa.LargeBinary(length=32), nullable=False)


def _with_digest(seal: bytes, record: bytes, registry: Any) -> bytes:
    """A stored seal in the form 0019 reads: one stored without its digest (encoding byte with 0x80 set) gets it
    back; a whole seal (DER, 0x30), one with its digest or one the registry cannot rebuild stays as it is."""
    from ledger.core.errors import CertledgerError
    from signer.compact_seal import compact_seal, expand_seal

    if seal[:1] == b"\x30" or not seal[0] & 0x80:
        return seal
    try:
        return compact_seal(expand_seal(seal, registry, record))
    except (CertledgerError, ValueError, IndexError, KeyError):
        return seal


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
