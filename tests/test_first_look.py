"""A new API worker's first look at status events starts where the indexer's table ends, not at the deployment:
what it must know from the chain's history comes from the tables the indexer keeps, and what the indexer has not
stored yet from its own looks (kept until the indexer has it, and at most ``GAP_LIMIT`` events)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from eth_utils import event_abi_to_log_topic
from sqlalchemy import Engine, insert

from ledger.chain.compiler import load_artifact
from ledger.chain.logs import LogPage
from ledger.storage.leaf_statuses import LeafStatusTable
from ledger.storage.models import ChainEvent, IndexerCursor
from ledger.verify import chain_facts
from ledger.verify.chain_facts import Anchor, ChainFacts

FINGERPRINT = b"\x22" * 32
ISSUER = "0x" + "ab" * 20
ROOT = b"\x01" * 32


class _Table:
    """The status table's reader, as indexed up to block ``indexed_to`` (4,000) with one revocation and the rows
    ``rows`` (leaf: status, block)."""

    def __init__(self) -> None:
        self.indexed_to = 4000
        self.rows: dict[bytes, tuple[int, int]] = {}

    def __call__(self, issuer: str, root: bytes, leaf: bytes, *,
                 own_connection: bool = False) -> tuple[int | None, int | None, int]:
        status, block = self.rows.get(leaf, (None, None))
        return status, block, self.indexed_to

    def indexed(self) -> int:
        return self.indexed_to

    def seal_revocations(self) -> tuple[dict[bytes, int], int | None]:
        return {FINGERPRINT: 1_700_000_000}, 4000


def _facts(table: Any, asked: list[tuple[int, int]], monkeypatch: pytest.MonkeyPatch,
           logs: list[dict[str, Any]] | None = None, head: int = 5000) -> ChainFacts:
    """Facts over a chain at ``head`` whose status events are ``logs`` (one page per look, each asked once)."""
    def pages(_client: Any, _query: Any, start: int, last: int) -> list[LogPage]:
        asked.append((start, last))
        return [LogPage(start, last, [lg for lg in logs or [] if start <= lg["blockNumber"] <= last])]

    monkeypatch.setattr(chain_facts, "log_pages", pages)
    client = SimpleNamespace(call_rpc=lambda read: read(), w3=SimpleNamespace(eth=SimpleNamespace(block_number=head)))
    contract = SimpleNamespace(abi=load_artifact()["abi"], address="0x" + "11" * 20, client=client)
    return ChainFacts(contract, status_max_age=1.0, start_block=10, leaf_statuses=table)  # type: ignore[arg-type]


def _status_changed(leaf: bytes, status: int, block: int) -> dict[str, Any]:
    topic = event_abi_to_log_topic(next(e for e in load_artifact()["abi"] if e.get("name") == "StatusChanged"))
    return {"topics": [topic, bytes(12) + bytes.fromhex(ISSUER[2:]), ROOT, leaf],
            "data": status.to_bytes(32, "big") + (0).to_bytes(32, "big"), "blockNumber": block}


def _known(facts: ChainFacts, leaf: bytes) -> int | None:
    return facts._known_status(Anchor(ISSUER, 100, 0, bytes(32)), ROOT, leaf)


def test_the_first_look_reads_the_chain_after_the_indexer_only(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[int, int]] = []
    facts = _facts(_Table(), asked, monkeypatch)
    facts._apply_status_events()
    assert asked == [(4001, 5000)]
    assert facts.compromise_time(FINGERPRINT) == 1_700_000_000


def test_without_an_index_the_first_look_starts_at_the_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[int, int]] = []
    _facts(None, asked, monkeypatch)._apply_status_events()
    assert asked == [(10, 5000)]


def test_the_events_after_the_index_are_kept_until_the_indexer_has_them(monkeypatch: pytest.MonkeyPatch) -> None:
    table, asked = _Table(), []
    suspended, reinstated, older = b"\x02" * 32, b"\x03" * 32, b"\x04" * 32
    table.rows = {reinstated: (2, 3000), older: (3, 4600)}  # the latter written by a change made here
    logs = [_status_changed(suspended, 2, 4500), _status_changed(reinstated, 1, 4800), _status_changed(older, 2, 4100)]
    facts = _facts(table, asked, monkeypatch, logs)
    facts._apply_status_events()
    assert [_known(facts, leaf) for leaf in (suspended, reinstated, older, b"\x05" * 32)] == [2, 1, 3, 1]
    table.indexed_to, table.rows = 4600, {**table.rows, suspended: (2, 4500), older: (3, 4600)}
    facts._status_checked = 0.0
    facts._apply_status_events()
    assert asked[0] == (4001, 5000)
    assert facts._unindexed == (4600, {(bytes.fromhex(ISSUER[2:]), ROOT, reinstated): (1, 4800)})
    assert [_known(facts, leaf) for leaf in (suspended, reinstated, older)] == [2, 1, 3]
    table.indexed_to = 4000  # an indexer started again from an older cursor: the table no longer holds them
    assert _known(facts, suspended) is None


def test_too_many_events_after_the_index_wait_for_the_indexer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chain_facts, "GAP_LIMIT", 1)
    table = _Table()
    leaves = [bytes([i]) * 32 for i in (6, 7)]
    facts = _facts(table, [], monkeypatch, [_status_changed(leaf, 2, 4500) for leaf in leaves])
    facts._apply_status_events()
    assert facts._unindexed == (5000, {})
    assert _known(facts, leaves[0]) is None  # read by statusOf meanwhile
    table.indexed_to, table.rows = 5000, {leaf: (2, 4500) for leaf in leaves}
    assert [_known(facts, leaf) for leaf in leaves] == [2, 2]


def test_the_table_gives_the_stored_revocations_up_to_its_cursor(engine: Engine) -> None:
    cursor = f"ledger:test:{uuid.uuid4().hex}"
    table = LeafStatusTable(engine, cursor)
    assert table.seal_revocations() == ({}, None)
    fingerprint = "0x" + uuid.uuid4().hex * 2
    tx = uuid.uuid4().bytes * 2
    with engine.begin() as conn:
        conn.execute(insert(IndexerCursor), {"name": cursor, "last_block": 10**9})
        conn.execute(insert(ChainEvent), [
            {"block_number": 10**9 - 1, "log_index": i, "tx_hash": tx, "event": "SealRevoked",
             "args": {"account": "0x" + "33" * 20, "fingerprint": fingerprint, "compromiseTime": when}}
            for i, when in enumerate((1_800_000_000, 1_700_000_000))])
    known, indexed = table.seal_revocations()
    assert indexed == 10**9 and known[bytes.fromhex(fingerprint[2:])] == 1_700_000_000  # the earlier time counts
