"""Where each certificate's leaf sits once its batch is claimed, and every certificate batch's Merkle tree.

A certificate row is written once, at issuance: the anchoring worker does not come back to it. When it claims a
batch (``ledger.storage.outbox.claim_batch``) it appends one narrow ``certificate_anchors`` row per certificate
(its batch, its place in the batch's leaves and in the tree's node array) and the batch's tree, the node array
of ``ledger.core.merkle.MerkleTree`` cut into pages of ``PAGE_NODES`` nodes (under 2 KB: a row stays in its
SQLite page and out of PostgreSQL's TOAST). A proof is read back from the pages holding its siblings, one
indexed read that returns only its nodes, instead of a proof of ~450 bytes stored in every certificate row and the
wide row rewritten to store it (half-empty SQLite pages, a dead tuple per row in PostgreSQL).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import BigInteger, Connection, Engine, ForeignKey, Integer, LargeBinary, literal_column, text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.core.errors import ServiceUnavailable
from ledger.core.merkle import HASH_LEN, MerkleTree, sibling_nodes
from ledger.storage.bulk import bulk_insert
from ledger.storage.driver_reads import read_all
from ledger.storage.models import BATCHES, CERTIFICATES, Base

PAGE_NODES = 60


class CertificateAnchor(Base):
    """A certificate's leaf in its batch: appended when the batch is claimed, never changed. Only
    :func:`record_tree` writes it, with the batch inserted and the certificates read from the outbox in the same
    transaction (neither is ever deleted): no foreign keys checked on each of its rows (migration 0020)."""

    __tablename__ = "certificate_anchors"
    certificate_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                                primary_key=True)  # a certificates.id
    batch_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))  # a batches.id
    leaf_index: Mapped[int] = mapped_column(Integer)  # in the batch's leaves, as the outbox numbered them
    node: Mapped[int] = mapped_column(Integer)  # in the batch tree's node array (leaves are sorted there)


class BatchTreePage(Base):
    """``PAGE_NODES`` consecutive nodes of a certificate batch's tree (the last page may hold fewer)."""

    __tablename__ = "batch_tree_pages"
    batch_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), ForeignKey("batches.id"),
                                          primary_key=True)
    page: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    nodes: Mapped[bytes] = mapped_column(LargeBinary)


ANCHORS = CertificateAnchor.__table__
PAGES = BatchTreePage.__table__

# certificates with their anchor and batch (outer joins: a queued certificate has neither)
CERTIFICATES_WITH_BATCH = (CERTIFICATES.outerjoin(ANCHORS, ANCHORS.c.certificate_id == CERTIFICATES.c.id)
                           .outerjoin(BATCHES, BATCHES.c.id == ANCHORS.c.batch_id))


def record_tree(conn: Connection, batch_id: int, certificate_ids: Sequence[int], tree: MerkleTree) -> None:
    """Store a claimed batch's tree and where each of its certificates' leaves sits (``certificate_ids`` in the
    order of the tree's leaves), in the claiming transaction."""
    nodes = b"".join(tree.nodes)
    step = PAGE_NODES * HASH_LEN
    bulk_insert(conn, PAGES, [{"batch_id": batch_id, "page": p, "nodes": nodes[p * step:(p + 1) * step]}
                              for p in range((len(nodes) + step - 1) // step)])
    bulk_insert(conn, ANCHORS, [{"certificate_id": c, "batch_id": batch_id, "leaf_index": i, "node": node}
                                for i, (c, node) in enumerate(zip(certificate_ids, tree.leaf_nodes(), strict=True))])


def _node_in_page(node: str, page: str) -> str:
    """PostgreSQL: the tree node at index ``node`` cut out of ``page``, the page row holding it (SQL expressions)."""
    return f"substring({page}.nodes FROM ({node} % {PAGE_NODES}) * {HASH_LEN} + 1 FOR {HASH_LEN})"


def _pg_proof(node: str, batch_id: str) -> str:
    """PostgreSQL: the proof of the leaf at ``node`` of batch ``batch_id`` (SQL expressions), its nodes cut out of the
    tree's pages and concatenated. The sibling indices are :func:`ledger.core.merkle.sibling_nodes`' in SQL: with
    i = node + 1 (the heap's 1-based index), the sibling at level k is ((i >> k) XOR 1) - 1 while i >> k > 1; each
    node's page is found by the pages' primary key."""
    return (f"(SELECT string_agg({_node_in_page('s.node', 'p')}, ''::bytea ORDER BY s.k) FROM (SELECT k, ((({node} + 1) >> k) # 1) - 1 AS node "
            f"FROM generate_series(0, 30) AS k WHERE (({node} + 1) >> k) > 1) AS s "
            f"JOIN {PAGES.name} AS p ON p.batch_id = {batch_id} AND p.page = s.node / {PAGE_NODES})")


# A proof's nodes are cut out of their pages by the database: about ten 32-byte values cross the wire instead of the
# ten ~2 KB pages holding them (at 1,000,000 certificates: 85 -> 47 µs of the reader's CPU, and less of the
# server's, per proof). SQLite is given the sibling indices (JSON, in the proof's order) and returns each node.
_NODES_OF_PROOF = {
    "postgresql": text("SELECT " + _pg_proof("CAST(:node AS int)", ":batch_id")),
    "sqlite": text(f"SELECT substr(p.nodes, (w.value % {PAGE_NODES}) * {HASH_LEN} + 1, {HASH_LEN}) "
                   f"FROM json_each(:nodes) AS w JOIN {PAGES.name} AS p "
                   f"ON p.batch_id = :batch_id AND p.page = w.value / {PAGE_NODES} ORDER BY w.key"),
}

# The same as a column of a statement that reads a certificate with its ``certificate_anchors`` row (PostgreSQL):
# the proof comes with the row, one statement and one round trip fewer per verification.
PROOF_WITH_ANCHOR = literal_column(_pg_proof(f"{ANCHORS.name}.node", f"{ANCHORS.name}.batch_id")).label("proof")
# and the leaf itself, as the batch's tree holds it
LEAF_WITH_ANCHOR = literal_column(
    f"(SELECT {_node_in_page(f'{ANCHORS.name}.node', 'lp')} FROM {PAGES.name} AS lp "
    f"WHERE lp.batch_id = {ANCHORS.name}.batch_id AND lp.page = {ANCHORS.name}.node / {PAGE_NODES})").label("leaf")


def checked_proof(batch_id: int, node: int, proof: bytes | None) -> bytes:
    """``proof`` as read for the leaf at ``node``, or ServiceUnavailable ``batch_tree_damaged`` if the stored tree
    lacked one of its nodes."""
    proof = bytes(proof or b"")
    if len(proof) != len(sibling_nodes(node)) * HASH_LEN:
        raise ServiceUnavailable("batch_tree_damaged", f"the stored Merkle tree of batch {batch_id} lacks nodes of "
                                 "a proof: restore the database from its backup")
    return proof


def read_proof(source: Connection | Engine, batch_id: int, node: int, *, own_connection: bool = False) -> bytes:
    """The concatenated proof of the leaf at ``node`` of the batch's tree, read in ``source``'s transaction or, from
    an Engine, through a bare driver connection (``own_connection``: this thread's, for the API's event loop).
    ServiceUnavailable ``batch_tree_damaged`` if the stored tree lacks one of its nodes."""
    wanted = sibling_nodes(node)
    if not wanted:
        return b""
    dialect = source.dialect.name
    params = {"batch_id": batch_id, **({"node": node} if dialect == "postgresql" else {"nodes": json.dumps(wanted)})}
    if isinstance(source, Engine):
        found = read_all(source, _NODES_OF_PROOF[dialect], params, own_connection=own_connection)
    else:
        found = list(source.execute(_NODES_OF_PROOF[dialect], params))
    return checked_proof(batch_id, node, b"".join(bytes(n) for n, in found if n is not None))
