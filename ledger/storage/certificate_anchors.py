"""Where each certificate's leaf sits once its batch is claimed, and every certificate batch's Merkle tree.

A certificate row is written once, at issuance: the anchoring worker does not come back to it. When it claims a
batch (``ledger.storage.outbox.claim_batch``) it appends one narrow ``certificate_anchors`` row per certificate
(its batch, its place in the batch's leaves and in the tree's node array) and the batch's tree, the node array
of ``ledger.core.merkle.MerkleTree`` cut into subtree pages: under each node of levels 0, 5, 10, ... that has
children, the 62 nodes of the five levels below it (1,984 bytes: a row stays in its SQLite page and out of
PostgreSQL's TOAST). Both children of a node share its page, so a proof's siblings lie in one page per five levels:
three pages for a 10,000-leaf batch, where pages cut in level order put every level below the fifth in a page of
its own (ten pages; migration 0023). A proof is read back from those pages, one indexed read per page that returns
only its nodes, instead of a proof of ~450 bytes stored in every certificate row and the wide row rewritten to
store it (half-empty SQLite pages, a dead tuple per row in PostgreSQL).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import (BigInteger, Connection, Engine, ForeignKey, Integer, LargeBinary, PrimaryKeyConstraint,
                        literal_column, text)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import TextClause

from ledger.core.errors import ServiceUnavailable
from ledger.core.merkle import HASH_LEN, MerkleTree, sibling_nodes
from ledger.storage.bulk import bulk_insert
from ledger.storage.driver_reads import read_all
from ledger.storage.models import BATCHES, CERTIFICATES, Base

PAGE_LEVELS = 5
# On a proof's path, 30 levels deep at most (a node's index + 1 < 2**31). The SQL enumerates its pages over this
# constant range, filtered by the depth: a series of unknown length is priced at 1,000 rows, which put the batched
# verification read past ``jit_above_cost`` and had it compiled with LLVM at every execution (tests/test_indexes.py).
_MAX_PAGES = 6


class CertificateAnchor(Base):
    """A certificate's leaf in its batch: appended when the batch is claimed, never changed. Only
    :func:`record_tree` writes it, with the batch inserted and the certificates read from the outbox in the same
    transaction (neither is ever deleted): no foreign keys checked on each of its rows (migration 0020)."""

    __tablename__ = "certificate_anchors"
    # PostgreSQL reads the row from its key alone (an index-only scan: migration 0024)
    __table_args__ = (PrimaryKeyConstraint("certificate_id", name="pk_certificate_anchors",
                                           postgresql_include=["batch_id", "leaf_index", "node"]),)
    certificate_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))  # a certificates.id
    batch_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))  # a batches.id
    leaf_index: Mapped[int] = mapped_column(Integer)  # in the batch's leaves, as the outbox numbered them
    node: Mapped[int] = mapped_column(Integer)  # in the batch tree's node array (leaves are sorted there)


class BatchTreePage(Base):
    """The nodes of the ``PAGE_LEVELS`` levels under one node of a certificate batch's tree, level by level (a level
    cut short only where the tree's last level ends). ``page`` is that node's place in the tree as a heap counts it
    from 1 (its node index + 1): the pages of a proof are the 1-based indices of the leaf's ancestors on levels 0,
    5, 10, ..."""

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


def tree_pages(nodes: bytes) -> Iterator[tuple[int, bytes]]:
    """(page, its nodes) for a tree's concatenated node array, top down."""
    total = len(nodes) // HASH_LEN
    top = 1  # the first node of a level 0, 5, 10, ... counted from 1
    while 2 * top <= total:
        for page in range(top, min(2 * top, total // 2 + 1)):  # the nodes of the level that have children
            yield page, b"".join(nodes[((page << j) - 1) * HASH_LEN:((page << j) - 1 + (1 << j)) * HASH_LEN]
                                 for j in range(1, PAGE_LEVELS + 1))
        top <<= PAGE_LEVELS


def page_of(node: int) -> tuple[int, int]:
    """(page, place in it) of the tree node at ``node``, any node but the root."""
    i = node + 1
    j = (i.bit_length() - 2) % PAGE_LEVELS + 1  # its level in the page: 1 .. PAGE_LEVELS
    return i >> j, (1 << j) - 2 + (i & ((1 << j) - 1))


def record_tree(conn: Connection, batch_id: int, certificate_ids: Sequence[int], tree: MerkleTree) -> None:
    """Store a claimed batch's tree and where each of its certificates' leaves sits (``certificate_ids`` in the
    order of the tree's leaves), in the claiming transaction."""
    bulk_insert(conn, PAGES, [{"batch_id": batch_id, "page": p, "nodes": n}
                              for p, n in tree_pages(b"".join(tree.nodes))])
    bulk_insert(conn, ANCHORS, [{"certificate_id": c, "batch_id": batch_id, "leaf_index": i, "node": node}
                                for i, (c, node) in enumerate(zip(certificate_ids, tree.leaf_nodes(), strict=True))])


# The depth of a node from its 1-based index i (< 2**31), in PostgreSQL: how many powers of two from 2 up are <= i.
_DEPTH = "width_bucket({i}, '{{" + ",".join(str(1 << k) for k in range(1, 31)) + "}}'::int[])"


def _pg_cut(j: int) -> str:
    """PostgreSQL: the sibling on level ``j`` of the page ``p`` on the path of ``v.i`` (at depth ``v.d``; the page
    ``v.m`` from the top), or nothing if the path ends above that level."""
    level = f"({PAGE_LEVELS} * v.m + {j})"
    return (f"CASE WHEN v.d >= {level} THEN substring(p.nodes FROM ({(1 << j) - 2} + "
            f"(((v.i >> (v.d - {level})) # 1) & {(1 << j) - 1})) * {HASH_LEN} + 1 FOR {HASH_LEN}) ELSE ''::bytea END")


def _pg_proof(node: str, batch_id: str) -> str:
    """PostgreSQL: the proof of the leaf at ``node`` of batch ``batch_id`` (SQL expressions), its siblings cut out of
    the pages on its path and concatenated, from the leaf up (:func:`ledger.core.merkle.sibling_nodes`' order): with
    i = node + 1 and d its depth, page m (from the top) is i's ancestor on level 5m, i >> (d - 5m), and holds the
    siblings of levels 5m+1 .. 5m+5, the sibling on level l being (i >> (d - l)) XOR 1. One indexed read per page."""
    cuts = " || ".join(_pg_cut(j) for j in range(PAGE_LEVELS, 0, -1))
    return (f"(SELECT string_agg((SELECT {cuts} FROM {PAGES.name} AS p WHERE p.batch_id = {batch_id} "
            f"AND p.page = v.i >> (v.d - {PAGE_LEVELS} * v.m)), ''::bytea ORDER BY v.m DESC) "
            f"FROM (SELECT x.i, x.d, m FROM (SELECT {node} + 1 AS i, {_DEPTH.format(i=f'{node} + 1')} AS d) AS x, "
            f"generate_series(0, {_MAX_PAGES - 1}) AS m WHERE {PAGE_LEVELS} * m < x.d) AS v)")


# A proof's nodes are cut out of their pages by the database: about fourteen 32-byte values cross the wire instead of
# the pages holding them. As a column of a statement that reads a certificate with its ``certificate_anchors`` row
# (PostgreSQL), the proof comes with the row: one statement and one round trip fewer per verification.
PROOF_WITH_ANCHOR = literal_column(_pg_proof(f"{ANCHORS.name}.node", f"{ANCHORS.name}.batch_id")).label("proof")
# and the leaf itself, as the batch's tree holds it (a batch of one leaf: its root)
LEAF_WITH_ANCHOR = literal_column(
    f"CASE WHEN {ANCHORS.name}.node = 0 THEN {BATCHES.name}.root ELSE (SELECT substring(lp.nodes FROM "
    f"((1 << w.j) - 2 + (w.i & ((1 << w.j) - 1))) * {HASH_LEN} + 1 FOR {HASH_LEN}) "
    f"FROM (SELECT y.i, (y.d - 1) % {PAGE_LEVELS} + 1 AS j FROM (SELECT {ANCHORS.name}.node + 1 AS i, "
    f"{_DEPTH.format(i=f'{ANCHORS.name}.node + 1')} AS d) AS y) AS w JOIN {PAGES.name} AS lp "
    f"ON lp.batch_id = {ANCHORS.name}.batch_id AND lp.page = w.i >> w.j) END").label("leaf")

# A proof read apart: on PostgreSQL its nodes cut out in SQL, as with the anchor row (at 1,000,000 certificates a
# reader spent 85 µs of CPU on the ten pages that held a proof, 47 on its nodes); SQLite, in process, returns the
# pages holding it (their keys as JSON) and :func:`read_proof` cuts the nodes out.
_PG_PROOF = text("SELECT " + _pg_proof("CAST(:node AS int)", ":batch_id"))
_SQLITE_PAGES = text(f"SELECT page, nodes FROM {PAGES.name} WHERE batch_id = :batch_id "
                     "AND page IN (SELECT value FROM json_each(:pages))")


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
    siblings = sibling_nodes(node)
    if not siblings:
        return b""
    if source.dialect.name == "postgresql":
        found = _rows(source, _PG_PROOF, {"batch_id": batch_id, "node": node}, own_connection)
        return checked_proof(batch_id, node, found[0][0] if found else None)
    wanted = [page_of(s) for s in siblings]
    found = _rows(source, _SQLITE_PAGES, {"batch_id": batch_id, "pages": json.dumps(sorted({p for p, _ in wanted}))},
                  own_connection)
    pages = {page: bytes(nodes) for page, nodes in found}
    return checked_proof(batch_id, node, b"".join(pages.get(page, b"")[at * HASH_LEN:(at + 1) * HASH_LEN]
                                                  for page, at in wanted))


def _rows(source: Connection | Engine, statement: TextClause, params: dict[str, Any],
          own_connection: bool) -> Sequence[Any]:
    if isinstance(source, Engine):
        return read_all(source, statement, params, own_connection=own_connection)
    return source.execute(statement, params).all()
