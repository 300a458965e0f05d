"""The verification calls the routers share, and what the public may see of a result.

Check messages are in the caller's language (``Accept-Language``; ``ledger.core.messages``): the catalogue's
sentence for the reason, then the fragment's own message.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

from api.schemas.verification import VerificationOut
from ledger.app.library import Library
from ledger.app.metrics import count_verdict
from ledger.core.messages import DEFAULT, localized
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
COUNTER_SUMMARY = PUBLIC_SUMMARY | {"expected_anchoring_by"}


def result_dict(result: VerificationResult, lang: str = DEFAULT) -> dict[str, Any]:
    """The result's JSON shape with each check's message in ``lang``."""
    data = result.to_dict()
    for check in data["checks"]:
        if check["status"] != "VALID":
            check["message"] = localized(check["reason"], check["message"], lang)
    return data


def _out(result: VerificationResult, kind: str, lang: str) -> VerificationOut:
    count_verdict(kind, result.verdict.value)
    return VerificationOut.model_validate(result_dict(result, lang))


def json_result(result: VerificationResult, kind: str, lang: str = DEFAULT) -> Response:
    """The result as the VerificationOut JSON, serialized directly: the counters' hot path skips
    re-validating a result the verifier built (it is the same shape; tests compare both). Counts the verdict
    (``certledger_verifications_total``) under ``kind``: what was verified."""
    count_verdict(kind, result.verdict.value)
    return Response(orjson.dumps(result_dict(result, lang)), media_type="application/json")


def without_consent(result: VerificationResult, lang: str = DEFAULT) -> bytes:
    """A verification by bare identifier as a counter sees it: the verdict, the checks, the public summary (with
    the expected anchoring time while PENDING) and the holder masked (``ledger.core.masking``); fields and the full
    holder only through an intake with the holder's use code, or from the holder's own PDF or bundle."""
    body = result_dict(result, lang)
    certificate = body["certificate"]
    body["certificate"] = {**{k: v for k, v in certificate.items() if k in COUNTER_SUMMARY},
                           **(masked_holder(certificate) if "holder" in certificate else {})}
    return orjson.dumps(body)


def verify_identifier(lib: Library, identifier: str, lang: str = DEFAULT) -> VerificationOut:
    return _out(verification.verify_identifier(lib, identifier), "identifier", lang)


def verify_bundle(lib: Library, bundle: dict[str, Any], lang: str = DEFAULT) -> VerificationOut:
    return _out(verification.verify_bundle(lib, bundle), "bundle", lang)


def verify_pdf(lib: Library, pdf: bytes, lang: str = DEFAULT) -> VerificationOut:
    return _out(verify_pdf_document(lib, pdf), "pdf", lang)


def public_view(result: VerificationOut) -> VerificationOut:
    summary = {k: v for k, v in result.certificate.items() if k in PUBLIC_SUMMARY}
    return result.model_copy(update={"certificate": summary})
