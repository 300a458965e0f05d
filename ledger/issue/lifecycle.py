"""Certificate lifecycle by the issuing department: status changes on chain, new versions, history.

Operations: suspend (02), reinstate (back to 01, only from 02), revoke (03), cancel (04), withdraw
(07), each for one certificate or many at once; renew (延续) and amend (变更) make a new version
through the issuance pipeline (same serial and number, version + 1, ``supersedes_id`` set) and mark
the earlier version superseded (08) on chain. Expiry (05) is never written: it follows from
``valid_until`` (:func:`shown_status`).

Only the issuing department may act (``not_your_certificate``, 403), and the contract enforces the
same: only the account that anchored a root may change its leaves' statuses.

Order and crash-safety: everything is checked first (ownership, anchoring, the transition against
the status ON CHAIN); then the chain transaction; then ONE database transaction that records the
new status (and the new version) with a ``certificate_events`` row naming the transaction. A crash
between the two leaves the chain ahead of the database; the same call made again finds the status
already set on chain and only records it (with the transaction found from the ``StatusChanged``
event), so a retry is idempotent and never fails on its own earlier half.

A certificate not yet anchored is refused (409 ``certificate_not_anchored``) rather than anchored on
the spot: its leaf has no status on chain until its batch is anchored, which the anchoring worker
does within the batch policy's age (``certledger anchor --now`` forces it); retry after that.

Mass changes go in chunks, one ``setStatusMany`` transaction each, sized by estimated gas to stay
under the block's gas target (:func:`gas_budget`), each followed by the database transaction of its
chunk.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_utils import event_abi_to_log_topic
from sqlalchemy import Connection, select, update

from ledger.app.library import Library
from ledger.chain.contract import LedgerContract
from ledger.core.errors import BadInput, Conflict, Forbidden, NotFound, TooLarge
from ledger.core.identifiers import parse_identifier
from ledger.core.statuses import STATUS_NAMES, LeafStatus, today_china
from ledger.issue import issuance
from ledger.issue.issuance import IssuedCertificate
from ledger.storage.bulk import bulk_insert
from ledger.storage.models import (
    BATCHES,
    CERTIFICATES,
    CertificateEvent,
    Organization,
    as_utc,
    utcnow,
)
from ledger.verify.service import service_verifier
from ledger.verify.stored import load_certificate

log = logging.getLogger(__name__)

EVENTS = CertificateEvent.__table__
ACTIONS: dict[str, LeafStatus] = {
    "suspend": LeafStatus.SUSPENDED, "reinstate": LeafStatus.VALID, "revoke": LeafStatus.REVOKED,
    "cancel": LeafStatus.CANCELLED, "withdraw": LeafStatus.WITHDRAWN,
}
VERSION_ACTIONS = ("renew", "amend")
MAX_IDENTIFIERS = 50_000
MAX_REASON = 500
# Gas of setStatusMany on Hardhat: about 26,200 per leaf set for the first time (benchmarks/lifecycle.py),
# plus the writer check (a cold storage read) whenever the root changes. A chunk is estimated to use at most
# 45% of the block gas limit: under the EIP-1559 gas target (half the limit), so that mass changes do not
# raise the base fee (on the zero-fee local chain a fuller block makes the next block's base fee 1 wei,
# above the fee ChainClient derives from the latest block).
STATUS_GAS_PER_LEAF = 26_300
STATUS_GAS_PER_ROOT = 3_000
STATUS_GAS_BASE = 60_000
GAS_HEADROOM = 0.45
_LOAD_CHUNK = 5_000
_LOG_TOPICS_CHUNK = 200
# what a renewal / an amendment may give; the holder's identity (HOLDER_IDENTITY) must stay as it was
HOLDER_IDENTITY = ("holder_id_type", "holder_id")
_VERSION_FIELDS = ("issue_date", "valid_from", "valid_until", "document")
_AMEND_FIELDS = (*_VERSION_FIELDS, "holder", *HOLDER_IDENTITY, "service_item", "jurisdiction_code", "fields")


@dataclass(frozen=True)
class Transaction:
    tx_hash: str
    block_number: int
    gas_used: int
    certificates: int


@dataclass
class StatusChange:
    """What a status change did: certificates changed by its transactions, and those found already so on
    chain (an earlier call that crashed before recording them) and now recorded."""

    action: str
    status: str
    certificates: int = 0
    changed: int = 0
    already_on_chain: int = 0
    unchanged: int = 0
    transactions: list[Transaction] = field(default_factory=list)

    @property
    def gas_used(self) -> int:
        return sum(t.gas_used for t in self.transactions)


@dataclass(frozen=True)
class NewVersion:
    issued: IssuedCertificate
    supersedes: str
    tx_hash: str | None
    block_number: int | None


@dataclass(frozen=True)
class HistoryEvent:
    at: dt.datetime
    action: str
    status: str
    reason: str | None
    tx_hash: str | None
    block_number: int | None
    identifier: str
    by: str
    actor: str | None


@dataclass(frozen=True)
class History:
    identifier: str
    current_version: str
    events: list[HistoryEvent]


@dataclass
class _Cert:
    id: int
    identifier: str
    issuer_org_id: int
    status: str
    leaf: bytes
    root: bytes | None
    anchor_block: int | None
    batch_status: str | None


# ---------------------------------------------------------------------- status shown


def _name(code: int) -> str:
    return STATUS_NAMES.get(code, "unknown")


# ---------------------------------------------------------------------- checks


def _check_reason(reason: Any, reason_code: Any) -> str:
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        raise BadInput("reason_invalid", f"give the reason for the change: 1-{MAX_REASON} characters", field="reason")
    if isinstance(reason_code, bool) or not isinstance(reason_code, int) or not 0 <= reason_code < 2**16:
        raise BadInput("reason_code_invalid", "reason_code is an integer from 0 to 65535 (recorded on chain)",
                       field="reason_code")
    return reason.strip()


def _refusal(ident: str, current: int, target: int, current_version: str | None = None) -> Conflict:
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


def _allowed(current: int, target: int) -> bool:
    """The contract's transition rule (CertLedger._setStatus)."""
    if target == LeafStatus.VALID:
        return current == LeafStatus.SUSPENDED
    return current in (LeafStatus.VALID, LeafStatus.SUSPENDED) and current != target


def _anchored(cert: _Cert) -> None:
    if cert.root is None or cert.batch_status != "anchored":
        raise Conflict(
            "certificate_not_anchored",
            f"certificate {cert.identifier} is not anchored yet ({cert.batch_status or 'queued'}), so it has no status "
            "on chain to change: retry once the anchoring worker has anchored its batch (certledger anchor --now "
            "anchors at once)", identifier=cert.identifier, anchor_status=cert.batch_status or "queued")


def _own(cert: _Cert, org: Organization) -> None:
    if cert.issuer_org_id != org.id:
        raise Forbidden("not_your_certificate", f"certificate {cert.identifier} was issued by another department; "
                        "only its issuing department may change it", identifier=cert.identifier)


def _identifiers(values: Any) -> list[str]:
    if not isinstance(values, (list, tuple)) or not values:
        raise BadInput("identifiers_empty", "give at least one certificate identifier", field="identifiers")
    if len(values) > MAX_IDENTIFIERS:
        raise TooLarge("too_many_identifiers", f"at most {MAX_IDENTIFIERS} certificates per call; split the list")
    out, seen = [], set()
    for i, v in enumerate(values):
        try:
            ident = str(parse_identifier(v))
        except BadInput as e:
            raise BadInput(e.code, f"identifiers[{i}]: {e.message}", index=i, **e.details) from None
        if ident not in seen:
            seen.add(ident)
            out.append(ident)
    return out


# ---------------------------------------------------------------------- reads


_CERTS = (
    select(CERTIFICATES.c.id, CERTIFICATES.c.identifier, CERTIFICATES.c.issuer_org_id, CERTIFICATES.c.status,
           CERTIFICATES.c.leaf, BATCHES.c.root, BATCHES.c.block_number, BATCHES.c.status.label("batch_status"))
    .select_from(CERTIFICATES.outerjoin(BATCHES, CERTIFICATES.c.batch_id == BATCHES.c.id))
)


def _load(lib: Library, identifiers: list[str]) -> list[_Cert]:
    """The certificates in the order given; NotFound naming the first unknown identifier."""
    found: dict[str, _Cert] = {}
    with lib.engine.connect() as conn:
        for start in range(0, len(identifiers), _LOAD_CHUNK):
            part = identifiers[start:start + _LOAD_CHUNK]
            for r in conn.execute(_CERTS.where(CERTIFICATES.c.identifier.in_(part))):
                found[r.identifier] = _Cert(r.id, r.identifier, r.issuer_org_id, r.status, r.leaf, r.root,
                                            r.block_number, r.batch_status)
    missing = [i for i in identifiers if i not in found]
    if missing:
        raise NotFound("certificate_not_found", f"no certificate has the identifier {missing[0]}"
                       + (f" (and {len(missing) - 1} more unknown)" if len(missing) > 1 else "") + "; nothing was changed",
                       identifier=missing[0], unknown=len(missing))
    return [found[i] for i in identifiers]


@dataclass(frozen=True)
class _OnChain:
    status: int
    tx_hash: str
    block_number: int


def _status_topic(contract: LedgerContract) -> str:
    abi = next(e for e in contract.abi if e.get("type") == "event" and e["name"] == "StatusChanged")
    return "0x" + event_abi_to_log_topic(abi).hex()


def _chain_statuses(contract: LedgerContract, certs: Sequence[_Cert]) -> dict[bytes, _OnChain]:
    """Each changed leaf's status on chain, from its roots' StatusChanged events (the last one wins; a leaf
    without any is 01). One eth_getLogs per 200 roots rather than one eth_call per leaf, and it names
    the transaction that set each status, which is what a retry records."""
    client = contract.client
    wanted = {c.leaf: c.root for c in certs}
    roots = sorted({c.root for c in certs if c.root is not None})
    start = min(c.anchor_block or 0 for c in certs)
    leaves = ["0x" + leaf.hex() for leaf in wanted] if len(wanted) <= 50 else None
    topic = _status_topic(contract)
    out: dict[bytes, _OnChain] = {}
    for i in range(0, len(roots), _LOG_TOPICS_CHUNK):
        topics: list[Any] = [topic, ["0x" + r.hex() for r in roots[i:i + _LOG_TOPICS_CHUNK]]]
        if leaves:
            topics.append(leaves)
        query = {"address": contract.address, "fromBlock": start, "toBlock": "latest", "topics": topics}
        for lg in client.call_rpc(lambda q=query: client.w3.eth.get_logs(q)):
            root, leaf = bytes(lg["topics"][1]), bytes(lg["topics"][2])
            if wanted.get(leaf) == root:
                out[leaf] = _OnChain(bytes(lg["data"])[31], "0x" + bytes(lg["transactionHash"]).hex(), lg["blockNumber"])
    return out


def gas_budget(lib: Library) -> int:
    """The gas one status transaction may use: ``GAS_HEADROOM`` of the block gas limit."""
    client = lib.chain
    return int(client.call_rpc(lambda: client.w3.eth.get_block("latest"))["gasLimit"] * GAS_HEADROOM)


def _chunks(certs: Sequence[_Cert], budget: int) -> Iterator[list[_Cert]]:
    """Consecutive runs of ``certs`` (sorted by root) whose estimated gas stays within ``budget``."""
    part: list[_Cert] = []
    gas, root = STATUS_GAS_BASE, None
    for c in certs:
        cost = STATUS_GAS_PER_LEAF + (STATUS_GAS_PER_ROOT if c.root != root else 0)
        if part and gas + cost > budget:
            yield part
            part, gas, cost = [], STATUS_GAS_BASE, STATUS_GAS_PER_LEAF + STATUS_GAS_PER_ROOT
        part.append(c)
        gas, root = gas + cost, c.root
    if part:
        yield part


# ---------------------------------------------------------------------- writes


def _record(conn: Connection, certs: Sequence[_Cert], status: str, event: dict[str, Any],
            txs: dict[int, tuple[str | None, int | None]]) -> None:
    """Store the certificates' new status and one event each (``txs``: certificate id -> tx hash, block)."""
    ids = [c.id for c in certs]
    for start in range(0, len(ids), _LOAD_CHUNK):
        conn.execute(update(CERTIFICATES).where(CERTIFICATES.c.id.in_(ids[start:start + _LOAD_CHUNK]))
                     .values(status=status))
    rows = []
    for c in certs:
        tx_hash, block = txs[c.id]
        rows.append({**event, "certificate_id": c.id, "status": status, "block_number": block,
                     "tx_hash": bytes.fromhex(tx_hash[2:]) if tx_hash else None})
    bulk_insert(conn, EVENTS, rows)


def _event(action: str, reason: str, reason_code: int, org: Organization, actor: str | None) -> dict[str, Any]:
    return {"action": action, "reason": reason, "reason_code": reason_code, "actor_org_id": org.id,
            "actor": actor, "related_id": None, "at": utcnow()}


def _forget(lib: Library, certs: Iterable[_Cert]) -> None:
    """This process's verifier reads the new statuses at once (other workers within their cache age)."""
    if any(c.root is not None for c in certs):
        service_verifier(lib).chain.forget_statuses()


def change_status(lib: Library, org: Organization, identifiers: Sequence[str], action: str, reason: str, *,
                  reason_code: int = 0, actor: str | None = None) -> StatusChange:
    """Suspend, reinstate, revoke, cancel or withdraw the department's certificates, on chain then in the DB.

    All or nothing up to the first transaction: every certificate is checked before any is sent. A
    certificate already in the requested status is left as it is (counted ``unchanged``), so the same
    call can be repeated after a failure.
    """
    if action not in ACTIONS:
        raise BadInput("action_unknown", f"action {action!r} is not a status change; use one of {sorted(ACTIONS)} "
                       "(renew and amend have their own calls)", allowed=sorted(ACTIONS))
    reason = _check_reason(reason, reason_code)
    certs = _load(lib, _identifiers(list(identifiers)))
    for c in certs:
        _own(c, org)
    for c in certs:
        _anchored(c)
    target = int(ACTIONS[action])
    code = f"{target:02d}"
    contract = lib.require_contract()
    on_chain = _chain_statuses(contract, certs)
    result = StatusChange(action, code, certificates=len(certs))
    todo: list[_Cert] = []
    found: list[_Cert] = []
    for c in certs:
        current = on_chain[c.leaf].status if c.leaf in on_chain else int(LeafStatus.VALID)
        if current == target:
            if c.status == code:
                result.unchanged += 1
            else:
                found.append(c)
        elif not _allowed(current, target):
            raise _refusal(c.identifier, current, target, _current_version(lib, c.identifier))
        else:
            todo.append(c)
    account = lib.org_account(org) if todo else None
    if found:
        with lib.engine.begin() as conn:
            _record(conn, found, code, _event(action, reason, reason_code, org, actor),
                    {c.id: (on_chain[c.leaf].tx_hash, on_chain[c.leaf].block_number) for c in found})
        result.already_on_chain = len(found)
        log.warning("status found on chain and recorded", extra={"org_id": org.id, "action": action,
                                                                 "count": len(found)})
    todo.sort(key=lambda c: (c.root, c.leaf))
    for part in _chunks(todo, gas_budget(lib) if len(todo) > 1 else 0):
        tx = contract.set_status_many(account, [(c.root, c.leaf) for c in part], target, reason_code,
                                      chunk_size=len(part))[0]
        with lib.engine.begin() as conn:
            _record(conn, part, code, _event(action, reason, reason_code, org, actor),
                    {c.id: (tx.tx_hash, tx.block_number) for c in part})
        _forget(lib, part)
        result.changed += len(part)
        result.transactions.append(Transaction(tx.tx_hash, tx.block_number, tx.gas_used, len(part)))
    log.info("certificate status changed", extra={
        "org_id": org.id, "action": action, "changed": result.changed, "already_on_chain": result.already_on_chain,
        "unchanged": result.unchanged, "transactions": len(result.transactions), "gas_used": result.gas_used})
    return result


def _current_version(lib: Library, identifier: str) -> str:
    """The newest version of the certificate (same issuer, type and number)."""
    c = CERTIFICATES.c
    other = CERTIFICATES.alias("other")
    with lib.engine.connect() as conn:
        return conn.execute(
            select(other.c.identifier)
            .join(CERTIFICATES, (other.c.issuer_org_id == c.issuer_org_id) & (other.c.type_code == c.type_code)
                  & (other.c.number == c.number))
            .where(c.identifier == identifier).order_by(other.c.version.desc()).limit(1)).scalar_one()


def _same_holder(a: Any, b: Any) -> bool:
    return str(a).strip().upper() == str(b).strip().upper()


def _request_of(record: dict[str, Any], has_document: bool) -> dict[str, Any]:
    """The issuance request that would make ``record`` again (the base of its next version)."""
    keys = ("type_code", "number", "issue_date", "valid_from", "valid_until", "holder", "holder_id",
            "holder_id_type", "service_item", "jurisdiction_code", "fields")
    request = {k: record[k] for k in keys if record.get(k) is not None}
    request["document"] = "render" if has_document else "none"
    return request


def _version_request(action: str, record: dict[str, Any], has_document: bool,
                     changes: dict[str, Any]) -> dict[str, Any]:
    allowed = _AMEND_FIELDS if action == "amend" else _VERSION_FIELDS
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise BadInput("field_not_changeable", f"{unknown[0]} cannot be changed by {action}; it may change "
                       f"{', '.join(allowed)}", field=unknown[0], allowed=list(allowed))
    request = _request_of(record, has_document)
    request["issue_date"] = today_china().isoformat()
    if action == "renew":
        request["valid_from"] = request["issue_date"]
        request.pop("valid_until", None)  # the type's validity rule from the new start, unless given
        request.update({k: v for k, v in changes.items() if v is not None})
        return request
    for key in HOLDER_IDENTITY:
        if changes.get(key) is not None and not _same_holder(changes[key], record[key]):
            raise BadInput("amendment_changes_holder",
                           f"an amendment cannot change the holder ({key} {record[key]} -> {changes[key]}); issue a "
                           "new certificate to the new holder and cancel this one", field=key)
    fields = dict(record.get("fields") or {})
    for key, value in (changes.get("fields") or {}).items():
        if value is None:
            fields.pop(key, None)
        else:
            fields[key] = value
    changed = {k: v for k, v in changes.items() if k != "fields" and v is not None}
    touched = fields != (record.get("fields") or {}) or any(
        k not in ("issue_date", "document") and str(v) != str(record.get(k)) for k, v in changed.items())
    if not touched:
        raise BadInput("amendment_empty", "the amendment changes nothing: give the fields (or holder name, "
                       "validity dates, service item) whose values change")
    request.update(changed)
    request["fields"] = fields
    return request


def new_version(lib: Library, org: Organization, identifier: str, action: str, changes: dict[str, Any], *,
                reason: str, reason_code: int = 0, actor: str | None = None) -> NewVersion:
    """Renew or amend: issue the next version (same serial and number) and mark this one superseded (08).

    Order: checks, then the new version is prepared (validated, sealed, document stored), then the
    chain transaction (08 on the earlier version), then one database transaction inserting the new
    version (queued for anchoring) and recording the earlier one's status and event.
    """
    if action not in VERSION_ACTIONS:
        raise BadInput("action_unknown", f"action {action!r} must be one of {list(VERSION_ACTIONS)}")
    if not isinstance(changes, dict):
        raise BadInput("request_invalid", "the changes are a JSON object")
    reason = _check_reason(reason, reason_code)
    full, batch = load_certificate(lib, identifier)
    cert = _Cert(full.id, full.identifier, full.issuer_org_id, full.status, full.leaf, batch and batch.root,
                 batch and batch.block_number, batch and batch.status)
    _own(cert, org)
    if cert.status == "08":
        current = _current_version(lib, cert.identifier)
        raise Conflict("certificate_superseded", f"certificate {cert.identifier} is superseded by {current}; "
                       f"{action} the current version instead", identifier=cert.identifier, current_version=current)
    request = _version_request(action, json.loads(full.record), full.document_cid is not None, changes)
    _anchored(cert)
    contract = lib.require_contract()
    target = int(LeafStatus.SUPERSEDED)
    state = _chain_statuses(contract, [cert]).get(cert.leaf)
    current = state.status if state else int(LeafStatus.VALID)
    if current != target and not _allowed(current, target):
        raise _refusal(cert.identifier, current, target)
    prepared = issuance.prepare(lib, org, [request], previous=[full])
    row = prepared.rows[0]
    if action == "renew" and (row["valid_from"], row["valid_until"]) == (full.valid_from, full.valid_until):
        raise BadInput("renewal_period_unchanged", f"the renewal keeps the validity period {full.valid_from} - "
                       f"{full.valid_until}; give a new valid_until (or valid_from)")
    if current == target:
        tx_hash, block = state.tx_hash, state.block_number
        log.warning("superseded status found on chain and recorded", extra={"identifier": cert.identifier})
    else:
        tx = contract.set_status(lib.org_account(org), cert.root, cert.leaf, target, reason_code)
        tx_hash, block = tx.tx_hash, tx.block_number
    event = _event(action, reason, reason_code, org, actor)
    with lib.engine.begin() as conn:
        issued = prepared.insert(conn)[0]
        _record(conn, [cert], "08", {**event, "related_id": issued.id}, {cert.id: (tx_hash, block)})
    _forget(lib, [cert])
    log.info("certificate version issued", extra={"org_id": org.id, "action": action, "supersedes": cert.identifier,
                                                  "identifier": issued.identifier})
    return NewVersion(issued, cert.identifier, tx_hash, block)


# ---------------------------------------------------------------------- history


def history(lib: Library, identifier: str, *, org_id: int | None = None) -> History:
    """Every event of the certificate and its other versions (same issuer, type and number), oldest first.

    Each version's issue is listed with the transaction that anchored it (none while queued).
    ``org_id``: refuse unless that organization issued it (a department reads only its own).
    """
    ident = str(parse_identifier(identifier))
    c = CERTIFICATES.c
    with lib.engine.connect() as conn:
        base = conn.execute(select(c.issuer_org_id, c.type_code, c.number).where(c.identifier == ident)).first()
        if base is None:
            raise NotFound("certificate_not_found", f"no certificate has the identifier {ident}", identifier=ident)
        if org_id is not None and base.issuer_org_id != org_id:
            raise Forbidden("not_your_certificate", f"certificate {ident} was issued by another department; a "
                            "department reads only its own", identifier=ident)
        issuer = conn.execute(select(Organization.name).where(Organization.id == base.issuer_org_id)).scalar_one()
        versions = conn.execute(
            select(c.id, c.identifier, c.version, c.created_at, BATCHES.c.tx_hash, BATCHES.c.block_number,
                   BATCHES.c.status.label("batch_status"))
            .select_from(CERTIFICATES.outerjoin(BATCHES, c.batch_id == BATCHES.c.id))
            .where(c.issuer_org_id == base.issuer_org_id, c.type_code == base.type_code, c.number == base.number)
            .order_by(c.version)).all()
        names = {v.id: v.identifier for v in versions}
        stored = conn.execute(
            select(EVENTS, Organization.name.label("by"))
            .join(Organization, Organization.id == EVENTS.c.actor_org_id)
            .where(EVENTS.c.certificate_id.in_(list(names))).order_by(EVENTS.c.at, EVENTS.c.id)).all()
    events = []
    for v in versions:
        anchored = v.batch_status == "anchored"
        events.append(HistoryEvent(as_utc(v.created_at), "issue", "01", None,
                                   "0x" + v.tx_hash.hex() if anchored else None, v.block_number if anchored else None,
                                   v.identifier, issuer, None))
    for e in stored:
        events.append(HistoryEvent(as_utc(e.at), e.action, e.status, e.reason,
                                   "0x" + e.tx_hash.hex() if e.tx_hash else None, e.block_number,
                                   names[e.certificate_id], e.by, e.actor))
    events.sort(key=lambda e: e.at)
    return History(ident, versions[-1].identifier, events)
