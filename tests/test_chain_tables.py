"""The indexer's bulk writes, on SQLite and on PostgreSQL (where a page goes through ``COPY``,
``ledger.storage.bulk.staged``): leaf statuses in chain order, chain events once each."""

from __future__ import annotations

import os

from sqlalchemy import Engine, select

from ledger.storage.chain_events import insert_chain_events
from ledger.storage.leaf_statuses import upsert_leaf_statuses
from ledger.storage.models import ChainEvent, ChainLeafStatus

ISSUER = "0x" + "Ab" * 20


def _status(leaf: bytes, root: bytes, status: str, block: int) -> dict[str, object]:
    return {"issuer": ISSUER, "root": root, "leaf": leaf, "status": status, "reason": "0", "block_number": block}


def _statuses(engine: Engine, root: bytes) -> dict[bytes, tuple[str, int]]:
    t = ChainLeafStatus.__table__
    with engine.connect() as conn:
        return {r.leaf: (r.status, r.block_number) for r in conn.execute(select(t).where(t.c.root == root))}


def test_a_leafs_status_is_its_latest_change_in_chain_order(engine: Engine) -> None:
    root, a, b, c = (os.urandom(32) for _ in range(4))
    with engine.begin() as conn:  # one page: of two changes of a leaf, the later one wins
        upsert_leaf_statuses(conn, [_status(a, root, "02", 10), _status(b, root, "02", 10), _status(a, root, "03", 11)])
        upsert_leaf_statuses(conn, [_status(c, root, "02", 12)])  # a second page in the same transaction
    assert _statuses(engine, root) == {a: ("03", 11), b: ("02", 10), c: ("02", 12)}
    with engine.begin() as conn:  # an older block never overwrites; the same or a later one does
        upsert_leaf_statuses(conn, [_status(a, root, "02", 10), _status(b, root, "01", 10), _status(c, root, "01", 13)])
    assert _statuses(engine, root) == {a: ("03", 11), b: ("01", 10), c: ("01", 13)}


def test_chain_events_are_recorded_once_with_their_arguments(engine: Engine) -> None:
    tx = os.urandom(32)
    args = {"issuer": ISSUER, "root": "0x" + tx.hex(), "leafCount": 2**70, "reason": "印章更换 / seal rotated"}
    rows = [{"block_number": 7, "log_index": i, "tx_hash": tx, "event": "StatusChanged", "args": args | {"i": i}}
            for i in range(3)]
    with engine.begin() as conn:
        insert_chain_events(conn, rows)
        insert_chain_events(conn, rows[1:])  # a page read again in the same transaction adds nothing
    with engine.begin() as conn:
        insert_chain_events(conn, rows)  # nor in a later one
    with engine.connect() as conn:
        got = conn.execute(select(ChainEvent.log_index, ChainEvent.args).where(ChainEvent.tx_hash == tx)
                           .order_by(ChainEvent.log_index)).all()
    assert [(r.log_index, r.args) for r in got] == [(i, args | {"i": i}) for i in range(3)]
