"""The anchoring worker: queued leaves -> Merkle batches -> one anchoring transaction each -> proofs.

Every anchored kind goes through it: certificates (from each department's account), report
summaries (each association's) and access-log entries (the platform's audit writer). A batch holds
one kind of one organization, and the contract checks that the kind is the organization's own.

It follows the outbox protocol of ``ledger.storage.models``: a batch (root and ordered leaves) is claimed
durably before its transaction is sent, and recorded after. ``ChainClient.transact`` sends and
waits for the receipt in one call, so a batch stays ``pending`` until it is recorded ``anchored``;
whatever a crash interrupts, the next run asks the chain whether the organization's account anchored
each unfinished root: if so it records it (finding the transaction from the ``Anchored`` event of that
root and issuer), if not it sends it again. The contract refuses a second anchor of a root by one
account, so a resend racing a first send that was still in flight ends in ``RootAlreadyAnchored`` and is
then recorded, never anchored twice. Anchors are keyed by (issuer, root): another organization anchoring
the same root first blocks nothing.

The contract records with each anchor the seal current for the organization at that block, and a
verifier requires the record's seal to be that one. So a batch holds leaves of one seal (the outbox
tags each leaf with the seal it was sealed with) and is sent only while that seal is the
organization's current one on chain: a batch sealed with a seal not yet rotated in on chain waits;
:meth:`Anchorer.drain` anchors every leaf of the former seal before a rotation reaches the chain.

Test hook: with ``CERTLEDGER_TEST_CRASH_AFTER_SEND=*`` the process SIGKILLs itself right after an
anchoring transaction is mined and before it is recorded (tests/test_anchoring.py); with an organization's id
instead of ``*``, only after one of that organization's batches (other queues, such as the access log the
platform's background writer fills, are anchored normally until then).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ledger.app.chain_check import ChainGuard
from ledger.app.library import Library
from ledger.app.worker_loop import WorkerLoop
from ledger.chain.contract import BatchKind
from ledger.core.errors import CertledgerError, ChainRevert, ServiceUnavailable
from ledger.core.merkle import MerkleTree
from ledger.storage.import_tables import ImportJob
from ledger.storage.models import OUTBOX, Batch, Organization, as_utc
from ledger.storage.outbox import (
    batch_leaves,
    batch_seal,
    claim_batch,
    complete_batch,
    queued_with_seal,
    reclaim_outbox,
    unfinished_batches,
)

log = logging.getLogger(__name__)

# a department's status-list snapshots go on chain from its own account, so in the kind its role may anchor;
# the audit writer anchors the access log and the monthly plan reports (ledger.plan.monthly) as its one batch kind
BATCH_KINDS = {"certificate": BatchKind.CERTIFICATES, "report": BatchKind.REPORT_SUMMARIES,
               "access_log": BatchKind.ACCESS_LOG, "status_list": BatchKind.CERTIFICATES,
               "plan_report": BatchKind.ACCESS_LOG}
CRASH_ENV = "CERTLEDGER_TEST_CRASH_AFTER_SEND"
DEPENDENCY_DOWN = frozenset({"chain_unreachable", "chain_error", "receipt_timeout", "confirmation_timeout",
                             "nonce_conflict", "chain_behind_database", "key_password_missing", "contract_not_deployed"})


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


def _raise_if_down(exc: CertledgerError) -> None:
    """Errors that concern every batch alike: the round ends with them (the worker backs off and retries)."""
    if exc.code in DEPENDENCY_DOWN:
        raise exc


def _settled_by_another(session: Session, batch_id: int) -> AnchoredBatch | None:
    """The batch as another settler recorded it (a second worker, or a seal rotation's drain, took the same pending
    batch: its leaves left the outbox when it was recorded); None while it is still pending."""
    batch = session.get(Batch, batch_id, populate_existing=True)
    if batch is None or batch.status != "anchored":
        return None
    return AnchoredBatch(batch.id, batch.kind, batch.org_id, batch.root, batch.leaf_count, batch.tx_hash,
                         batch.block_number, as_utc(batch.block_time), recovered=True)


class Anchorer:
    """Anchors each organization's queued leaves when a batch is full or its oldest leaf is old enough (or a
    department's import finished after it)."""

    # leaves settled between two vacuums of the outbox (``reclaim_outbox``): a few batches' worth of dead rows
    reclaim_every = 50_000

    def __init__(self, lib: Library, max_leaves: int | None = None, max_age: float | None = None) -> None:
        self.lib = lib
        self.max_leaves = max_leaves or lib.settings.batch_max_leaves
        self.max_age = lib.settings.batch_max_age_s if max_age is None else max_age
        self._settled_since_reclaim = 0

    def run_once(self, force: bool = False) -> list[AnchoredBatch]:
        """Settle unfinished batches, then anchor what is due (everything queued when ``force``).

        A batch or a queue that cannot be anchored (its organization has no chain account any more,
        its rows are damaged) is logged and left for an operator; it does not stop other organizations. A
        dependency that is down for every batch (the chain node, the database) ends the round with its error.
        """
        done = []
        for batch in self._unfinished():
            try:
                done.append(self._settle(batch))
            except CertledgerError as exc:
                _raise_if_down(exc)
                log.error("unfinished batch not settled", extra={"batch_id": batch.id, "org_id": batch.org_id,
                                                                  "code": exc.code, "error": exc.message})
        for kind, org_id in self._due(force):
            try:
                done += self._anchor_queue(kind, org_id, force)
            except CertledgerError as exc:
                _raise_if_down(exc)
                log.error("queue not anchored", extra={"kind": kind, "org_id": org_id, "code": exc.code,
                                                       "error": exc.message})
        return done

    def _anchor_queue(self, kind: str, org_id: int, force: bool) -> list[AnchoredBatch]:
        done = []
        while True:
            with self.lib.sessions() as session:
                batch = claim_batch(session, kind=kind, org_id=org_id, limit=self.max_leaves, tree_of=MerkleTree)
            if batch is None:
                return done
            done.append(self._settle(batch, fresh=True))
            if not force and (kind, org_id) not in self._due(False, kind, org_id):
                return done

    def drain(self, org_id: int, seal: bytes, *, rounds: int = 1000) -> list[AnchoredBatch]:
        """Anchor every leaf of the organization sealed with ``seal`` (its current seal on chain), pending batches
        included, before a seal rotation: after it, the contract would record them under the new seal."""
        done: list[AnchoredBatch] = []
        with self.lib.sessions() as session:
            kind = {"department": "certificate", "association": "report"}.get(session.get(Organization, org_id).kind)
        for _ in range(rounds):
            with self.lib.sessions() as session:
                if kind is None or not queued_with_seal(session, org_id, seal):
                    return done
                pending = [b for b in unfinished_batches(session) if b.org_id == org_id
                           and batch_seal(session, b.id) == seal]
            done += [self._settle(b) for b in pending]
            with self.lib.sessions() as session:
                batch = claim_batch(session, kind=kind, org_id=org_id, limit=self.max_leaves, tree_of=MerkleTree,
                                    seal=seal)
            if batch is not None:
                done.append(self._settle(batch, fresh=True))
        raise ServiceUnavailable("drain_incomplete", f"leaves of organization {org_id} sealed with the former seal "
                                 "are still queued after many rounds: check the anchoring worker's log, then retry")

    def run_forever(self, stop: threading.Event, interval: float = 1.0) -> None:
        """The worker (``certledger worker``, and ``up``'s): rounds until ``stop``, each after checking that the chain
        node is the recorded chain; it outlives every error, logging it and backing off (``ledger.app.worker_loop``);
        the outbox makes retrying safe."""
        WorkerLoop(self.lib, "anchoring", self._round, guard=ChainGuard(self.lib), interval=interval).run(stop)

    def _round(self) -> dict[str, Any]:
        batches = self.run_once()
        return {"batches": len(batches), "leaves": sum(b.leaf_count for b in batches)}

    # ------------------------------------------------------------ internals

    def _unfinished(self) -> list[Batch]:
        with self.lib.sessions() as session:
            return unfinished_batches(session)

    def _due(self, force: bool, kind: str | None = None, org_id: int | None = None) -> list[tuple[str, int]]:
        """The (kind, organization) queues whose batch is full or old enough (every non-empty one when forced), and
        a department's certificates once an import of its finished after its oldest queued one: the rest of a
        finished import does not wait out the batch age. A deactivated organization's are left alone (its chain
        account may no longer anchor: ``ledger.issue.activity`` anchors what it queued before its deactivation)."""
        c = OUTBOX.c
        active = select(Organization.id).where(Organization.active)
        q = (select(c.kind, c.org_id, func.count(), func.min(c.created_at))
             .where(c.batch_id.is_(None), c.org_id.in_(active)).group_by(c.kind, c.org_id).order_by(c.kind, c.org_id))
        if kind is not None:
            q = q.where(c.kind == kind, c.org_id == org_id)
        now = dt.datetime.now(dt.UTC)
        due, waiting = [], {}  # waiting: departments' certificate queues not due by size or age, by oldest leaf
        with self.lib.sessions() as session:
            for queue_kind, org, count, oldest in session.execute(q):
                oldest = as_utc(oldest)
                if force or count >= self.max_leaves or (now - oldest).total_seconds() >= self.max_age:
                    due.append((queue_kind, org))
                elif queue_kind == "certificate":
                    waiting[org] = oldest
            if waiting:  # only an import finished after the oldest leaf, so within the batch age, can matter
                imports = (select(ImportJob.org_id, func.max(ImportJob.updated_at))
                           .where(ImportJob.state == "done", ImportJob.org_id.in_(waiting),
                                  ImportJob.updated_at >= min(waiting.values()))
                           .group_by(ImportJob.org_id))
                due += [("certificate", org) for org, at in session.execute(imports) if as_utc(at) >= waiting[org]]
        return sorted(due)

    def _settle(self, batch: Batch, fresh: bool = False) -> AnchoredBatch:
        """Anchor (unless the organization's account already anchored the root) and record one claimed batch."""
        lib = self.lib
        contract = lib.require_contract()
        with lib.sessions() as session:
            if (settled := _settled_by_another(session, batch.id)) is not None:
                return settled
            leaves = batch_leaves(session, batch.id)
            seal = batch_seal(session, batch.id)
            org = session.get(Organization, batch.org_id)
        tree = MerkleTree(leaves)
        if tree.root != batch.root or len(leaves) != batch.leaf_count:
            raise ServiceUnavailable("batch_corrupt", f"batch {batch.id}: its stored leaves no longer give its root")
        if not org.chain_address:
            raise ServiceUnavailable("organization_not_activated", f"batch {batch.id}: organization {org.id} has no "
                                     "chain account to anchor from: activate it")
        anchor = None if fresh else contract.anchor_of(org.chain_address, batch.root)
        if anchor is None:
            self._require_seal_on_chain(batch, org, seal)
            try:
                result = contract.anchor(lib.org_account(org), batch.root, batch.leaf_count, BATCH_KINDS[batch.kind])
                tx_hash, block_number, block_time = bytes.fromhex(result.tx_hash[2:]), result.block_number, result.block_time
                if os.environ.get(CRASH_ENV) in ("*", str(batch.org_id)):
                    os.kill(os.getpid(), signal.SIGKILL)
            except ChainRevert as exc:
                if exc.error_name != "RootAlreadyAnchored":
                    raise
                anchor = contract.anchor_of(org.chain_address, batch.root)
        if anchor is not None:
            tx_hash = self._anchor_tx(org.chain_address, batch.root, anchor.block_number)
            block_number, block_time = anchor.block_number, anchor.timestamp
        proofs: list[bytes] = [b""] * len(leaves)
        if batch.kind != "certificate":  # a certificate's proof is read from its batch's stored tree
            for i, proof in tree.iter_proofs():
                proofs[i] = proof
        when = dt.datetime.fromtimestamp(block_time, dt.UTC)
        with lib.sessions() as session:
            recorded = complete_batch(session, batch.id, tx_hash=tx_hash, block_number=block_number, block_time=when,
                                      proofs=proofs)
            if not recorded and (settled := _settled_by_another(session, batch.id)) is not None:
                return settled
        log.info("batch anchored", extra={"batch_id": batch.id, "kind": batch.kind, "org_id": batch.org_id,
                                          "leaves": batch.leaf_count, "block": block_number,
                                          "recovered": anchor is not None})
        self._reclaim_now_and_then(batch.leaf_count)
        return AnchoredBatch(batch.id, batch.kind, batch.org_id, batch.root, batch.leaf_count, tx_hash, block_number, when,
                             recovered=anchor is not None)

    def _reclaim_now_and_then(self, settled: int) -> None:
        """Vacuum the outbox once ``reclaim_every`` leaves were settled since the last time; housekeeping, so a
        failure is logged and tried again after the next batch, and never fails the batch it follows."""
        self._settled_since_reclaim += settled
        if self._settled_since_reclaim < self.reclaim_every:
            return
        try:
            reclaim_outbox(self.lib.engine)
        except SQLAlchemyError as exc:
            log.warning("outbox not vacuumed", extra={"code": "outbox_vacuum_failed",
                                                      "error": (str(exc).splitlines() or [""])[0]})
            return
        self._settled_since_reclaim = 0

    def _require_seal_on_chain(self, batch: Batch, org: Organization, seal: bytes | None) -> None:
        """Send a batch only while its leaves' seal is the organization's current seal on chain: a seal rotated in
        here but not yet on chain waits (ServiceUnavailable, retried next round). A seal already rotated out can
        only be a compromised one (a rotation drains its seal first): those leaves are anchored anyway, as void
        certificates, rather than block the queue."""
        if seal is None:
            return
        contract = self.lib.require_contract()
        current = contract.organization(org.chain_address)
        if current is not None and current.seal_fingerprint == seal:
            return
        known = contract.seal(seal)
        if known is None or current is None or known.epoch > current.seal_epoch:
            raise ServiceUnavailable("seal_not_on_chain_yet", f"batch {batch.id}: its seal is not yet registered on "
                                     "chain for the organization (a seal rotation is under way); it waits")
        log.error("batch sealed with a rotated-out seal anchored: its certificates are void",
                  extra={"batch_id": batch.id, "org_id": org.id, "leaves": batch.leaf_count,
                         "seal": "0x" + seal.hex(), "compromised": bool(known.compromise_time)})

    def _anchor_tx(self, issuer: str, root: bytes, block_number: int) -> bytes:
        contract = self.lib.require_contract()
        logs = self.lib.chain.call_rpc(lambda: contract.contract.events.Anchored.get_logs(
            argument_filters={"root": root, "issuer": issuer}, from_block=block_number, to_block=block_number))
        if not logs:
            raise ServiceUnavailable("anchor_event_missing", f"no Anchored event for 0x{root.hex()} in block {block_number}")
        return bytes(logs[0]["transactionHash"])
