"""The anchoring worker: queued leaves -> Merkle batches -> one anchoring transaction each -> proofs.

Every anchored kind goes through it: certificates (from each department's account), report
summaries (each association's) and access-log entries (the platform's audit writer). A batch holds
one kind of one organization, and the contract checks that the kind is the organization's own.

It follows the outbox protocol of ``ledger.storage.models``: a batch (root and ordered leaves) is claimed
durably before its transaction is sent, and recorded after. ``ChainClient.transact`` sends and
waits for the receipt in one call, so a batch stays ``pending`` until it is recorded ``anchored``;
whatever a crash interrupts, the next run asks the chain whether each unfinished root is anchored:
if so it records it (finding the transaction from the ``Anchored`` event), if not it sends it again.
The contract refuses a second anchor of a root, so a resend racing a first send that was still in
flight ends in ``RootAlreadyAnchored`` and is then recorded, never anchored twice.

Test hook: with ``CERTLEDGER_TEST_CRASH_AFTER_SEND=1`` the process SIGKILLs itself right after an
anchoring transaction is mined and before it is recorded (tests/test_anchoring.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import threading
from dataclasses import dataclass

from sqlalchemy import func, select

from ledger.app.library import Library
from ledger.chain.contract import BatchKind
from ledger.core.errors import CertledgerError, ChainRevert, ServiceUnavailable
from ledger.core.merkle import MerkleTree
from ledger.storage.models import OUTBOX, Batch, Organization, as_utc
from ledger.storage.outbox import (
    batch_leaves,
    claim_batch,
    complete_batch,
    unfinished_batches,
)

log = logging.getLogger(__name__)

BATCH_KINDS = {"certificate": BatchKind.CERTIFICATES, "report": BatchKind.REPORT_SUMMARIES,
               "access_log": BatchKind.ACCESS_LOG}
CRASH_ENV = "CERTLEDGER_TEST_CRASH_AFTER_SEND"


@dataclass(frozen=True)
class AnchoredBatch:
    id: int
    kind: str
    org_id: int
    root: bytes
    leaf_count: int
    tx_hash: bytes
    block_number: int
    block_time: dt.datetime
    recovered: bool  # settled from an earlier, interrupted run


def _root_of(leaves: list[bytes]) -> bytes:
    return MerkleTree(leaves).root


class Anchorer:
    """Anchors each organization's queued leaves when a batch is full or its oldest leaf is old enough."""

    def __init__(self, lib: Library, max_leaves: int | None = None, max_age: float | None = None) -> None:
        self.lib = lib
        self.max_leaves = max_leaves or lib.settings.batch_max_leaves
        self.max_age = lib.settings.batch_max_age_s if max_age is None else max_age

    def run_once(self, force: bool = False) -> list[AnchoredBatch]:
        """Settle unfinished batches, then anchor what is due (everything queued when ``force``).

        A batch or a queue that cannot be anchored (its organization has no chain account any more,
        its rows are damaged) is logged and left for an operator; it does not stop other organizations.
        """
        done = []
        for batch in self._unfinished():
            try:
                done.append(self._settle(batch))
            except CertledgerError as exc:
                log.error("unfinished batch not settled", extra={"batch_id": batch.id, "org_id": batch.org_id,
                                                                  "code": exc.code, "error": exc.message})
        for kind, org_id in self._due(force):
            try:
                done += self._anchor_queue(kind, org_id, force)
            except CertledgerError as exc:
                log.error("queue not anchored", extra={"kind": kind, "org_id": org_id, "code": exc.code,
                                                       "error": exc.message})
        return done

    def _anchor_queue(self, kind: str, org_id: int, force: bool) -> list[AnchoredBatch]:
        done = []
        while True:
            with self.lib.sessions() as session:
                batch = claim_batch(session, kind=kind, org_id=org_id, limit=self.max_leaves, root_of=_root_of)
            if batch is None:
                return done
            done.append(self._settle(batch, fresh=True))
            if not force and (kind, org_id) not in self._due(False, kind, org_id):
                return done

    def run_forever(self, stop: threading.Event, interval: float = 1.0) -> None:
        """The worker loop; a failed round is logged and retried (the outbox makes retrying safe)."""
        while not stop.is_set():
            try:
                self.run_once()
            except ServiceUnavailable as exc:
                log.warning("anchoring round failed", extra={"code": exc.code, "error": exc.message})
            stop.wait(interval)

    # ------------------------------------------------------------ internals

    def _unfinished(self) -> list[Batch]:
        with self.lib.sessions() as session:
            return unfinished_batches(session)

    def _due(self, force: bool, kind: str | None = None, org_id: int | None = None) -> list[tuple[str, int]]:
        """The (kind, organization) queues whose batch is full or old enough (every non-empty one when forced)."""
        c = OUTBOX.c
        q = (select(c.kind, c.org_id, func.count(), func.min(c.created_at))
             .where(c.batch_id.is_(None)).group_by(c.kind, c.org_id).order_by(c.kind, c.org_id))
        if kind is not None:
            q = q.where(c.kind == kind, c.org_id == org_id)
        now = dt.datetime.now(dt.UTC)
        due = []
        with self.lib.sessions() as session:
            for queue_kind, org, count, oldest in session.execute(q):
                oldest = as_utc(oldest)
                if force or count >= self.max_leaves or (now - oldest).total_seconds() >= self.max_age:
                    due.append((queue_kind, org))
        return due

    def _settle(self, batch: Batch, fresh: bool = False) -> AnchoredBatch:
        """Anchor (unless the chain already has the root) and record one claimed batch."""
        lib = self.lib
        contract = lib.require_contract()
        with lib.sessions() as session:
            leaves = batch_leaves(session, batch.id)
            org = session.get(Organization, batch.org_id)
        tree = MerkleTree(leaves)
        if tree.root != batch.root or len(leaves) != batch.leaf_count:
            raise ServiceUnavailable("batch_corrupt", f"batch {batch.id}: its stored leaves no longer give its root")
        anchor = None if fresh else contract.anchor_of(batch.root)
        if anchor is None:
            try:
                result = contract.anchor(lib.org_account(org), batch.root, batch.leaf_count, BATCH_KINDS[batch.kind])
                tx_hash, block_number, block_time = bytes.fromhex(result.tx_hash[2:]), result.block_number, result.block_time
                if os.environ.get(CRASH_ENV) == "1":
                    os.kill(os.getpid(), signal.SIGKILL)
            except ChainRevert as exc:
                if exc.error_name != "RootAlreadyAnchored":
                    raise
                anchor = contract.anchor_of(batch.root)
        if anchor is not None:
            if anchor.issuer != org.chain_address:
                raise ServiceUnavailable(
                    "root_anchored_by_other",
                    f"batch {batch.id}: root 0x{batch.root.hex()} is anchored by {anchor.issuer}, not {org.chain_address}",
                )
            tx_hash, block_number, block_time = self._anchor_tx(batch.root, anchor.block_number), anchor.block_number, anchor.timestamp
        proofs: list[bytes] = [b""] * len(leaves)
        for i, proof in tree.iter_proofs():
            proofs[i] = proof
        when = dt.datetime.fromtimestamp(block_time, dt.UTC)
        with lib.sessions() as session:
            complete_batch(session, batch.id, tx_hash=tx_hash, block_number=block_number, block_time=when, proofs=proofs)
        log.info("batch anchored", extra={"batch_id": batch.id, "kind": batch.kind, "org_id": batch.org_id,
                                          "leaves": batch.leaf_count, "block": block_number,
                                          "recovered": anchor is not None})
        return AnchoredBatch(batch.id, batch.kind, batch.org_id, batch.root, batch.leaf_count, tx_hash, block_number, when,
                             recovered=anchor is not None)

    def _anchor_tx(self, root: bytes, block_number: int) -> bytes:
        contract = self.lib.require_contract()
        logs = self.lib.chain.call_rpc(lambda: contract.contract.events.Anchored.get_logs(
            argument_filters={"root": root}, from_block=block_number, to_block=block_number))
        if not logs:
            raise ServiceUnavailable("anchor_event_missing", f"no Anchored event for 0x{root.hex()} in block {block_number}")
        return bytes(logs[0]["transactionHash"])
