"""Verification of a sealed certificate PDF someone hands in: find its certificate, then every fragment plus the
document's digest and PDF seal.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import TYPE_CHECKING

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfError
from sqlalchemy import select

from ledger.core.errors import NotFound
from ledger.core.identifiers import PREFIX, parse_identifier
from ledger.storage.models import Certificate
from ledger.verify.fragments import VerificationResult
from ledger.verify.service import service_verifier
from ledger.verify.stored import certificate_bundle
from signer.pdf_seal import open_pdf

if TYPE_CHECKING:
    from ledger.app.library import Library

log = logging.getLogger(__name__)


_IDENTIFIER_IN_TEXT = re.compile(re.escape(PREFIX) + r"\.[0-9A-Z]{21}\.[0-9A-Z]{18}\.\d{11}\.\d{3}\.[0-9A-Z]")


def pdf_identifier(pdf: bytes) -> str | None:
    """The certificate identifier a rendered PDF names in its document information (title)."""
    reader = open_pdf(pdf)
    try:  # an incremental update may point /Info at nothing, or at something else than a dictionary
        info = reader.trailer_view.get("/Info")
        info = info.get_object() if info is not None else None
        if not isinstance(info, generic.DictionaryObject):
            return None
        values = [info.get(key) for key in ("/CertledgerIdentifier", "/Title", "/Subject", "/Keywords")]
    except (PdfError, KeyError, ValueError, TypeError, AttributeError):
        return None  # then the document is looked up by its digest, and its seal check names what is wrong
    for value in values:
        match = _IDENTIFIER_IN_TEXT.search(str(value)) if value is not None else None
        if match:
            return match.group(0)
    return None


def verify_pdf(lib: Library, pdf: bytes) -> VerificationResult:
    """Verify a sealed certificate PDF: find its certificate (by the identifier it names, else by its digest),
    then every fragment plus the document's digest and PDF seal."""
    identifier = pdf_identifier(pdf)
    if identifier is not None:
        parse_identifier(identifier)
    else:
        digest = hashlib.sha256(pdf).digest()
        with lib.sessions() as session:
            identifier = session.scalar(select(Certificate.identifier).where(Certificate.document_digest == digest)
                                        .limit(1))
        if identifier is None:
            raise NotFound("pdf_certificate_unknown",
                           "this PDF names no certificate identifier and matches no issued document; "
                           "verify by the identifier printed on it instead")
    return service_verifier(lib).verify_bundle(certificate_bundle(lib, identifier), pdf, pdf=True)
