"""Record seals: a detached CMS SignedData (P-256) or a GB/T 38540 SES_Signature (SM2) over the
RFC 8785 canonical record.

The DER is assembled by hand around one signature per record: everything that does not depend on the
record (certificate, signer identifier, algorithm identifiers, the SESeal) is encoded once per
``Sealer``. The tests parse the output with asn1crypto and ``openssl cms -verify`` to keep it honest.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from asn1crypto import core, x509

from ledger.errors import BadInput

from .canonical import canonical_record
from .certificates import describe_certificate, utc
from .der import cms_time, seq, tlv
from .keys import PrivateKey, key_algorithm, public_key_der, sign
from .keystore import KeyStore
from .registry import SealRegistry
from .ses import ses_signature, tbs_sign

Record = Mapping[str, Any] | bytes | str

OID_DATA = bytes.fromhex("06092a864886f70d010701")
OID_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")
ATTR_CONTENT_TYPE = seq(bytes.fromhex("06092a864886f70d010903"), tlv(0x31, OID_DATA))
OID_SIGNING_TIME = bytes.fromhex("06092a864886f70d010905")
OID_MESSAGE_DIGEST = bytes.fromhex("06092a864886f70d010904")
SHA256_ALG = seq(bytes.fromhex("0609608648016503040201"))
_ECDSASHA256_ALG = seq(bytes.fromhex("06082a8648ce3d040302"))


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


class Sealer:
    """One department seal, loaded once, sealing many records."""

    def __init__(self, key: PrivateKey, cert_der: bytes, eseal_der: bytes | None = None) -> None:
        info = describe_certificate(cert_der)
        if public_key_der(key) != info.spki_der:
            raise BadInput("seal_key_mismatch", "the private key does not belong to this seal certificate")
        self.certificate = info
        self.algorithm = key_algorithm(key)
        self._key = key
        self._time: datetime | None = None
        self._time_attr = b""
        if self.algorithm == "sm2":
            if eseal_der is None:
                raise BadInput("eseal_missing", "an SM2 seal needs its GB/T 38540 SESeal from the seal registry")
            self._eseal = eseal_der
            self._cert_octets = core.OctetString(cert_der).dump()
        else:
            issuer = x509.Certificate.load(cert_der).issuer.dump()
            sid = seq(issuer, core.Integer(info.serial).dump())
            self._signer_head = b"\x02\x01\x01" + sid + SHA256_ALG
            self._sd_head = b"\x02\x01\x01" + tlv(0x31, SHA256_ALG) + seq(OID_DATA) + tlv(0xA0, cert_der)

    @classmethod
    def load(cls, keystore: KeyStore, registry: SealRegistry, serial: int) -> Sealer:
        info = registry.certificate(serial)
        return cls(keystore.get(info.key_id), info.der, registry.eseals.get(serial))

    def seal_record(self, record: Record, signing_time: datetime | None = None) -> bytes:
        return self._seal(canonical_record(record), utc(signing_time) if signing_time else _now())

    def seal_records(self, records: Iterable[Record], signing_time: datetime | None = None) -> list[bytes]:
        """Seals for a batch, all with one signing time."""
        t = utc(signing_time) if signing_time else _now()
        return [self._seal(canonical_record(r), t) for r in records]

    def _seal(self, data: bytes, t: datetime) -> bytes:
        if self.algorithm == "sm2":
            tbs = tbs_sign(self._eseal, t, hashlib.new("sm3", data).digest())
            return ses_signature(tbs, self._cert_octets, sign(self._key, tbs))
        if t != self._time:
            self._time, self._time_attr = t, seq(OID_SIGNING_TIME, tlv(0x31, cms_time(t)))
        attrs = b"".join(sorted((
            ATTR_CONTENT_TYPE,
            self._time_attr,
            seq(OID_MESSAGE_DIGEST, tlv(0x31, tlv(0x04, hashlib.sha256(data).digest()))),
        )))
        signature = sign(self._key, tlv(0x31, attrs))
        signer_info = seq(self._signer_head, tlv(0xA0, attrs), _ECDSASHA256_ALG, tlv(0x04, signature))
        signed_data = seq(self._sd_head, tlv(0x31, signer_info))
        return seq(OID_SIGNED_DATA, tlv(0xA0, signed_data))
