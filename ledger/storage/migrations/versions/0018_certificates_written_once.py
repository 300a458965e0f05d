"""A certificate row is written once and holds no copy of what is kept elsewhere (issue 12, "Bytes"):

- its batch, place and proof move to ``certificate_anchors`` (one narrow row per certificate, appended when its
  batch is claimed) and ``batch_tree_pages`` (each certificate batch's tree, proofs read from it), so the
  anchoring worker no longer rewrites every certificate row: ``batch_id``, ``leaf_index`` and ``proof`` go;
- its record seal is stored without the seal certificate the seal registry holds (``signer.compact_seal``;
  served byte for byte as made); a seal that cannot be rebuilt exactly is kept whole;
- ``salt``, a copy of the record's own ``salt``, goes.

Existing rows are moved: each certificate batch's tree is rebuilt from its certificates' leaves in leaf order
and must give the batch's root. Downgrading puts every column back, filled from the new tables and the registry.
On PostgreSQL the freed space is reused by new rows; ``VACUUM FULL certificates`` returns it to the system.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_CHUNK = 2_000
_STEP = 60 * 32  # a tree page as this revision stores it: 60 nodes of the node array in level order (0023 re-cuts)
_certs = sa.table("certificates", sa.column("id", _ID), sa.column("record", sa.Text), sa.column("salt", sa.String),
                  sa.column("record_seal", sa.LargeBinary), sa.column("leaf", sa.LargeBinary),
                  sa.column("batch_id", _ID), sa.column("leaf_index", sa.Integer), sa.column("proof", sa.LargeBinary))
_batches = sa.table("batches", sa.column("id", _ID), sa.column("kind", sa.String), sa.column("root", sa.LargeBinary),
                    sa.column("status", sa.String))
_anchors = sa.table("certificate_anchors", sa.column("certificate_id", _ID), sa.column("batch_id", _ID),
                    sa.column("leaf_index", sa.Integer), sa.column("node", sa.Integer))
_pages = sa.table("batch_tree_pages", sa.column("batch_id", _ID), sa.column("page", sa.Integer),
                  sa.column("nodes", sa.LargeBinary))
_seal_certs = sa.table("seal_certificates", sa.column("serial", sa.String), sa.column("der", sa.LargeBinary),
                       sa.column("eseal_der", sa.LargeBinary))


def upgrade() -> None:
    op.create_table(
        "certificate_anchors",
        sa.Column("certificate_id", _ID, nullable=False),
        sa.Column("batch_id", _ID, nullable=False),
        sa.Column("leaf_index", sa.Integer(), nullable=False),
        sa.Column("node", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_certificate_anchors_batch_id_batches")),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificates.id"],
                                name=op.f("fk_certificate_anchors_certificate_id_certificates")),
        sa.PrimaryKeyConstraint("certificate_id", name=op.f("pk_certificate_anchors")),
    )
    op.create_table(
        "batch_tree_pages",
        sa.Column("batch_id", _ID, nullable=False),
        sa.Column("page", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("nodes", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_batch_tree_pages_batch_id_batches")),
        sa.PrimaryKeyConstraint("batch_id", "page", name=op.f("pk_batch_tree_pages")),
    )
    conn = op.get_bind()
    _move_trees(conn)
    _rewrite_seals(conn, _compact)
    op.drop_index(op.f("ix_certificates_batch_id"), table_name="certificates")
    with op.batch_alter_table("certificates") as batch:
        batch.drop_constraint(op.f("fk_certificates_batch_id_batches"), type_="foreignkey")
        for column in ("salt", "batch_id", "leaf_index", "proof"):
            batch.drop_column(column)


def _move_trees(conn: sa.Connection) -> None:
    """Every claimed certificate batch's tree and its certificates' places, from the rows' batch and leaf order."""
    from ledger.core.merkle import MerkleTree

    batches = conn.execute(sa.select(_batches.c.id, _batches.c.root).where(_batches.c.kind == "certificate")
                           .order_by(_batches.c.id)).all()
    for batch_id, root in batches:
        rows = conn.execute(sa.select(_certs.c.id, _certs.c.leaf).where(_certs.c.batch_id == batch_id)
                            .order_by(_certs.c.leaf_index)).all()
        if not rows:
            continue
        tree = MerkleTree([bytes(r.leaf) for r in rows])
        if tree.root != bytes(root):
            raise RuntimeError(f"certificate batch {batch_id}: its certificates' leaves do not give its root; "
                               "repair it before upgrading")
        nodes = b"".join(tree.nodes)
        conn.execute(_pages.insert(), [{"batch_id": batch_id, "page": p, "nodes": nodes[p * _STEP:(p + 1) * _STEP]}
                                       for p in range((len(nodes) + _STEP - 1) // _STEP)])
        conn.execute(_anchors.insert(), [{"certificate_id": r.id, "batch_id": batch_id, "leaf_index": i, "node": n}
                                         for i, (r, n) in enumerate(zip(rows, tree.leaf_nodes(), strict=True))])


def _registry(conn: sa.Connection) -> Any:
    from signer.registry import SealRegistry

    rows = conn.execute(sa.select(_seal_certs.c.serial, _seal_certs.c.der, _seal_certs.c.eseal_der)).all()
    return SealRegistry(root_der=b"", seal_certificates=[bytes(r.der) for r in rows],
                        eseals={int(r.serial, 16): bytes(r.eseal_der) for r in rows if r.eseal_der is not None})


def _compact(seal: bytes, registry: Any) -> bytes:
    """The compact form if the registry rebuilds the very same seal from it, else the seal whole."""
    from ledger.core.errors import CertledgerError
    from signer.compact_seal import compact_seal, expand_seal

    stored = compact_seal(seal)
    try:
        return stored if expand_seal(stored, registry) == seal else seal
    except (CertledgerError, ValueError, IndexError, KeyError):  # its certificate is not in the registry
        return seal


def _expand(stored: bytes, registry: Any) -> bytes:
    """The seal whole; a value that is not a compact seal of a registered certificate is left as it is."""
    from ledger.core.errors import CertledgerError
    from signer.compact_seal import expand_seal

    try:
        return expand_seal(stored, registry)
    except (CertledgerError, ValueError, IndexError, KeyError):
        return stored


def _chunks(conn: sa.Connection) -> Iterator[list[Any]]:
    last = None
    while True:
        q = sa.select(_certs.c.id, _certs.c.record_seal).order_by(_certs.c.id).limit(_CHUNK)
        rows = conn.execute(q if last is None else q.where(_certs.c.id > last)).all()
        if not rows:
            return
        last = rows[-1].id
        yield rows


def _rewrite_seals(conn: sa.Connection, rewrite: Any) -> None:
    registry = _registry(conn)
    for rows in _chunks(conn):
        changed = [{"cid": r.id, "seal": new} for r in rows
                   if (new := rewrite(bytes(r.record_seal), registry)) != bytes(r.record_seal)]
        if changed:
            conn.execute(_certs.update().where(_certs.c.id == sa.bindparam("cid"))
                         .values(record_seal=sa.bindparam("seal")), changed)


def downgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.add_column(sa.Column("salt", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("batch_id", _ID, nullable=True))
        batch.add_column(sa.Column("leaf_index", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("proof", sa.LargeBinary(), nullable=True))
        batch.create_foreign_key(op.f("fk_certificates_batch_id_batches"), "batches", ["batch_id"], ["id"])
    op.create_index(op.f("ix_certificates_batch_id"), "certificates", ["batch_id"], unique=False)
    conn = op.get_bind()
    _restore_rows(conn)
    _rewrite_seals(conn, _expand)
    with op.batch_alter_table("certificates") as batch:
        batch.alter_column("salt", existing_type=sa.String(length=64), nullable=False)
    op.drop_table("batch_tree_pages")
    op.drop_table("certificate_anchors")


def _restore_rows(conn: sa.Connection) -> None:
    """Each row's salt from its record, and its batch, place and (once anchored) proof from the new tables."""
    import json

    from ledger.core.merkle import sibling_nodes

    trees: dict[int, bytes] = {}

    def proof(batch_id: int, node: int) -> bytes:
        if batch_id not in trees:
            trees.clear()  # one tree held at a time: in id order, certificates mostly come batch by batch
            trees[batch_id] = b"".join(bytes(n) for n, in conn.execute(
                sa.select(_pages.c.nodes).where(_pages.c.batch_id == batch_id).order_by(_pages.c.page)))
        nodes = trees[batch_id]
        return b"".join(nodes[s * 32:(s + 1) * 32] for s in sibling_nodes(node))

    for rows in _chunks(conn):
        ids = [r.id for r in rows]
        records = dict(conn.execute(sa.select(_certs.c.id, _certs.c.record).where(_certs.c.id.in_(ids))).all())
        anchors = {a.certificate_id: a for a in conn.execute(
            sa.select(_anchors, _batches.c.status).join(_batches, _batches.c.id == _anchors.c.batch_id)
            .where(_anchors.c.certificate_id.in_(ids)))}
        values = []
        for i in ids:
            a = anchors.get(i)
            values.append({"cid": i, "s": json.loads(records[i]).get("salt", ""), "b": a and a.batch_id,
                           "li": a and a.leaf_index,
                           "p": proof(a.batch_id, a.node) if a and a.status == "anchored" else None})
        conn.execute(_certs.update().where(_certs.c.id == sa.bindparam("cid")).values(
            salt=sa.bindparam("s"), batch_id=sa.bindparam("b"), leaf_index=sa.bindparam("li"),
            proof=sa.bindparam("p")), values)
