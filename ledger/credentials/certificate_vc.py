"""A certificate as a W3C Verifiable Credential 2.0, signed by its department (ecdsa-rdfc-2019).

The credential names the department by its did:web, carries the GB/T 36903 fields in our context
(the type's own fields as one JSON literal), a ``BitstringStatusListEntry`` per purpose, and the chain
anchor as ``evidence``. It holds the holder's name and identity number: the API gives it only to the
holder and to the issuing department, and it is never stored, anchored or put in IPFS.
"""

from __future__ import annotations

from typing import Any

from ledger.app.library import Library
from ledger.core.errors import NotFound
from ledger.verify.stored import load_certificate, stored_bundle
from ledger.storage import status_indices
from ledger.storage.engine import writing

from .contexts import VC_V2, our_context_url
from .data_integrity import sign_document
from .evidence import anchor_evidence
from .issuers import department_did, signing_key
from .status_lists import entries

CHINA_OFFSET = "+08:00"
# GB/T 36903 metadata in the record -> the credential subject's terms (our context)
SUBJECT_TERMS = {
    "holder": "holderName", "holder_id": "holderId", "holder_id_type": "holderIdType", "identifier": "identifier",
    "name": "certificateName", "number": "number", "version": "version", "type_code": "typeCode",
    "defining_department": "definingDepartment", "defining_department_code": "definingDepartmentCode",
    "issuing_department": "issuingDepartment", "issuing_department_code": "issuingDepartmentCode",
    "issue_date": "issueDate", "valid_from": "validFromDate", "valid_until": "validUntilDate",
    "jurisdiction_code": "jurisdictionCode", "service_item": "serviceItem", "fields": "fields",
}


def subject_of(record: dict[str, Any]) -> dict[str, Any]:
    """The credential subject: every GB/T 36903 field of the record that has a value."""
    subject: dict[str, Any] = {"type": "CertificateHolder"}
    subject.update({term: record[key] for key, term in SUBJECT_TERMS.items() if record.get(key) is not None})
    if isinstance(record.get("file"), dict):
        subject["documentDigest"] = record["file"]["sha256"]
    return subject


def status_index(lib: Library, cert: Any) -> int:
    """The certificate's index in its department's status lists (given now if an older path stored none)."""
    if cert.status_index is not None:
        return cert.status_index
    with writing(lib.engine) as conn:
        return status_indices.ensure_index(conn, cert.id, cert.issuer_org_id)


def readable_certificate(lib: Library, identifier: str, *, holder_key: bytes | None = None,
                         org_id: int | None = None) -> tuple[Any, Any]:
    """A certificate and its batch if the reader is its holder (``holder_key``) or its issuing department
    (``org_id``); anyone else is told it does not exist (NotFound ``certificate_not_found``)."""
    cert, batch = load_certificate(lib, identifier)
    if (holder_key is None or cert.holder_key != holder_key) and (org_id is None or cert.issuer_org_id != org_id):
        raise NotFound("certificate_not_found", f"没有该证照 / no certificate of yours has the identifier {identifier}",
                       identifier=identifier)
    return cert, batch


def certificate_credential(lib: Library, identifier: str, *, holder_key: bytes | None = None,
                           org_id: int | None = None) -> dict[str, Any]:
    """The signed VC of an anchored certificate for its holder or issuing department (Conflict
    ``certificate_not_anchored`` before its batch is on chain; ``vc_needs_p256_seal`` for an SM2 seal)."""
    cert, batch = readable_certificate(lib, identifier, holder_key=holder_key, org_id=org_id)
    bundle = stored_bundle(lib, cert, batch)
    org = lib.organization(cert.issuer_org_id)
    key, method = signing_key(lib, org)
    record = bundle["record"]
    public_url = lib.settings.public_url
    credential: dict[str, Any] = {
        "@context": [VC_V2, our_context_url(public_url)],
        "id": f"{public_url}/verify/{record['identifier']}",
        "type": ["VerifiableCredential", "EcertCredential"],
        "issuer": {"id": department_did(public_url, org.uscc), "name": record["issuing_department"]},
        "name": record["name"],
        "validFrom": f"{record['valid_from']}T00:00:00{CHINA_OFFSET}",
        "credentialSubject": subject_of(record),
        "credentialStatus": entries(public_url, org.uscc, status_index(lib, cert)),
        "evidence": [anchor_evidence(record, bundle["leaf"], bundle["root"], bundle["proof"], bundle["chain"],
                                     bundle["seal"]["der"])],
    }
    if record.get("valid_until"):
        credential["validUntil"] = f"{record['valid_until']}T23:59:59{CHINA_OFFSET}"
    return sign_document(credential, key, method)
