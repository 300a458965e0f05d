"""What every change of an issued certificate shares: loading it, the issuing department's ownership, its
anchoring, the contract's transition rule, its status as the chain's events tell it, and recording the
change with a ``certificate_events`` row.

Order and crash-safety of every change: everything is checked first (ownership, anchoring, the
transition against the status ON CHAIN); then the chain transaction; then ONE database transaction that
records the new status (and the new version) with a ``certificate_events`` row naming the transaction. A
crash between the two leaves the chain ahead of the database; the same call made again finds the status
already set on chain and only records it (with the transaction found from the ``StatusChanged`` event),
so a retry is idempotent and never fails on its own earlier half.

A certificate not yet anchored is refused (409 ``certificate_not_anchored``) rather than anchored on
the spot: its leaf has no status on chain until its batch is anchored, which the anchoring worker
does within the batch policy's age (``certledger anchor --now`` forces it); retry after that.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import event_abi_to_log_topic, to_checksum_address
from sqlalchemy import Connection, select

from ledger.app.library import Library
from ledger.chain.contract import LedgerContract
from ledger.chain.logs import log_pages
from ledger.core.errors import BadInput, Conflict, Forbidden, NotFound
from ledger.core.record import record_leaf
from ledger.core.statuses import STATUS_NAMES, LeafStatus
from ledger.storage.bulk import bulk_insert
from ledger.storage.certificate_anchors import CERTIFICATES_WITH_BATCH
from ledger.storage.leaf_statuses import upsert_leaf_statuses
from ledger.storage.tallies import set_statuses
from ledger.storage.models import (
    BATCHES,
    CERTIFICATES,
    CertificateEvent,
    Organization,
    utcnow,
)
from ledger.verify.service import service_verifier

log = logging.getLogger(__name__)


EVENTS = CertificateEvent.__table__


MAX_REASON = 500


_LOAD_CHUNK = 5_000


_LOG_TOPICS_CHUNK = 200


@dataclass
class Cert:
    id: int
    identifier: str
    issuer_org_id: int
    status: str
    leaf: bytes
    root: bytes | None
    anchor_block: int | None
    batch_status: str | None


def _name(code: int) -> str:
    return STATUS_NAMES.get(code, "unknown")


def check_reason(reason: Any, reason_code: Any) -> str:
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        raise BadInput("reason_invalid", f"give the reason for the change: 1-{MAX_REASON} characters", field="reason")
    if isinstance(reason_code, bool) or not isinstance(reason_code, int) or not 0 <= reason_code < 2**16:
        raise BadInput("reason_code_invalid", "reason_code is an integer from 0 to 65535 (recorded on chain)",
                       field="reason_code")
    return reason.strip()


def refusal(ident: str, current: int, target: int, current_version: str | None = None) -> Conflict:
    """Why the contract would refuse moving a leaf from ``current`` to ``target`` (its rules, in words)."""
    details = {"identifier": ident, "status": f"{current:02d}", "requested": f"{target:02d}"}
    if target == LeafStatus.VALID:
        return Conflict("status_transition_not_allowed", f"certificate {ident} is {_name(current)} ({current:02d}); "
                        "only a suspended (02) certificate can be reinstated", **details)
    message = f"certificate {ident} is {_name(current)} ({current:02d}), which is final: its status cannot change"
    if current == LeafStatus.SUPERSEDED and current_version:
        message += f"; act on the current version {current_version}"
        details["current_version"] = current_version
    return Conflict("status_transition_not_allowed", message, **details)


def allowed(current: int, target: int) -> bool:
    """The contract's transition rule (CertLedger._setStatus)."""
    if target == LeafStatus.VALID:
        return current == LeafStatus.SUSPENDED
    return current in (LeafStatus.VALID, LeafStatus.SUSPENDED) and current != target


def require_anchored(cert: Cert) -> None:
    if cert.root is None or cert.batch_status != "anchored":
        raise Conflict(
            "certificate_not_anchored",
            f"certificate {cert.identifier} is not anchored yet ({cert.batch_status or 'queued'}), so it has no status "
            "on chain to change: retry once the anchoring worker has anchored its batch (certledger anchor --now "
            "anchors at once)", identifier=cert.identifier, anchor_status=cert.batch_status or "queued")


def own(cert: Cert, org: Organization) -> None:
    if cert.issuer_org_id != org.id:
        raise Forbidden("not_your_certificate", f"certificate {cert.identifier} was issued by another department; "
                        "only its issuing department may change it", identifier=cert.identifier)


_CERTS = (
    select(CERTIFICATES.c.id, CERTIFICATES.c.identifier, CERTIFICATES.c.issuer_org_id, CERTIFICATES.c.status,
           CERTIFICATES.c.record, BATCHES.c.root, BATCHES.c.block_number, BATCHES.c.status.label("batch_status"))
    .select_from(CERTIFICATES_WITH_BATCH)
)


def load(lib: Library, identifiers: list[str]) -> list[Cert]:
    """The certificates in the order given; NotFound naming the first unknown identifier."""
    found: dict[str, Cert] = {}
    with lib.engine.connect() as conn:
        for start in range(0, len(identifiers), _LOAD_CHUNK):
            part = identifiers[start:start + _LOAD_CHUNK]
            for r in conn.execute(_CERTS.where(CERTIFICATES.c.identifier.in_(part))):
                leaf = record_leaf(r.record.encode())  # derived from the record, not stored
                found[r.identifier] = Cert(r.id, r.identifier, r.issuer_org_id, r.status, leaf, r.root,
                                           r.block_number, r.batch_status)
    missing = [i for i in identifiers if i not in found]
    if missing:
        raise NotFound("certificate_not_found", f"no certificate has the identifier {missing[0]}"
                       + (f" (and {len(missing) - 1} more unknown)" if len(missing) > 1 else "") + "; nothing was changed",
                       identifier=missing[0], unknown=len(missing))
    return [found[i] for i in identifiers]


@dataclass(frozen=True)
class OnChain:
    status: int
    tx_hash: str
    block_number: int


def _status_topic(contract: LedgerContract) -> str:
    abi = next(e for e in contract.abi if e.get("type") == "event" and e["name"] == "StatusChanged")
    return "0x" + event_abi_to_log_topic(abi).hex()


def chain_statuses(contract: LedgerContract, issuer: str, certs: Sequence[Cert]) -> dict[bytes, OnChain]:
    """Each changed leaf's status on chain under ``issuer``'s anchors, from the StatusChanged events of its roots
    (the last one wins; a leaf without any is 01). One eth_getLogs per 200 roots and page of blocks
    (``ledger.chain.logs``) rather than one eth_call per leaf, and it names the transaction that set each
    status, which is what a retry records."""
    client = contract.client
    wanted = {c.leaf: c.root for c in certs}
    roots = sorted({c.root for c in certs if c.root is not None})
    start = min(c.anchor_block or 0 for c in certs)
    leaves = ["0x" + leaf.hex() for leaf in wanted] if len(wanted) <= 50 else None
    topic = _status_topic(contract)
    head = client.call_rpc(lambda: client.w3.eth.block_number)
    out: dict[bytes, OnChain] = {}
    for i in range(0, len(roots), _LOG_TOPICS_CHUNK):
        topics: list[Any] = [topic, "0x" + "00" * 12 + issuer[2:].lower(),
                             ["0x" + r.hex() for r in roots[i:i + _LOG_TOPICS_CHUNK]]]
        if leaves:
            topics.append(leaves)
        for page in log_pages(client, {"address": contract.address, "topics": topics}, start, head):
            for lg in page.logs:
                root, leaf = bytes(lg["topics"][2]), bytes(lg["topics"][3])
                if wanted.get(leaf) == root:
                    out[leaf] = OnChain(bytes(lg["data"])[31], "0x" + bytes(lg["transactionHash"]).hex(),
                                        lg["blockNumber"])
    return out


def record_change(conn: Connection, certs: Sequence[Cert], status: str, event: dict[str, Any],
                  txs: dict[int, tuple[str | None, int | None]], issuer: str) -> None:
    """Store the certificates' new status and one event each (``txs``: certificate id -> tx hash, block), and
    their leaves' status under ``issuer``'s anchors in the table verifiers read (``ledger.storage.leaf_statuses``;
    the indexer writes the same row from the chain's event, whichever comes first)."""
    set_statuses(conn, [c.id for c in certs], status)  # and their counts (ledger.storage.tallies)
    rows, leaves = [], []
    for c in certs:
        tx_hash, block = txs[c.id]
        rows.append({**event, "certificate_id": c.id, "status": status, "block_number": block,
                     "tx_hash": bytes.fromhex(tx_hash[2:]) if tx_hash else None})
        if c.root is not None and block is not None:
            leaves.append({"issuer": to_checksum_address(issuer), "root": c.root, "leaf": c.leaf, "status": status,
                           "reason": str(event["reason_code"]), "block_number": block})
    bulk_insert(conn, EVENTS, rows)
    upsert_leaf_statuses(conn, leaves)


def event_row(action: str, reason: str, reason_code: int, org: Organization, actor: str | None) -> dict[str, Any]:
    return {"action": action, "reason": reason, "reason_code": reason_code, "actor_org_id": org.id,
            "actor": actor, "related_id": None, "at": utcnow()}


def forget(lib: Library, certs: Iterable[Cert]) -> None:
    """This process's verifier reads the new statuses at once (other workers within their cache age)."""
    if any(c.root is not None for c in certs):
        service_verifier(lib).chain.forget_statuses()


def current_version(lib: Library, identifier: str) -> str:
    """The newest version of the certificate (same issuer, type and number)."""
    c = CERTIFICATES.c
    other = CERTIFICATES.alias("other")
    with lib.engine.connect() as conn:
        return conn.execute(
            select(other.c.identifier)
            .join(CERTIFICATES, (other.c.issuer_org_id == c.issuer_org_id) & (other.c.type_code == c.type_code)
                  & (other.c.number == c.number))
            .where(c.identifier == identifier).order_by(other.c.version.desc()).limit(1)).scalar_one()
