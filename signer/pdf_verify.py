"""PDF seal verification with pyHanko's validator, reported as the same named checks as record seals."""

from __future__ import annotations

import io

from asn1crypto import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko_certvalidator import ValidationContext

from ledger.core.checks import Check, Status
from ledger.core.errors import BadInput

from .pdf_seal import open_pdf
from .verify import SealVerifier


def verify_pdf(verifier: SealVerifier, pdf: bytes, *, issuer_code: str | None = None) -> list[Check]:
    """Checks for the last seal in ``pdf``; ``issuer_code`` is the department the certificate names."""
    open_pdf(pdf)
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    if not reader.embedded_signatures:
        raise BadInput("pdf_not_sealed", "the PDF carries no seal signature")
    sig = reader.embedded_signatures[-1]
    context = ValidationContext(trust_roots=[x509.Certificate.load(verifier.registry.root_der)],
                                allow_fetching=False, revocation_mode="soft-fail")
    try:
        status = validate_pdf_signature(sig, context)
    except SignatureValidationError as e:
        return [Check("seal_intact", Status.INVALID, "signature_invalid", str(e))]
    if not (status.intact and status.valid):
        intact = Check("seal_intact", Status.INVALID, "signature_invalid",
                       "the document changed after sealing or the seal signature is broken")
    elif status.coverage.name != "ENTIRE_FILE" and status.modification_level.name != "NONE":
        intact = Check("seal_intact", Status.INVALID, "modified_after_sealing",
                       f"the document was changed after it was sealed ({status.modification_level.name})")
    else:
        intact = Check("seal_intact", Status.VALID, "signature_valid", "", {"format": "pades"})
    checks = verifier.certificate_checks(sig.signer_cert.dump(), status.signer_reported_dt, issuer_code)
    if checks[0].status is Status.VALID and not status.trusted:
        checks[0] = Check("seal_chain", Status.INVALID, "untrusted_by_pyhanko",
                          "pyHanko could not build a trusted path to the city root", checks[0].data)
    return [intact, *checks]
