"""Each certificate batch's tree is stored in subtree pages (issue 12, first verifications at 5,000,000 rows).

Migration 0018 cut a tree's node array into pages of 60 nodes in level order: the top five levels shared one page,
but below them each level of a proof lay in a page of its own, ten pages of ~2 KB per proof of a 10,000-leaf batch,
most of them outside PostgreSQL's buffers at 5,000,000 certificates (70% of the buffers of a verification's read).
A page now holds the nodes of the five levels under one node (``ledger.storage.certificate_anchors.tree_pages``):
three pages per proof. Every stored tree is re-cut, batch by batch; downgrading cuts them back.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_HASH_LEN = 32
_LEVEL_ORDER_NODES = 60  # nodes per page as 0018 cut them
_SUBTREE_LEVELS = 5
_batches = sa.table("batches", sa.column("id", _ID), sa.column("kind", sa.String), sa.column("root", sa.LargeBinary),
                    sa.column("leaf_count", sa.Integer))
_pages = sa.table("batch_tree_pages", sa.column("batch_id", _ID), sa.column("page", sa.Integer),
                  sa.column("nodes", sa.LargeBinary))


def _trees(conn: sa.Connection) -> Iterator[tuple[int, bytes, int, list[tuple[int, bytes]]]]:
    """(batch, root, leaf count, its pages in order) for every certificate batch, one batch at a time."""
    batches = conn.execute(sa.select(_batches.c.id, _batches.c.root, _batches.c.leaf_count)
                           .where(_batches.c.kind == "certificate").order_by(_batches.c.id)).all()
    for batch_id, root, leaves in batches:
        pages = conn.execute(sa.select(_pages.c.page, _pages.c.nodes).where(_pages.c.batch_id == batch_id)
                             .order_by(_pages.c.page)).all()
        yield batch_id, bytes(root), leaves, [(p, bytes(n)) for p, n in pages]


def _replace(conn: sa.Connection, batch_id: int, pages: list[tuple[int, bytes]]) -> None:
    conn.execute(_pages.delete().where(_pages.c.batch_id == batch_id))
    if pages:
        conn.execute(_pages.insert(), [{"batch_id": batch_id, "page": p, "nodes": n} for p, n in pages])


def upgrade() -> None:
    # the pages as the code of this revision cuts them: a later change of layout copies this function here first,
    # as 0018 now stores its level-order pages itself
    from ledger.storage.certificate_anchors import tree_pages

    conn = op.get_bind()
    for batch_id, _root, _leaves, pages in _trees(conn):
        if pages:
            _replace(conn, batch_id, list(tree_pages(b"".join(n for _, n in pages))))


def _node_array(root: bytes, leaves: int, pages: list[tuple[int, bytes]]) -> bytes:
    """The node array of a tree of ``leaves`` leaves from its subtree pages (which never hold the root)."""
    total = 2 * leaves - 1
    nodes = [root] + [b""] * (total - 1)
    for page, data in pages:
        at = 0
        for j in range(1, _SUBTREE_LEVELS + 1):
            first = (page << j) - 1
            for k in range(first, min(first + (1 << j), total)):
                nodes[k] = data[at:at + _HASH_LEN]
                at += _HASH_LEN
    if any(len(n) != _HASH_LEN for n in nodes):
        raise RuntimeError("a certificate batch's stored tree lacks nodes: restore the database from its backup "
                           "before downgrading")
    return b"".join(nodes)


def downgrade() -> None:
    conn = op.get_bind()
    step = _LEVEL_ORDER_NODES * _HASH_LEN
    for batch_id, root, leaves, pages in _trees(conn):
        if pages or leaves == 1:
            nodes = _node_array(root, leaves, pages)
            _replace(conn, batch_id, [(p, nodes[p * step:(p + 1) * step])
                                      for p in range((len(nodes) + step - 1) // step)])
