"""A new API worker's first look at seal revocations starts where the indexer's table ends, not at the deployment:
what it must know from the chain's history comes from the tables the indexer keeps."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from ledger.chain.compiler import load_artifact
from ledger.storage.leaf_statuses import LeafStatusTable
from ledger.storage.models import ChainEvent, IndexerCursor
from ledger.verify import chain_facts
from ledger.verify.chain_facts import ChainFacts

FINGERPRINT = b"\x22" * 32


class _Table:
    """The status table's reader, as indexed up to block 4,000 with one revocation."""

    lag_blocks = 0

    def __call__(self, issuer: str, root: bytes, leaf: bytes, *, own_connection: bool = False) -> tuple[None, int]:
        return None, 4000

    def seal_revocations(self) -> tuple[dict[bytes, int], int | None]:
        return {FINGERPRINT: 1_700_000_000}, 4000


def _facts(table: Any, asked: list[tuple[int, int]], monkeypatch: pytest.MonkeyPatch) -> ChainFacts:
    monkeypatch.setattr(chain_facts, "log_pages", lambda _client, _query, start, head: asked.append((start, head)) or [])
    client = SimpleNamespace(call_rpc=lambda read: read(), w3=SimpleNamespace(eth=SimpleNamespace(block_number=5000)))
    contract = SimpleNamespace(abi=load_artifact()["abi"], address="0x" + "11" * 20, client=client)
    return ChainFacts(contract, status_max_age=1.0, start_block=10, leaf_statuses=table)  # type: ignore[arg-type]


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
