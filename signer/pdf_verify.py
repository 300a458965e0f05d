"""PDF seal verification with pyHanko's validator, reported as the same named checks as record seals.

A PDF that cannot be read, carries no seal or was changed after sealing is a failed ``seal_intact``
naming why, never an exception. Besides pyHanko's checks, the seal must cover the whole file (nothing
appended after it), and its CMS, the one part of the file no signature covers, must be DER followed only
by the zero padding of /Contents, name its signer's certificate by its SignerIdentifier and carry no
certificate but that one and the city root.
"""

from __future__ import annotations

import io
from datetime import datetime

from asn1crypto import parser, x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from ledger.core.checks import Check, Status
from ledger.core.errors import BadInput

from .pdf_seal import open_pdf
from .seal_reader import SealRejected, read_signed_data
from .verify import SealVerifier

# What pyHanko and asn1crypto raise on a malformed file, reference, object or CMS (issue 11: a dangling
# reference in an incremental update surfaced as KeyError).
_READ_ERRORS = (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError, OverflowError,
                NotImplementedError, RecursionError)


_HEX_DIGITS = b"0123456789ABCDEFabcdef"


def _invalid(reason: str, message: str) -> list[Check]:
    return [Check("seal_intact", Status.INVALID, reason, message)]


def verify_pdf(verifier: SealVerifier, pdf: bytes, *, issuer_code: str | None = None) -> list[Check]:
    """Checks for the last seal in ``pdf``; ``issuer_code`` is the department the certificate names."""
    try:
        open_pdf(pdf)
    except BadInput as e:
        return _invalid(e.code, e.message)
    root = x509.Certificate.load(verifier.registry.root_der)
    try:
        signatures = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
        if not signatures:
            return _invalid("pdf_not_sealed", "the PDF carries no seal signature")
        sig = signatures[-1]
        problem = _contents_problem(pdf, sig.sig_object["/ByteRange"]) or _cms_problem(sig.pkcs7_content)
        if problem is not None:
            return _invalid(*problem)
        foreign = {c.chosen.dump() for c in sig.signed_data["certificates"]} - {sig.signer_cert.dump(), root.dump()}
        context = ValidationContext(trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail")
        status = validate_pdf_signature(sig, context)
        signer_der, signed_at = sig.signer_cert.dump(), status.signer_reported_dt
    except _READ_ERRORS as e:
        return _invalid("pdf_malformed", f"the PDF or its seal cannot be read ({type(e).__name__}: {e}); "
                                         "re-export it from the source")
    if not (status.intact and status.valid):
        intact = Check("seal_intact", Status.INVALID, "signature_invalid",
                       "the document changed after sealing or the seal signature is broken")
    elif status.coverage.name != "ENTIRE_FILE":
        intact = Check("seal_intact", Status.INVALID, "modified_after_sealing",
                       f"the document was changed after it was sealed ({status.modification_level.name})")
    elif foreign:
        intact = Check("seal_intact", Status.INVALID, "unexpected_certificate",
                       "the seal carries a certificate other than its seal certificate and the city root")
    else:
        intact = Check("seal_intact", Status.VALID, "signature_valid", "", {"format": "pades"})
    if not isinstance(signed_at, datetime):
        return [intact, Check("seal_certificate_valid", Status.INVALID, "no_signing_time",
                              "the seal states no signing time to check its certificate at")]
    try:
        checks = verifier.certificate_checks(signer_der, signed_at, issuer_code)
    except BadInput as e:
        return [intact, Check("seal_chain", Status.INVALID, e.code, e.message)]
    if checks[0].status is Status.VALID and not status.trusted:
        checks[0] = Check("seal_chain", Status.INVALID, "untrusted_by_pyhanko",
                          "pyHanko could not build a trusted path to the city root", checks[0].data)
    return [intact, *checks]


def _contents_problem(pdf: bytes, byte_range: list) -> tuple[str, str] | None:
    """The gap the byte range leaves must be exactly /Contents' hex string: ``<``, hex digits of one case, ``>``.
    Readers skip whitespace in hex strings and take ``a`` and ``A`` alike, so either would let unsigned bytes
    change while the CMS stays as it was."""
    gap = pdf[int(byte_range[1]):int(byte_range[2])]
    digits = gap[1:-1]
    if len(gap) < 2 or gap[:1] != b"<" or gap[-1:] != b">" or digits.strip(_HEX_DIGITS) or \
            digits not in (digits.upper(), digits.lower()):
        return "seal_malformed", "the part of the file the seal does not cover is not only its hex-encoded CMS"
    return None


def _cms_problem(contents: bytes) -> tuple[str, str] | None:
    """(reason, message) if the seal's CMS, which no signature covers, is not what ``read_signed_data`` reads (DER,
    detached id-data, one signer whose certificate it carries) followed by zero padding."""
    _, _, _, header, body, _ = parser.parse(contents)
    der = contents[:len(header) + len(body)]
    if contents[len(der):].strip(b"\x00"):
        return "seal_malformed", "the seal's /Contents holds bytes after its CMS other than zero padding"
    try:
        info, _, _ = read_signed_data(der, whole=False)
    except SealRejected as e:
        return e.reason, e.message
    if any(c.name != "certificate" for c in info["content"]["certificates"]):
        return "seal_malformed", "the seal's CMS carries something other than X.509 certificates"
    return None
