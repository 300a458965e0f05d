"""Record seals: a detached CMS SignedData (P-256) or a GB/T 38540 SES_Signature (SM2) over the
RFC 8785 canonical record.

The DER is assembled by hand around one signature per record: everything that does not depend on the
record (certificate, signer identifier, algorithm identifiers, the SESeal) is encoded once per
``Sealer``, and a CMS seal is cut from a template per signing time and signature length, so a record
costs its canonical form, two SHA-256 and the ECDSA signature. The tests parse the output with
asn1crypto and ``openssl cms -verify`` to keep it honest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from asn1crypto import core, x509

from ledger.core.canonical import canonical_record
from ledger.core.errors import BadInput

from .certificates import describe_certificate, now_utc, utc
from .der import cms_time, generalized_time, seq, tlv
from .keys import SigningKey
from .keystore import KeyStore
from .registry import SealRegistry
from .seal_reader import OID_SIGNED_DATA, seal_certificate_der, seal_format  # noqa: F401 - ledger reads the last two here
from .ses import ses_signature, tbs_sign

Record = Mapping[str, Any] | bytes | str

OID_DATA = bytes.fromhex("06092a864886f70d010701")
ATTR_CONTENT_TYPE = seq(bytes.fromhex("06092a864886f70d010903"), tlv(0x31, OID_DATA))
OID_SIGNING_TIME = bytes.fromhex("06092a864886f70d010905")
OID_MESSAGE_DIGEST = bytes.fromhex("06092a864886f70d010904")
_DIGEST_LEN = 32
_MD_ATTR_HEAD = seq(OID_MESSAGE_DIGEST, tlv(0x31, tlv(0x04, bytes(_DIGEST_LEN))))[:-_DIGEST_LEN]
SHA256_ALG = seq(bytes.fromhex("0609608648016503040201"))
ECDSA_SHA256_ALG = seq(bytes.fromhex("06082a8648ce3d040302"))


class _AtTime:
    """Encodings that depend only on the signing time, made once per time rather than per record.

    Kept in one object that is swapped whole, so concurrent callers with other times never mix parts.
    """

    def __init__(self, t: datetime, encoder: SealEncoder) -> None:
        self.time = t
        self.generalized = generalized_time(t)  # SM2 TBS_Sign timeInfo
        # DER orders the SET OF attributes by encoding; the three differ in their length byte (0x18, 0x1c or
        # 0x1e, 0x2f), so the message digest always comes last: the signed attributes are a prefix made here
        # followed by the record's digest.
        self.attrs = ATTR_CONTENT_TYPE + seq(OID_SIGNING_TIME, tlv(0x31, cms_time(t))) + _MD_ATTR_HEAD
        full = tlv(0x31, self.attrs + bytes(_DIGEST_LEN))
        self.signed_prefix = full[:-_DIGEST_LEN]  # what the signature covers, less the digest
        self.templates: dict[int, tuple[bytes, bytes]] = {}  # signature length -> (head, middle)
        self._encoder = encoder

    def template(self, signature_length: int) -> tuple[bytes, bytes]:
        """(bytes before the record digest, bytes between digest and signature), cut from a whole seal."""
        full = self._encoder._assemble(self.attrs + bytes(_DIGEST_LEN), bytes(signature_length))
        digest_end = len(full) - signature_length - len(ECDSA_SHA256_ALG) - 2
        template = self.templates[signature_length] = (full[:digest_end - _DIGEST_LEN],
                                                       full[digest_end:-signature_length])
        return template


class SealEncoder:
    """The DER of one seal certificate's record seals from what varies per record: signing time, record digest and
    signature. The ``Sealer`` makes seals with it and ``signer.compact_seal`` rebuilds stored ones with it, so a
    seal rebuilt is the seal made, byte for byte."""

    def __init__(self, cert_der: bytes, eseal_der: bytes | None = None) -> None:
        self.certificate = describe_certificate(cert_der)
        self.algorithm = self.certificate.algorithm
        self._at_time: _AtTime | None = None
        if self.algorithm == "sm2":
            if eseal_der is None:
                raise BadInput("eseal_missing", "an SM2 seal needs its GB/T 38540 SESeal from the seal registry")
            self.eseal = eseal_der
            self._cert_octets = core.OctetString(cert_der).dump()
        else:
            self.eseal = None
            issuer = x509.Certificate.load(cert_der).issuer.dump()
            sid = seq(issuer, core.Integer(self.certificate.serial).dump())
            self._signer_head = b"\x02\x01\x01" + sid + SHA256_ALG
            self._sd_head = b"\x02\x01\x01" + tlv(0x31, SHA256_ALG) + seq(OID_DATA) + tlv(0xA0, cert_der)

    def at(self, signing_time: datetime | None) -> _AtTime:
        t = utc(signing_time) if signing_time else now_utc()
        at = self._at_time
        if at is None or at.time != t:
            at = self._at_time = _AtTime(t, self)
        return at

    def digest(self, data: bytes) -> bytes:
        """The record digest the seal carries: SM3 (SM2 seals) or SHA-256."""
        return hashlib.new("sm3", data).digest() if self.algorithm == "sm2" else hashlib.sha256(data).digest()

    def to_sign(self, at: _AtTime, digest: bytes) -> bytes:
        """What the signature covers: the SM2 TBS_Sign, or the CMS signed attributes."""
        if self.algorithm == "sm2":
            return tbs_sign(self.eseal, at.generalized, digest)
        return at.signed_prefix + digest

    def encode(self, at: _AtTime, digest: bytes, signature: bytes, to_sign: bytes | None = None) -> bytes:
        """The seal's DER; ``to_sign``: what ``to_sign`` returned, if the caller has it."""
        if self.algorithm == "sm2":
            return ses_signature(to_sign or self.to_sign(at, digest), self._cert_octets, signature)
        head, middle = at.templates.get(len(signature)) or at.template(len(signature))
        return head + digest + middle + signature

    def _assemble(self, attrs: bytes, signature: bytes) -> bytes:
        signer_info = seq(self._signer_head, tlv(0xA0, attrs), ECDSA_SHA256_ALG, tlv(0x04, signature))
        return seq(OID_SIGNED_DATA, tlv(0xA0, seq(self._sd_head, tlv(0x31, signer_info))))


class Sealer:
    """One department seal, loaded once, sealing many records."""

    def __init__(self, key: SigningKey, cert_der: bytes, eseal_der: bytes | None = None) -> None:
        info = describe_certificate(cert_der)
        if key.spki_der != info.spki_der:
            raise BadInput("seal_key_mismatch", "the private key does not belong to this seal certificate")
        self._encoder = SealEncoder(cert_der, eseal_der)
        self.certificate = info
        self.algorithm = key.algorithm
        self._sign = key.sign

    @classmethod
    def load(cls, keystore: KeyStore, registry: SealRegistry, serial: int) -> Sealer:
        info = registry.certificate(serial)
        return cls(keystore.get(info.key_id, owner=info.credit_code), info.der, registry.eseals.get(serial))

    def seal_records(self, records: Iterable[Record], signing_time: datetime | None = None, *,
                     canonical: bool = False) -> list[bytes]:
        """Seals for a batch, all with one signing time; ``canonical``: the records are already their canonical
        bytes (``record_bytes``), sealed as given instead of parsed and written again."""
        at, seal = self._encoder.at(signing_time), self._seal
        if canonical:
            return [seal(bytes(r), at) for r in records]
        return [seal(canonical_record(r), at) for r in records]

    def seal_parts(self, records: Iterable[bytes], signing_time: datetime | None = None
                   ) -> tuple[datetime, list[tuple[bytes, bytes]]]:
        """The signing time and each canonical record's (digest, signature): what a stored seal keeps
        (``signer.compact_seal.seal_compact``), without encoding the seal only to read it back."""
        encoder = self._encoder
        at = encoder.at(signing_time)
        parts = []
        for data in records:
            digest = encoder.digest(bytes(data))
            parts.append((digest, self._sign(encoder.to_sign(at, digest))))
        return at.time, parts

    def _seal(self, data: bytes, at: _AtTime) -> bytes:
        encoder = self._encoder
        digest = encoder.digest(data)
        to_sign = encoder.to_sign(at, digest)
        return encoder.encode(at, digest, self._sign(to_sign), to_sign)
