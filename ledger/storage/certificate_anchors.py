"""Where each certificate's leaf sits once its batch is claimed, and every certificate batch's Merkle tree.

A certificate row is written once, at issuance: the anchoring worker does not come back to it. When it claims a
batch (``ledger.storage.outbox.claim_batch``) it appends one narrow ``certificate_anchors`` row per certificate
(its batch, its place in the batch's leaves and in the tree's node array) and the batch's tree, the node array
of ``ledger.core.merkle.MerkleTree`` cut into pages of ``PAGE_NODES`` nodes (under 2 KB: a row stays in its
SQLite page and out of PostgreSQL's TOAST). A proof is read back from the pages holding its siblings, one
indexed read of about ten small rows, instead of a proof of ~450 bytes stored in every certificate row and the
wide row rewritten to store it (half-empty SQLite pages, a dead tuple per row in PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, Connection, Engine, ForeignKey, Integer, LargeBinary, bindparam, select
from sqlalchemy.orm import Mapped, mapped_column

from ledger.core.merkle import HASH_LEN, MAX_LEAVES, MerkleTree, sibling_nodes
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


# Built once: composing the statement cost more than running it. A proof has at most _MOST_PAGES siblings
# (MAX_LEAVES leaves), so the pages it needs fit in that many parameters (the first repeated to fill them).
_MOST_PAGES = (2 * MAX_LEAVES - 1).bit_length()
_PAGES_OF_PROOF = select(PAGES.c.page, PAGES.c.nodes).where(
    PAGES.c.batch_id == bindparam("batch_id"), PAGES.c.page.in_([bindparam(f"p{k}") for k in range(_MOST_PAGES)]))


def read_proof(source: Connection | Engine, batch_id: int, node: int, *, own_connection: bool = False) -> bytes:
    """The concatenated proof of the leaf at ``node`` of the batch's tree, read in ``source``'s transaction or, from
    an Engine, through a bare driver connection (``own_connection``: this thread's, for the API's event loop)."""
    wanted = sibling_nodes(node)
    if not wanted:
        return b""
    needed = sorted({i // PAGE_NODES for i in wanted})
    params = {"batch_id": batch_id, **{f"p{k}": needed[min(k, len(needed) - 1)] for k in range(_MOST_PAGES)}}
    if isinstance(source, Engine):
        found = read_all(source, _PAGES_OF_PROOF, params, own_connection=own_connection)
    else:
        found = list(source.execute(_PAGES_OF_PROOF, params))
    pages = {p: bytes(n) for p, n in found}
    return b"".join(pages[i // PAGE_NODES][i % PAGE_NODES * HASH_LEN:(i % PAGE_NODES + 1) * HASH_LEN] for i in wanted)
