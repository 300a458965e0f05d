"""Leaf statuses as the chain's ``StatusChanged`` events set them: one table (``chain_leaf_status``) for every process;
and the anchors its ``Anchored`` events made (``chain_anchors``), so a worker need not ask the chain node for each.

The indexer writes it from the events (changes made by any process, or outside the platform); a change this
library makes writes it too, in the transaction that records the change. API workers read one row per first
verification (on PostgreSQL within the certificate's own read) instead of each keeping a map of every changed
leaf, so their memory and start-up time do not depend on how many statuses changed. The indexer's cursor says up
to which block the table is complete; a worker reads the events after it from the chain itself
(``ledger.verify.chain_facts``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, Select, and_, bindparam, select, true
from sqlalchemy.dialects import sqlite

from ledger.storage.bulk import staged
from ledger.storage.certificate_anchors import CERTIFICATES_WITH_BATCH, LEAF_WITH_ANCHOR
from ledger.storage.driver_reads import read_one
from ledger.storage.models import (
    BATCHES,
    ChainAnchor,
    ChainEvent,
    ChainLeafStatus,
    IndexerCursor,
    Organization,
    as_utc,
)

_TABLE = ChainLeafStatus.__table__


# PostgreSQL: from the rows copied into a temporary table (``ledger.storage.bulk.staged``): one statement for a page.
_PG_UPSERT = (
    f"INSERT INTO {_TABLE.name} (issuer, root, leaf, status, reason, block_number) SELECT issuer, root, leaf, status, "
    "reason, block_number FROM %s ON CONFLICT (issuer, root, leaf) DO UPDATE SET status = excluded.status, "
    f"reason = excluded.reason, block_number = excluded.block_number WHERE excluded.block_number >= "
    f"{_TABLE.name}.block_number"
)


def upsert_leaf_statuses(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Set leaves' statuses (keys issuer, root, leaf, status "02"..., reason, block_number), in one statement;
    of rows for the same leaf the last one given wins (callers pass them in chain order). A row set by a later
    block than the one given is kept, so the indexer and a change recorded here may write in either order."""
    latest = list({(r["issuer"], r["root"], r["leaf"]): r for r in rows}.values())
    if not latest:
        return
    if conn.dialect.name == "postgresql":
        with staged(conn, _TABLE, latest) as source:
            conn.exec_driver_sql(_PG_UPSERT % source)
        return
    stmt = sqlite.insert(_TABLE)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["issuer", "root", "leaf"],
        set_={"status": stmt.excluded.status, "reason": stmt.excluded.reason,
              "block_number": stmt.excluded.block_number},
        where=stmt.excluded.block_number >= _TABLE.c.block_number,
    ), latest)


_LEAF = (_TABLE.c.issuer == bindparam("issuer"), _TABLE.c.root == bindparam("root"),
         _TABLE.c.leaf == bindparam("leaf"))
_STATUS_AND_CURSOR = select(
    select(_TABLE.c.status).where(*_LEAF).scalar_subquery(),
    select(_TABLE.c.block_number).where(*_LEAF).scalar_subquery(),
    select(IndexerCursor.last_block).where(IndexerCursor.name == bindparam("cursor")).scalar_subquery(),
)


_ORG = Organization.__table__.alias("status_org")
_CURSOR_OF = select(IndexerCursor.last_block).where(IndexerCursor.name == bindparam("status_cursor")).scalar_subquery()


def with_leaf_status(statement: Select) -> Select:
    """PostgreSQL: ``statement``, a read of a certificate with its anchor and batch (``CERTIFICATES_WITH_BATCH``), with
    its leaf's status read with it: one statement fewer per first verification (``ledger.verify.remembered``). Five
    columns more, which :meth:`StatusRead.of` takes: the account of the batch's organization, the leaf as the batch's
    tree holds it, the status and block the table holds for that leaf under that account (NULL: none) and the
    indexer's cursor named by the parameter ``status_cursor``."""
    of_row = select(_ORG.c.chain_address.label("issuer"), LEAF_WITH_ANCHOR).where(
        _ORG.c.id == BATCHES.c.org_id).lateral("status_of_row")
    return (statement.outerjoin_from(CERTIFICATES_WITH_BATCH, of_row, true())
            .outerjoin(_TABLE, and_(_TABLE.c.issuer == of_row.c.issuer, _TABLE.c.root == BATCHES.c.root,
                                    _TABLE.c.leaf == of_row.c.leaf))
            .add_columns(of_row.c.issuer, of_row.c.leaf, _TABLE.c.status, _TABLE.c.block_number, _CURSOR_OF))


class StatusRead(NamedTuple):
    """What :func:`with_leaf_status` read for one leaf: its key and the table's answer about it."""

    issuer: str | None
    root: bytes | None
    leaf: bytes | None
    answer: tuple[int | None, int | None, int | None]

    @classmethod
    def of(cls, root: bytes | None, columns: Sequence[Any]) -> StatusRead:
        issuer, leaf, status, block, indexed = columns
        return cls(issuer, root, leaf, (None if status is None else int(status), block, indexed))


_CURSOR = select(IndexerCursor.last_block).where(IndexerCursor.name == bindparam("cursor"))
_SEALS_REVOKED = select(ChainEvent.args).where(ChainEvent.event == "SealRevoked",
                                               ChainEvent.block_number <= bindparam("indexed"))


_ANCHORS = ChainAnchor.__table__
_ANCHOR = select(_ANCHORS.c.block_number, _ANCHORS.c.block_time, _ANCHORS.c.seal_fingerprint).where(
    _ANCHORS.c.issuer == bindparam("issuer"), _ANCHORS.c.root == bindparam("root"),
    _ANCHORS.c.seal_fingerprint.is_not(None))


class IndexedAnchor(NamedTuple):
    block_number: int
    timestamp: int  # Unix s
    seal_fingerprint: bytes


class LeafStatusTable:
    """Reads one leaf's status from the table, with the block up to which the indexer named ``cursor`` filled it;
    with ``anchors`` (the indexer of this cursor is the one writing ``chain_anchors``, which names no contract: the
    library's configured one) an anchor too."""

    def __init__(self, engine: Engine, cursor: str, *, anchors: bool = False) -> None:
        self.engine = engine
        self.cursor = cursor
        self.anchors = anchors
        self._given = threading.local()

    @contextlib.contextmanager
    def given(self, read: StatusRead | None) -> Iterator[None]:
        """In this thread, answer for ``read``'s leaf what was read with its certificate's row, without asking again
        (any other leaf is read as usual)."""
        self._given.read = read
        try:
            yield
        finally:
            self._given.read = None

    def anchor(self, issuer: str, root: bytes, *, own_connection: bool = False) -> IndexedAnchor | None:
        """``issuer``'s anchor of ``root`` as the indexer stored it from its ``Anchored`` event, None if it has not
        (not indexed yet, indexed before it kept the seal, or not anchored)."""
        if not self.anchors:
            return None
        row = read_one(self.engine, _ANCHOR, {"issuer": issuer, "root": root}, own_connection=own_connection)
        if row is None:
            return None
        block_number, block_time, fingerprint = row
        if isinstance(block_time, str):  # SQLite, read through the bare driver: text, as SQLAlchemy stored it
            block_time = dt.datetime.fromisoformat(block_time)
        return IndexedAnchor(int(block_number), int(as_utc(block_time).timestamp()), bytes(fingerprint))

    def __call__(self, issuer: str, root: bytes, leaf: bytes, *,
                 own_connection: bool = False) -> tuple[int | None, int | None, int | None]:
        """(the leaf's status and the block of the event that set it, None and None if none did; the last indexed
        block, None if never indexed); ``own_connection``: through this thread's own driver connection (the API's
        event loop)."""
        given: StatusRead | None = getattr(self._given, "read", None)
        if given is not None and (given.issuer, given.root, given.leaf) == (issuer, root, leaf):
            return given.answer
        row = read_one(self.engine, _STATUS_AND_CURSOR, {"issuer": issuer, "root": root, "leaf": leaf,
                                                         "cursor": self.cursor}, own_connection=own_connection)
        status, block, indexed = row or (None, None, None)
        return (None if status is None else int(status)), block, indexed

    def indexed(self) -> int | None:
        """The last block the indexer reached (None: never indexed)."""
        with self.engine.connect() as conn:
            return conn.scalar(_CURSOR, {"cursor": self.cursor})

    def seal_revocations(self) -> tuple[dict[bytes, int], int | None]:
        """The ``SealRevoked`` events the indexer stored (seal fingerprint: earliest compromise time, Unix s) and the
        block up to which it stored them (None if never indexed): a new worker takes these as read instead of
        asking the chain node for every block since the deployment."""
        with self.engine.connect() as conn:
            indexed = conn.scalar(_CURSOR, {"cursor": self.cursor})
            if indexed is None:
                return {}, None
            found: dict[bytes, int] = {}
            for (args,) in conn.execute(_SEALS_REVOKED, {"indexed": indexed}):
                fingerprint, when = bytes.fromhex(args["fingerprint"].removeprefix("0x")), int(args["compromiseTime"])
                found[fingerprint] = min(when, found.get(fingerprint, when))
        return found, indexed
