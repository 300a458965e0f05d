"""The chain indexer as a process (``certledger indexer``, and ``up``'s): the contract's events into the database.

It indexes the configured contract from the block of its recorded deployment, ``CERTLEDGER_LOG_RANGE`` blocks per
log query (``ledger.chain.logs``), behind a cursor named by chain and contract (so it resumes where it stopped, and a new deployment
gets a cursor of its own). Each round indexes until the head or for :data:`ROUND_S` seconds, so the heartbeat
shows progress during a long catch-up and a stop is honoured between pages.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import select

from ledger.app.chain_check import ChainGuard
from ledger.app.library import Library
from ledger.app.worker_loop import WorkerLoop
from ledger.chain.indexer import Indexer
from ledger.storage.models import LedgerDeployment

ROUND_S = 10.0


def chain_indexer(lib: Library) -> Indexer:
    """The indexer of the library's contract, starting at its deployment's block (0 if none is recorded)."""
    contract = lib.require_contract()
    with lib.sessions() as session:
        start = session.scalar(select(LedgerDeployment.block_number).where(LedgerDeployment.address == contract.address))
    return Indexer(lib.engine, contract, start_block=start or 0, confirmations=lib.settings.confirmations)


def run_indexer(lib: Library, stop: threading.Event, interval: float = 1.0) -> None:
    """Index until ``stop``, outliving every error (``ledger.app.worker_loop``), a missing contract included."""
    built: list[Indexer] = []

    def index_round() -> dict[str, Any]:
        if not built:
            built.append(chain_indexer(lib))
        indexer = built[0]
        events = indexer.run_until_head(deadline=time.monotonic() + ROUND_S)
        last = indexer.last
        return {"events": events, "cursor": last.to_block if last else None, "head": last.head if last else None,
                "log_range": indexer.max_blocks}

    WorkerLoop(lib, "indexer", index_round, guard=ChainGuard(lib), interval=interval).run(stop)
