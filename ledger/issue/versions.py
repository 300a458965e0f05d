"""Renewal (延续) and amendment (变更): the next version of a certificate, through the issuance pipeline
(same serial and number, version + 1, ``supersedes_id`` set), and the earlier version marked superseded
(08) on chain. An amendment never changes the holder's identity.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from ledger.app.library import Library
from ledger.core.errors import BadInput, Conflict
from ledger.core.statuses import LeafStatus, today_china
from ledger.issue import issuance
from ledger.issue.changes import (
    Cert,
    allowed,
    chain_statuses,
    check_reason,
    current_version,
    event_row,
    forget,
    own,
    record_change,
    refusal,
    require_anchored,
)
from ledger.issue.issuance import IssuedCertificate
from ledger.storage.engine import writing
from ledger.storage.models import Organization
from ledger.verify.stored import load_certificate

log = logging.getLogger(__name__)


VERSION_ACTIONS = ("renew", "amend")


# what a renewal / an amendment may give; the holder's identity (HOLDER_IDENTITY) must stay as it was
HOLDER_IDENTITY = ("holder_id_type", "holder_id")


_VERSION_FIELDS = ("issue_date", "valid_from", "valid_until", "document")


_AMEND_FIELDS = (*_VERSION_FIELDS, "holder", *HOLDER_IDENTITY, "service_item", "jurisdiction_code", "fields")


@dataclass(frozen=True)
class NewVersion:
    issued: IssuedCertificate
    supersedes: str
    tx_hash: str | None
    block_number: int | None


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
    reason = check_reason(reason, reason_code)
    full, batch = load_certificate(lib, identifier)
    cert = Cert(full.id, full.identifier, full.issuer_org_id, full.status, full.leaf, batch and batch.root,
                 batch and batch.block_number, batch and batch.status)
    own(cert, org)
    if cert.status == "08":
        current = current_version(lib, cert.identifier)
        raise Conflict("certificate_superseded", f"certificate {cert.identifier} is superseded by {current}; "
                       f"{action} the current version instead", identifier=cert.identifier, current_version=current)
    request = _version_request(action, json.loads(full.record), full.document_cid is not None, changes)
    require_anchored(cert)
    contract = lib.require_contract()
    target = int(LeafStatus.SUPERSEDED)
    state = chain_statuses(contract, org.chain_address, [cert]).get(cert.leaf)
    current = state.status if state else int(LeafStatus.VALID)
    if current == LeafStatus.SUSPENDED:
        raise Conflict("certificate_suspended", f"证照已暂停，请先恢复再{'延续' if action == 'renew' else '变更'} / "
                       f"certificate {cert.identifier} is suspended (02): a new version would lift the suspension, "
                       f"so reinstate it first (action reinstate), then {action} it", identifier=cert.identifier,
                       status="02")
    if current != target and not allowed(current, target):
        raise refusal(cert.identifier, current, target)
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
    event = event_row(action, reason, reason_code, org, actor)
    with writing(lib.engine) as conn:
        issued = prepared.insert(conn)[0]
        record_change(conn, [cert], "08", {**event, "related_id": issued.id}, {cert.id: (tx_hash, block)},
                      org.chain_address)
    forget(lib, [cert])
    log.info("certificate version issued", extra={"org_id": org.id, "action": action, "supersedes": cert.identifier,
                                                  "identifier": issued.identifier})
    return NewVersion(issued, cert.identifier, tx_hash, block)
