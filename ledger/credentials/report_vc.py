"""An association's report summary as a W3C Verifiable Credential 2.0, signed by the association's seal key
(ecdsa-rdfc-2019), with the chain anchor as ``evidence``. Report summaries hold no personal data; their
status is answered by verification (``ledger.issue.reports.verify``), so the credential has no status list.
"""

from __future__ import annotations

from typing import Any

from ledger.app.library import Library
from ledger.storage.models import Organization

from .contexts import VC_V2, our_context_url
from .data_integrity import sign_document
from .evidence import anchor_evidence
from .issuers import department_did, signing_key

SUBJECT_TERMS = {
    "identifier": "identifier", "name": "reportName", "number": "number", "kind": "reportKind",
    "issuing_body": "issuingBody", "subject": "subject", "report_date": "reportDate", "conclusion": "conclusion",
    "catalogue": "catalogue", "association": "association", "association_code": "associationCode",
    "document_sha256": "documentDigest",
}


def report_credential(lib: Library, association: Organization, bundle: dict[str, Any]) -> dict[str, Any]:
    """The signed VC of an anchored report summary, from its proof bundle (``ledger.issue.reports.export_bundle``)."""
    key, method = signing_key(lib, association)
    record = bundle["record"]
    public_url = lib.settings.public_url
    credential = {
        "@context": [VC_V2, our_context_url(public_url)],
        "id": f"{public_url}/reports/{record['identifier']}",
        "type": ["VerifiableCredential", "ReportSummaryCredential"],
        "issuer": {"id": department_did(public_url, association.uscc), "name": record["association"]},
        "name": record["name"],
        "validFrom": bundle["chain"]["anchored_at"],
        "credentialSubject": {term: record[k] for k, term in SUBJECT_TERMS.items() if record.get(k) is not None},
        "evidence": [anchor_evidence(record, bundle["leaf"], bundle["root"], bundle["proof"], bundle["chain"],
                                     bundle["seal"]["der"])],
    }
    return sign_document(credential, key, method)
