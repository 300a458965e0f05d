"""The verification calls the routers share, and what the public may see of a result."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

from api.schemas.verification import VerificationOut
from ledger.app.library import Library
from ledger.app.metrics import count_verdict
from ledger.core.masking import masked_holder
from ledger.verify import service as verification
from ledger.verify.fragments import VerificationResult
from ledger.verify.pdf import verify_pdf as verify_pdf_document

PDF_MAGIC = b"%PDF-"
# What an anonymous caller learns about the certificate a QR code names: no holder, no holder ID.
PUBLIC_SUMMARY = frozenset({
    "identifier", "name", "type_code", "type_name", "number", "version", "issuing_department",
    "issuing_department_code", "issue_date", "valid_from", "valid_until", "status",
})


def _out(result: VerificationResult, kind: str) -> VerificationOut:
    count_verdict(kind, result.verdict.value)
    return VerificationOut.model_validate(result.to_dict())


def json_result(result: VerificationResult, kind: str) -> Response:
    """The result as the VerificationOut JSON, serialized directly: the counters' hot path skips
    re-validating a result the verifier built (it is the same shape; tests compare both). Counts the verdict
    (``certledger_verifications_total``) under ``kind``: what was verified."""
    count_verdict(kind, result.verdict.value)
    return Response(orjson.dumps(result.to_dict()), media_type="application/json")


def without_consent(result: VerificationResult) -> bytes:
    """A verification by bare identifier as a counter sees it: the verdict, the checks, the public summary and the
    holder masked (``ledger.core.masking``); fields and the full holder only through an intake with the holder's
    use code, or from the holder's own PDF or bundle."""
    body = result.to_dict()
    certificate = body["certificate"]
    body["certificate"] = {**{k: v for k, v in certificate.items() if k in PUBLIC_SUMMARY},
                           **(masked_holder(certificate) if "holder" in certificate else {})}
    return orjson.dumps(body)


def verify_identifier(lib: Library, identifier: str) -> VerificationOut:
    return _out(verification.verify_identifier(lib, identifier), "identifier")


def verify_bundle(lib: Library, bundle: dict[str, Any]) -> VerificationOut:
    return _out(verification.verify_bundle(lib, bundle), "bundle")


def verify_pdf(lib: Library, pdf: bytes) -> VerificationOut:
    return _out(verify_pdf_document(lib, pdf), "pdf")


def public_view(result: VerificationOut) -> VerificationOut:
    summary = {k: v for k, v in result.certificate.items() if k in PUBLIC_SUMMARY}
    return result.model_copy(update={"certificate": summary})
