"""Document seals: a PAdES signature with the department's visible seal, made with pyHanko.

Validated by pyHanko's validator (``pdf_verify``) and by poppler's ``pdfsig`` in the tests.
"""

from __future__ import annotations

import io
import logging

from asn1crypto import keys as a_keys
from asn1crypto import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ledger.errors import BadInput

from .certificates import describe_certificate
from .keys import PrivateKey, key_algorithm
from .keystore import KeyStore
from .registry import SealRegistry
from .seal_image import seal_image

log = logging.getLogger(__name__)

FIELD_NAME = "DepartmentSeal"
SEAL_BOX = (400, 60, 540, 200)  # lower right of an A4 page, points


def open_pdf(pdf: bytes) -> PdfFileReader:
    """A reader for an unencrypted PDF, or a BadInput naming what is wrong with it."""
    if not isinstance(pdf, (bytes, bytearray)) or b"%PDF-" not in bytes(pdf[:1024]):
        raise BadInput("pdf_not_pdf", "the document is not a PDF (no %PDF- header); send the certificate as PDF")
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        encrypted = reader.encrypted
        if not encrypted:
            reader.root["/Pages"]
    except (PdfReadError, KeyError, ValueError, TypeError, IndexError) as e:
        raise BadInput("pdf_malformed", f"the PDF cannot be read ({e}); re-export it from the source") from e
    if encrypted:
        raise BadInput("pdf_encrypted", "the PDF is encrypted; send it without a password or permissions lock")
    return reader


class PdfSealer:
    """A department seal for documents, loaded once; P-256 only (pyHanko cannot sign with SM2)."""

    def __init__(self, key: PrivateKey, cert_der: bytes, root_der: bytes) -> None:
        if key_algorithm(key) != "p256":
            raise BadInput("pdf_seal_algorithm", "PDF seals need a P-256 seal key; pyHanko cannot sign with SM2")
        key_der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        self.certificate = describe_certificate(cert_der)
        self._signer = signers.SimpleSigner(
            signing_cert=x509.Certificate.load(cert_der), signing_key=a_keys.PrivateKeyInfo.load(key_der),
            cert_registry=SimpleCertificateStore.from_certs([x509.Certificate.load(root_der)]))
        self._style = StaticStampStyle(background=PdfImage(seal_image(self.certificate.department_name)),
                                       border_width=0)

    @classmethod
    def load(cls, keystore: KeyStore, registry: SealRegistry, serial: int) -> PdfSealer:
        info = registry.certificate(serial)
        return cls(keystore.get(info.key_id), info.der, registry.root_der)

    def seal_pdf(self, pdf: bytes, *, page: int = -1, box: tuple[int, int, int, int] = SEAL_BOX,
                 reason: str = "电子证照签章") -> bytes:
        """The PDF with the seal signature appended as an incremental update."""
        reader = open_pdf(pdf)
        page_count = int(reader.root["/Pages"]["/Count"])
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        meta = signers.PdfSignatureMetadata(field_name=FIELD_NAME, subfilter=SigSeedSubFilter.PADES,
                                            md_algorithm="sha256", reason=reason,
                                            name=self.certificate.department_name)
        spec = fields.SigFieldSpec(FIELD_NAME, on_page=page % page_count, box=box)
        out = signers.PdfSigner(meta, self._signer, stamp_style=self._style, new_field_spec=spec).sign_pdf(writer)
        log.debug("pdf sealed", extra={"serial": f"{self.certificate.serial:x}", "bytes": out.getbuffer().nbytes})
        return out.getvalue()
