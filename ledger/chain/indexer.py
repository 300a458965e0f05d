"""Copy the ledger contract's events into the database, resuming from the last processed block.

The chain is the source of truth; these tables are a queryable projection of it (anchors,
statuses, organizations). Each step takes the cursor row's lock before applying anything and
re-reads the cursor under that lock, so two indexers (or one run twice) never apply a block twice;
event rows are also unique on (transaction, log index).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

from eth_utils import event_abi_to_log_topic, keccak
from sqlalchemy import Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from web3._utils.events import get_event_data

from ledger.chain.contract import BatchKind, LedgerContract, OrgKind
from ledger.chain.logs import log_pages, log_range
from ledger.storage.engine import LedgerSession
from ledger.storage.models import (
    ChainAnchor,
    ChainEvent,
    ChainOrg,
    IndexerCursor,
)
from ledger.storage.leaf_statuses import upsert_leaf_statuses

log = logging.getLogger(__name__)

WRITER_ROLES = {keccak(text=r) for r in ("ISSUER_ROLE", "ASSOCIATION_ROLE", "AUDIT_WRITER_ROLE")}


@dataclass(frozen=True)
class StepResult:
    from_block: int
    to_block: int
    events: int
    head: int = -1  # the chain's head (less the confirmations) when the step began


def cursor_name(contract: LedgerContract) -> str:
    """The cursor of the indexer of ``contract`` (one per chain and deployment)."""
    return f"ledger:{contract.client.chain_id}:{contract.address}"


def _insert(session: Session, table: Any):
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


class Indexer:
    """Indexes one deployment of the contract; ``name`` keys its cursor."""

    def __init__(
        self,
        engine: Engine,
        contract: LedgerContract,
        *,
        start_block: int = 0,
        name: str | None = None,
        confirmations: int = 0,
        max_blocks: int | None = None,
    ) -> None:
        self.engine = engine
        self.contract = contract
        self.name = name or cursor_name(contract)
        self.start_block = start_block
        self.confirmations = confirmations
        self.max_blocks = max_blocks or log_range()
        w3 = contract.client.w3
        self._events = {
            event_abi_to_log_topic(abi): abi for abi in contract.abi if abi["type"] == "event"
        }
        self._codec = w3.codec
        self._block_times: dict[int, dt.datetime] = {}
        self.last: StepResult | None = None

    def _cursor(self, session: Session) -> int:
        """The last indexed block; the cursor row is made first, so no read ever precedes a write
        in this transaction (on SQLite that read-then-write would fail at once with two indexers)."""
        session.execute(
            _insert(session, IndexerCursor.__table__)
            .values(name=self.name, last_block=self.start_block - 1)
            .on_conflict_do_nothing()
        )
        return session.scalar(select(IndexerCursor.last_block).where(IndexerCursor.name == self.name))

    def step(self) -> StepResult:
        """Index the next range of blocks (up to ``max_blocks``, by default ``CERTLEDGER_LOG_RANGE``); returns what
        was done. The cursor moves only after a whole range is applied, so an interrupted indexer resumes there."""
        client = self.contract.client
        head = client.call_rpc(lambda: client.w3.eth.block_number) - self.confirmations
        with LedgerSession(self.engine) as session, session.begin():
            first = self._cursor(session) + 1
        to_block = min(head, first + self.max_blocks - 1)
        if to_block < first:
            return StepResult(first, first - 1, 0, head)
        logs = [lg for page in log_pages(client, {"address": self.contract.address}, first, to_block) for lg in page.logs]
        with LedgerSession(self.engine) as session, session.begin():
            # A no-op UPDATE locks the cursor row (PostgreSQL) or the database (SQLite) before any
            # read: a second indexer waits here, then sees the advanced cursor.
            session.execute(
                update(IndexerCursor).where(IndexerCursor.name == self.name).values(last_block=IndexerCursor.last_block)
            )
            done = session.scalar(select(IndexerCursor.last_block).where(IndexerCursor.name == self.name))
            fresh = [lg for lg in logs if lg["blockNumber"] > done]
            for lg in sorted(fresh, key=lambda x: (x["blockNumber"], x["logIndex"])):
                self._apply(session, lg)
            if to_block > done:
                session.execute(update(IndexerCursor).where(IndexerCursor.name == self.name).values(last_block=to_block))
        log.info("indexed blocks", extra={"from": first, "to": to_block, "events": len(fresh)})
        return StepResult(first, to_block, len(fresh), head)

    def run_until_head(self, deadline: float | None = None) -> int:
        """Index until the cursor reaches the chain head, or a step ends past ``deadline`` (``time.monotonic()``),
        whichever comes first; returns the number of events applied (``last`` holds the final step)."""
        total = 0
        while True:
            result = self.last = self.step()
            total += result.events
            if result.to_block < result.from_block or result.to_block - result.from_block + 1 < self.max_blocks:
                return total
            if deadline is not None and time.monotonic() >= deadline:
                return total

    def _block_time(self, number: int) -> dt.datetime:
        if number not in self._block_times:
            ts = self.contract.client.w3.eth.get_block(number)["timestamp"]
            self._block_times[number] = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
        return self._block_times[number]

    def _apply(self, session: Session, lg: Any) -> None:
        abi = self._events.get(bytes(lg["topics"][0]))
        if abi is None:
            return
        event = get_event_data(self._codec, abi, lg)
        args = {k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in event["args"].items()}
        block = lg["blockNumber"]
        inserted = session.execute(
            _insert(session, ChainEvent.__table__)
            .values(block_number=block, log_index=lg["logIndex"], tx_hash=bytes(lg["transactionHash"]),
                    event=event["event"], args=args)
            .on_conflict_do_nothing()
        )
        if inserted.rowcount == 0:
            return
        a = event["args"]
        name = event["event"]
        if name == "OrganizationRegistered":
            session.execute(
                _insert(session, ChainOrg.__table__)
                .values(address=a["account"], uscc_hash=a["usccHash"], seal_fingerprint=a["sealFingerprint"],
                        role=OrgKind(a["kind"]).name.lower(), active=True, updated_block=block)
                .on_conflict_do_nothing()
            )
        elif name == "SealRotated":
            session.execute(update(ChainOrg).where(ChainOrg.address == a["account"])
                            .values(seal_fingerprint=a["newFingerprint"], updated_block=block))
        elif name in ("RoleGranted", "RoleRevoked") and bytes(a["role"]) in WRITER_ROLES:
            # v2: the writer role is the organization's permission; revoking (or renouncing) it deactivates
            session.execute(update(ChainOrg).where(ChainOrg.address == a["account"])
                            .values(active=name == "RoleGranted", updated_block=block))
        elif name == "Anchored":
            session.execute(
                _insert(session, ChainAnchor.__table__)
                .values(issuer=a["issuer"], root=a["root"], kind=BatchKind(a["kind"]).name.lower(),
                        leaf_count=a["leafCount"], block_number=block, block_time=self._block_time(block))
                .on_conflict_do_nothing()
            )
        elif name == "StatusChanged":
            upsert_leaf_statuses(session.connection(), [{
                "issuer": a["issuer"], "root": a["root"], "leaf": a["leaf"], "status": f"{a['status']:02d}",
                "reason": str(a["reason"]), "block_number": block}])
