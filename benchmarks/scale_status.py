"""The status changes of ``benchmarks.scale``: K certificates suspended (every k-th of each department's), so that
API workers can be measured at that size with and without them.

Two paths (``--status-path``):

- ``chain`` (the default, the honest one): the library's change path, ``ledger.issue.status_changes.change_status``
  in calls of 50,000: setStatusMany on chain (about 25,600 gas a leaf, about 1,000 leaves a transaction under
  Hardhat's 60 M gas blocks), then the certificates, their events and ``chain_leaf_status`` in the database;
- ``table``: when the chain path takes too long on Hardhat at 1,000,000 changes, the rows the indexer would
  write from the StatusChanged events of those changes (``ledger.storage.leaf_statuses``: issuer, root, leaf,
  status 02), written straight into ``chain_leaf_status`` with no transaction on chain. API workers read a
  leaf's status from that table alone, so their memory and start-up see the same table; the output says which
  path was taken (``status_changes_path``). The first ``ON_CHAIN_WITH_TABLE`` of them still go the chain path,
  so that the catch-up below has a backlog of real StatusChanged events at that size.

``index_events_per_s`` (:func:`index_rate`): a second indexer, with a cursor of its own, indexing the whole chain
from the deployment after the changes: how fast ``certledger indexer`` catches up with a backlog of events (on
the table path, over the ``ON_CHAIN_WITH_TABLE`` changes made on chain: without them it timed the few hundred
registration and anchoring events alone, mostly its own start, 444-1,089 a second in the 5 M runs); then a third
indexer over pages of one block each (``index_paged_events_per_s``; ``index_paged_blocks``, one page each), where
the indexer reads each next page while it writes one.
It used to index StatusChanged events at 70-175 a second (about 13 ms each, profiled: web3's event decoding
and two statements per event), hours for 1,000,000 changes, which the API workers wait for (they read the
table only while the indexer is current); it now decodes raw logs and writes each page in bulk
(``ledger.chain.indexer``), thousands a second (docs/import.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import Row, func, select

from ledger.app.indexing import chain_indexer
from ledger.chain.indexer import Indexer
from ledger.core.statuses import LeafStatus
from ledger.core.record import record_leaf
from ledger.issue.status_changes import MAX_IDENTIFIERS, change_status
from ledger.storage.certificate_anchors import ANCHORS
from ledger.storage.leaf_statuses import upsert_leaf_statuses
from ledger.storage.models import BATCHES, CERTIFICATES, Organization
from ledger.verify.service import verify_identifier

ON_CHAIN_WITH_TABLE = 15_000  # about 12 s on Hardhat (1,100-1,200 changes a second); the catch-up a few seconds
PATHS = {
    "chain": "chain: ledger.issue.status_changes (setStatusMany), then the database",
    "table": "table: chain_leaf_status rows as the indexer writes them from StatusChanged events, no chain transaction "
             f"(the first {ON_CHAIN_WITH_TABLE:,} through the chain)",
}
_SUSPENDED = f"{int(LeafStatus.SUSPENDED):02d}"


def _picked(stack: Any, orgs: list[Organization], wanted: int, page: int) -> Iterator[tuple[Organization, list[Row]]]:
    """Every k-th certificate of each department in turn (k: stored over ``wanted``), ``page`` at a time."""
    c = CERTIFICATES.c
    with stack.engine.connect() as conn:
        step = max(int(conn.execute(select(func.count()).select_from(CERTIFICATES)).scalar_one()) // max(wanted, 1), 1)
    made = 0
    for org in orgs:
        last = 0
        while made < wanted:
            with stack.engine.connect() as conn:
                rows = conn.execute(
                    select(c.id, c.identifier, c.record, BATCHES.c.root, BATCHES.c.block_number)
                    .select_from(CERTIFICATES.join(ANCHORS, ANCHORS.c.certificate_id == c.id)
                                 .join(BATCHES, ANCHORS.c.batch_id == BATCHES.c.id))
                    .where(c.issuer_org_id == org.id, c.id > last, c.id % step == 0).order_by(c.id)
                    .limit(min(page, wanted - made))).all()
            if not rows:
                break
            last, made = rows[-1].id, made + len(rows)
            yield org, rows


def _suspend(stack: Any, orgs: list[Organization], wanted: int, on_chain: int) -> tuple[int, str, int, float]:
    """Suspend ``wanted`` certificates, the first ``on_chain`` of them through the library and the chain, the rest
    as the indexer writes them: how many were changed, the last one's identifier, how many through the chain and
    how long those took."""
    made, last, chained, chain_s = 0, "", 0, 0.0
    page = MAX_IDENTIFIERS if on_chain >= wanted else 5_000
    for org, rows in _picked(stack, orgs, wanted, page):
        by_chain, by_table = rows[:max(on_chain - chained, 0)], rows[max(on_chain - chained, 0):]
        changed = 0
        if by_chain:
            t = time.perf_counter()
            changed = change_status(stack.lib, org, [r.identifier for r in by_chain], "suspend",
                                    "规模基准测试 / scale benchmark", actor="benchmarks.scale").certificates
            chained, chain_s = chained + changed, chain_s + time.perf_counter() - t
        if by_table:
            with stack.engine.begin() as conn:
                upsert_leaf_statuses(conn, [{"issuer": to_checksum_address(org.chain_address), "root": r.root,
                                             "leaf": record_leaf(r.record.encode()), "status": _SUSPENDED,
                                             "reason": "0", "block_number": r.block_number} for r in by_table])
        made, last = made + changed + len(by_table), rows[-1].identifier
    return made, last, chained, chain_s


def status_changes(stack: Any, orgs: list[Organization], wanted: int, path: str) -> dict[str, Any]:
    """Suspend ``wanted`` certificates by ``path`` ("chain" or "table"); how many, how long, and what the last one
    changed now verifies as (INVALID, status check ``suspended``: the service reads the changes)."""
    start = time.perf_counter()
    made, last, chained, chain_s = _suspend(stack, orgs, wanted,
                                            wanted if path == "chain" else min(wanted, ON_CHAIN_WITH_TABLE))
    seconds = time.perf_counter() - start
    verdict = ""
    if last:
        result = verify_identifier(stack.lib, last)
        verdict = f"{result.verdict.value} ({result.check('status').reason})"
    return {"status_changes": made, "status_changes_s": round(seconds, 1),
            "status_changes_per_s": round(made / seconds) if made else 0, "status_changes_path": PATHS[path],
            "status_changes_on_chain": chained, "status_changes_on_chain_s": round(chain_s, 1),
            "status_changed_verdict": verdict}


def index_rate(stack: Any) -> dict[str, Any]:
    """Events a second of an indexer catching up from the deployment's block with a cursor of its own (the
    service's cursor and tables stay as they are: rows it writes again are the same rows): over pages of
    ``CERTLEDGER_LOG_RANGE`` blocks (Hardhat's chain fits in one), then over pages of one block each, as a network
    that makes a block every few seconds spreads a backlog over many pages (``index_paged_...``)."""
    service = chain_indexer(stack.lib)
    figures: dict[str, Any] = {}
    for prefix, max_blocks in (("index", None), ("index_paged", 1)):
        indexer = Indexer(stack.engine, service.contract, start_block=service.start_block, max_blocks=max_blocks,
                          name=f"{prefix}:{service.contract.address}", confirmations=service.confirmations)
        start = time.perf_counter()
        events = indexer.run_until_head()
        seconds = time.perf_counter() - start
        done = indexer.last
        figures |= {f"{prefix}_events": events, f"{prefix}_events_s": round(seconds, 1),
                    f"{prefix}_events_per_s": round(events / seconds) if seconds else 0,
                    f"{prefix}_blocks": done.to_block - done.from_block + 1}
    return figures
