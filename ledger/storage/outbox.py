"""The anchoring outbox: items and their leaves queued together, claimed as batches, completed with proofs.

Crash-safe anchoring worker protocol
------------------------------------
1. Issuance inserts each certificate and an ``anchor_outbox`` row (its leaf, ``batch_id`` NULL) in
   the same transaction: a committed certificate is always queued. Report summaries and
   access-log entries are queued the same way (:func:`enqueue_leaves`, :data:`ANCHORED_ITEMS`).
2. The worker calls :func:`claim_batch`. In ONE transaction it takes unclaimed rows of one
   (kind, org, seal) in id order (the seal of the oldest queued row: a batch never mixes leaves sealed
   with different seals, as the contract records one seal per anchor) (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers take
   disjoint rows; SQLite has one writer at a time), numbers them ``leaf_index`` 0..n-1, computes
   the Merkle root, inserts a ``batches`` row with status ``pending`` (with the first and last outbox id it
   claimed: the batch's rows are read and deleted by their queue's index between the two, as no index holds
   what a claim sets) and points the outbox rows (and their items) at it; for certificates it appends their
   ``certificate_anchors`` rows and the batch's tree instead of pointing them (``ledger.storage.certificate_anchors``). When this commits,
   the intended batch - root and ordered leaves - is durable BEFORE any transaction is sent.
3. The worker sends the anchoring transaction and waits for its receipt.
4. It then calls :func:`complete_batch`: block number and time, status ``anchored``, each item's
   proof (not a certificate's: it is read from the tree), and the batch's outbox rows are deleted (on PostgreSQL
   the worker vacuums the table every so many leaves: :func:`reclaim_outbox`).
Recovery: a restarted worker lists :func:`unfinished_batches` and asks the chain whether each root
is anchored. If it is, it records it (step 4); if not, it re-sends (step 3) - the same root from the
same stored leaves, and the contract refuses a second anchor of one root, so a resend can never
anchor twice. No row is ever claimed twice because claiming and recording the batch are one
transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Table,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.core.errors import Conflict
from ledger.core.merkle import MerkleTree
from ledger.storage.bulk import bulk_insert, one_of
from ledger.storage.certificate_anchors import record_tree
from ledger.storage.models import (
    ACCESS_LOG,
    BATCHES,
    CERTIFICATES,
    OUTBOX,
    REPORT_SUMMARIES,
    Batch,
    StatusListSnapshot,
    utcnow,
)
from ledger.storage.plan_tables import PLAN_REPORTS
from ledger.storage.tallies import count_certificates, count_reports

# outbox kind -> the table of the items it anchors; each has columns id and leaf, and batch_id, leaf_index and proof
# but certificates, whose batch, place and tree are kept apart (ledger.storage.certificate_anchors)
ANCHORED_ITEMS: dict[str, Table] = {"certificate": CERTIFICATES, "report": REPORT_SUMMARIES,
                                    "access_log": ACCESS_LOG, "status_list": StatusListSnapshot.__table__,
                                    "plan_report": PLAN_REPORTS}


def insert_anchored(conn: Connection, kind: str, rows: Sequence[dict[str, Any]], *, org_key: str,
                    seal: bytes | None) -> list[int]:
    """Insert many items of an anchored kind (dicts keyed by column name) and queue their leaves.

    Rows go in through :func:`bulk_insert` (each with its ``leaf``, which a table without that column, the
    certificates', derives from the record instead of storing); one indexed lookup by ``identifier`` then finds
    the new ids, returned in the order of ``rows``; ``org_key`` names the column holding the anchoring
    organization, ``seal`` the fingerprint of the seal certificate the items were sealed with. The caller
    owns the transaction, so items, their outbox rows and their counts (``ledger.storage.tallies``) commit together.
    """
    table = ANCHORED_ITEMS[kind]
    leaves = [r["leaf"] for r in rows]
    stored = rows if "leaf" in table.c else [{k: v for k, v in r.items() if k != "leaf"} for r in rows]
    bulk_insert(conn, table, stored)
    if kind == "certificate":
        count_certificates(conn, rows)
    elif kind == "report":
        count_reports(conn, (r[org_key] for r in rows))
    idents = [r["identifier"] for r in rows]
    by_ident = values_by_key(conn, table, idents)
    ids = [by_ident[i] for i in idents]
    enqueue_leaves(conn, kind, [(r[org_key], leaf, i) for r, leaf, i in zip(rows, leaves, ids, strict=True)],
                   seal=seal)
    return ids


def values_by_key(conn: Connection, table: Table, keys: Sequence[str], *, key: str = "identifier",
                  value: str = "id") -> dict[str, Any]:
    """``value`` of the rows whose ``key`` column is one of ``keys``, by key: one indexed look-up (:func:`one_of`)."""
    q = select(table.c[key], table.c[value]).where(one_of(table.c[key], keys, conn.dialect.name))
    return {k: v for k, v in conn.execute(q)}


def insert_certificates(conn: Connection, rows: Sequence[dict[str, Any]], seal: bytes) -> list[int]:
    """Insert many certificates and queue their leaves (:func:`insert_anchored`); defaults version 1, status 01."""
    if not rows:
        return []
    now = utcnow()
    defaults = {c.name: None for c in CERTIFICATES.columns if c.nullable and c.name != "id"}
    try:
        return insert_anchored(conn, "certificate",
                               [{**defaults, "created_at": now, "version": 1, "status": "01", **r} for r in rows],
                               org_key="issuer_org_id", seal=seal)
    except IntegrityError as e:
        raise Conflict(
            "certificate_duplicate",
            "a certificate with one of these identifiers, or the same issuer, type, number and version, "
            f"already exists; nothing was inserted ({str(e.orig).splitlines()[0]})",
        ) from e


def enqueue_leaves(conn: Connection, kind: str, items: Sequence[tuple[int, bytes, int]], *,
                   seal: bytes | None = None) -> None:
    """Queue ``(org_id, leaf, item_id)`` leaves of one anchored kind for the anchoring worker; ``seal``: the
    fingerprint of the seal certificate they were sealed with (None: unsealed, the access log).

    Call it in the transaction that inserts the items, so that an item exists only if it is queued.
    """
    if kind not in ANCHORED_ITEMS:
        raise ValueError(f"unknown anchored kind {kind!r}; known: {sorted(ANCHORED_ITEMS)}")
    now = utcnow()
    bulk_insert(conn, OUTBOX, [
        {"kind": kind, "org_id": org_id, "leaf": leaf, "item_id": item_id, "batch_id": None, "leaf_index": None,
         "seal_fingerprint": seal, "created_at": now}
        for org_id, leaf, item_id in items
    ])


def _take_write_lock(session: Session) -> None:
    """On SQLite, make this transaction the writer now rather than at its first change.

    A deferred transaction that reads and then writes can fail with SQLITE_BUSY when another
    writer committed meanwhile; a no-op UPDATE takes the write lock first (waiting on busy_timeout).
    PostgreSQL locks rows instead (``FOR UPDATE SKIP LOCKED``).
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(OUTBOX).where(OUTBOX.c.id == -1).values(batch_id=None))


def claim_batch(
    session: Session, *, kind: str, org_id: int, limit: int, tree_of: Callable[[list[bytes]], MerkleTree],
    seal: bytes | None = None,
) -> Batch | None:
    """Claim up to ``limit`` queued leaves of one org, all sealed with the seal of its oldest queued leaf, as a
    new ``pending`` batch, durably (step 2).

    ``tree_of`` builds the Merkle tree of the ordered leaves; ``seal``, when given, claims leaves of that seal
    only. Runs and commits its own transaction; returns None when nothing is queued.
    """
    with session.begin():
        _take_write_lock(session)
        queued = (OUTBOX.c.kind == kind, OUTBOX.c.org_id == org_id, OUTBOX.c.batch_id.is_(None))
        if seal is None:
            first = session.execute(select(OUTBOX.c.seal_fingerprint).where(*queued).order_by(OUTBOX.c.id).limit(1)
                                    .with_for_update(skip_locked=True)).first()
            if first is None:
                return None
            seal = first.seal_fingerprint
        same_seal = OUTBOX.c.seal_fingerprint.is_(None) if seal is None else OUTBOX.c.seal_fingerprint == seal
        q = (
            select(OUTBOX.c.id, OUTBOX.c.leaf, OUTBOX.c.item_id)
            .where(*queued, same_seal)
            .order_by(OUTBOX.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = session.execute(q).all()
        if not rows:
            return None
        tree = tree_of([r.leaf for r in rows])
        batch = Batch(kind=kind, org_id=org_id, root=tree.root, leaf_count=len(rows),
                      outbox_first_id=rows[0].id, outbox_last_id=rows[-1].id)
        session.add(batch)
        session.flush()
        conn = session.connection()
        _number_leaves(conn, batch.id, [r.id for r in rows])
        if kind == "certificate":
            record_tree(conn, batch.id, [r.item_id for r in rows], tree)
            return batch
        linked = [{"iid": r.item_id, "batch_id": batch.id, "leaf_index": i}
                  for i, r in enumerate(rows) if r.item_id is not None]
        if linked:
            items = ANCHORED_ITEMS[kind]
            conn.execute(update(items).where(items.c.id == bindparam("iid")), linked)
    return batch


def _number_leaves(conn: Connection, batch_id: int, outbox_ids: list[int]) -> None:
    """Point the claimed outbox rows at the batch, numbered 0..n-1 in the given order, in ONE statement (an
    UPDATE per row made claiming 10,000 leaves cost seconds)."""
    if conn.dialect.name == "postgresql":
        sql = (f"UPDATE {OUTBOX.name} AS o SET batch_id = :batch, leaf_index = v.n - 1 FROM "
               "unnest(CAST(:ids AS bigint[])) WITH ORDINALITY AS v(id, n) WHERE o.id = v.id")
        conn.execute(text(sql), {"batch": batch_id, "ids": outbox_ids})
    else:
        sql = (f"UPDATE {OUTBOX.name} SET batch_id = :batch, leaf_index = v.key FROM json_each(:ids) AS v "
               f"WHERE {OUTBOX.name}.id = v.value")
        conn.execute(text(sql), {"batch": batch_id, "ids": json.dumps(outbox_ids)})


def _of_batch(session: Session, batch_id: int) -> tuple[str, tuple[ColumnElement[bool], ...]]:
    """A claimed batch's kind, and which outbox rows it holds, as its queue's index finds them: between the first
    and last id the claim took, those pointing at the batch."""
    kind, org_id, first, last = session.execute(
        select(BATCHES.c.kind, BATCHES.c.org_id, BATCHES.c.outbox_first_id, BATCHES.c.outbox_last_id)
        .where(BATCHES.c.id == batch_id)).one()
    c = OUTBOX.c
    return kind, (c.kind == kind, c.org_id == org_id, c.id.between(first, last), c.batch_id == batch_id)


def batch_seal(session: Session, batch_id: int) -> bytes | None:
    """The fingerprint of the seal a claimed batch's leaves were sealed with (None: unsealed items)."""
    return session.scalar(select(OUTBOX.c.seal_fingerprint).where(*_of_batch(session, batch_id)[1]).limit(1))


def queued_with_seal(session: Session, org_id: int, seal: bytes) -> int:
    """How many leaves of the organization sealed with ``seal`` wait for anchoring (queued or in a pending batch)."""
    return session.scalar(select(func.count()).select_from(OUTBOX)
                          .where(OUTBOX.c.org_id == org_id, OUTBOX.c.seal_fingerprint == seal)) or 0


def batch_leaves(session: Session, batch_id: int) -> list[bytes]:
    """The claimed leaves of a batch in tree order, to rebuild its tree after a restart."""
    q = select(OUTBOX.c.leaf).where(*_of_batch(session, batch_id)[1]).order_by(OUTBOX.c.leaf_index)
    return list(session.execute(q).scalars())


def unfinished_batches(session: Session, kind: str | None = None) -> list[Batch]:
    """Batches claimed but not yet recorded as anchored: what a restarted worker must settle."""
    q = select(Batch).where(Batch.status == "pending").order_by(Batch.id)
    if kind is not None:
        q = q.where(Batch.kind == kind)
    return list(session.execute(q).scalars())


def complete_batch(
    session: Session,
    batch_id: int,
    *,
    tx_hash: bytes,
    block_number: int,
    block_time: dt.datetime,
    proofs: Sequence[bytes],
) -> bool:
    """Step 4: the root is on chain. Stores each item's proof (by leaf index; a certificate's is read from its
    batch's tree) and clears the outbox. False, and nothing written, when another worker (or a seal rotation's
    drain) recorded the batch first: two may settle one pending batch at once."""
    with session.begin():
        _take_write_lock(session)
        recorded = session.execute(
            update(BATCHES)
            .where(BATCHES.c.id == batch_id, BATCHES.c.status == "pending")
            .values(status="anchored", tx_hash=tx_hash, block_number=block_number, block_time=block_time)
        )
        if recorded.rowcount == 0:
            return False
        kind, rows = _of_batch(session, batch_id)
        linked = [] if kind == "certificate" else session.execute(
            select(OUTBOX.c.item_id, OUTBOX.c.leaf_index).where(*rows, OUTBOX.c.item_id.is_not(None))
        ).all()
        if linked:
            items = ANCHORED_ITEMS[kind]
            session.connection().execute(
                update(items).where(items.c.id == bindparam("iid")),
                [{"iid": r.item_id, "proof": proofs[r.leaf_index]} for r in linked],
            )
        session.execute(delete(OUTBOX).where(*rows))
    return True


def reclaim_outbox(engine: Engine) -> None:
    """Vacuum the outbox on PostgreSQL (``SKIP_LOCKED``: a vacuum already under way is enough).

    Every leaf leaves two dead row versions behind (its claim, its deletion), and until a vacuum the queue's own
    look-ups (which queues are due, what a claim takes) read through all of them: at an import's rate the dead
    versions outgrow autovacuum (or it is off), and each round of the worker got slower as the import went on.
    SQLite reuses a deleted row's space by itself. Where the role does not own the table, PostgreSQL skips the vacuum
    with a warning, not an error."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(f"VACUUM (SKIP_LOCKED) {OUTBOX.name}")
