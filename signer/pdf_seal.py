"""Document seals: a PAdES signature with the department's visible seal, made with pyHanko.

Validated by pyHanko's validator (``pdf_verify``) and by poppler's ``pdfsig`` in the tests.
"""

from __future__ import annotations

import io
import logging

from asn1crypto import tsp, x509
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.attributes import CMSAttributeProvider, SignedAttributeProviderSpec
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ledger.core.errors import BadInput

from .certificates import describe_certificate
from .keys import SigningKey
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


class _SigningCertificate(CMSAttributeProvider):
    """signing-certificate-v2 from DER encoded once: pyHanko re-encodes the issuer name per document (~4 ms)."""

    attribute_type = "signing_certificate_v2"

    def __init__(self, cert: x509.Certificate) -> None:
        self._der = as_signing_certificate_v2(cert).dump()

    async def build_attr_value(self, dry_run: bool = False) -> tsp.SigningCertificateV2:
        return tsp.SigningCertificateV2.load(self._der)


class _PadesAttributes(SignedAttributeProviderSpec):
    """PAdES signed attributes (besides content type and digest): only signing-certificate-v2."""

    def __init__(self, cert: x509.Certificate) -> None:
        self._provider = _SigningCertificate(cert)

    def signed_attr_providers(self, data_digest: bytes, digest_algorithm: str) -> list[CMSAttributeProvider]:
        return [self._provider]


class _SealSigner(signers.Signer):
    """Signs through ``SigningKey``, so file and token keys take one path (pyHanko's PKCS11Signer would need its
    own session and ``use_raw_mechanism`` for SoftHSM2); SimpleSigner would re-parse the PKCS#8 key per document."""

    def __init__(self, key: SigningKey, cert: x509.Certificate, root: x509.Certificate) -> None:
        super().__init__(signing_cert=cert, cert_registry=SimpleCertificateStore.from_certs([root]))
        self.signed_attr_prov_spec = _PadesAttributes(cert)
        self._key = key

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if digest_algorithm != "sha256":
            raise ValueError(f"PDF seals are ECDSA with SHA-256, not {digest_algorithm}")
        return self._key.sign(data)


class PdfSealer:
    """A department seal for documents, loaded once; P-256 only (pyHanko cannot sign with SM2)."""

    def __init__(self, key: SigningKey, cert_der: bytes, root_der: bytes) -> None:
        if key.algorithm != "p256":
            raise BadInput("pdf_seal_algorithm", "PDF seals need a P-256 seal key; pyHanko cannot sign with SM2")
        self.certificate = describe_certificate(cert_der)
        self._signer = _SealSigner(key, x509.Certificate.load(cert_der), x509.Certificate.load(root_der))
        self._style = StaticStampStyle(background=PdfImage(seal_image(self.certificate.department_name)),
                                       border_width=0)
        # Room for the CMS (as hex) without pyHanko's dry-run signature per document: both certificates
        # travel in it, plus ~700 bytes of signed attributes and signature; 1 KiB of slack.
        self._bytes_reserved = 2 * (len(cert_der) + len(root_der) + 1024)

    @classmethod
    def load(cls, keystore: KeyStore, registry: SealRegistry, serial: int) -> PdfSealer:
        info = registry.certificate(serial)
        return cls(keystore.get(info.key_id, owner=info.credit_code), info.der, registry.root_der)

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
        out = signers.PdfSigner(meta, self._signer, stamp_style=self._style, new_field_spec=spec).sign_pdf(
            writer, bytes_reserved=self._bytes_reserved)
        log.debug("pdf sealed", extra={"serial": f"{self.certificate.serial:x}", "bytes": out.getbuffer().nbytes})
        return out.getvalue()
