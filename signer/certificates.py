"""Seal certificates: building them under the city root and reading the department identity back.

Certificates are assembled with asn1crypto and signed with the root's P-256 key, so one code path
serves P-256 and SM2 subject keys alike (``cryptography``'s builder cannot take an SM2 public key).
A department is named by subject O and its unified social credit code by organizationIdentifier
(2.5.4.97).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

from asn1crypto import keys as a_keys
from asn1crypto import x509

from ledger.core.errors import BadInput

from .keys import SM2_CURVE_OID, Algorithm, SigningKey

_ALGORITHMS: dict[str, Algorithm] = {"1.2.840.10045.3.1.7": "p256", SM2_CURVE_OID: "sm2"}


def _key_id(spki_der: bytes) -> bytes:
    spki = a_keys.PublicKeyInfo.load(spki_der)
    return hashlib.sha1(spki["public_key"].contents[1:]).digest()


def new_serial() -> int:
    """A positive 127-bit serial: unpredictable, and chosen before the key so the key id can name it."""
    return secrets.randbits(127) | (1 << 126)


def seal_key_id(serial: int) -> str:
    """Key-store id of a seal certificate's private key."""
    return f"seal-{serial:x}"


def build_certificate(*, serial: int, subject: x509.Name, spki_der: bytes, issuer: x509.Name, issuer_key: SigningKey,
                      issuer_spki_der: bytes, not_before: datetime, not_after: datetime, ca: bool) -> bytes:
    """A v3 certificate signed ECDSA/SHA-256 by ``issuer_key`` (a P-256 key, in a file or a token); seal
    certificates are for non-repudiation."""
    usage = {"key_cert_sign", "crl_sign"} if ca else {"digital_signature", "non_repudiation"}
    extensions = [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": ca}},
        {"extn_id": "key_usage", "critical": True, "extn_value": usage},
        {"extn_id": "key_identifier", "critical": False, "extn_value": _key_id(spki_der)},
        {"extn_id": "authority_key_identifier", "critical": False,
         "extn_value": {"key_identifier": _key_id(issuer_spki_der)}},
    ]
    tbs = x509.TbsCertificate({
        "version": "v3",
        "serial_number": serial,
        "signature": {"algorithm": "sha256_ecdsa"},
        "issuer": issuer,
        "validity": {"not_before": x509.Time({"general_time" if not_before.year >= 2050 else "utc_time": not_before}),
                     "not_after": x509.Time({"general_time" if not_after.year >= 2050 else "utc_time": not_after})},
        "subject": subject,
        "subject_public_key_info": a_keys.PublicKeyInfo.load(spki_der),
        "extensions": extensions,
    })
    signature = issuer_key.sign(tbs.dump())
    return x509.Certificate({"tbs_certificate": tbs, "signature_algorithm": {"algorithm": "sha256_ecdsa"},
                             "signature_value": signature}).dump()


def seal_subject(department_name: str, credit_code: str) -> x509.Name:
    return x509.Name.build({"country_name": "CN", "organization_name": department_name,
                            "organization_identifier": credit_code,
                            "common_name": f"{department_name}电子证照专用章"}, use_printable=False)


@dataclass(frozen=True)
class SealCertInfo:
    """What the verifier needs from a seal certificate, parsed once."""

    der: bytes
    serial: int
    department_name: str
    credit_code: str
    not_before: datetime
    not_after: datetime
    algorithm: Algorithm
    spki_der: bytes
    tbs_der: bytes
    signature: bytes
    issuer_der: bytes

    @property
    def key_id(self) -> str:
        """Key-store id of this certificate's private key."""
        return seal_key_id(self.serial)


@lru_cache(maxsize=4096)
def describe_certificate(der: bytes) -> SealCertInfo:
    try:
        cert = x509.Certificate.load(der, strict=True)
        tbs = cert["tbs_certificate"]
        if cert["signature_algorithm"].dump() != tbs["signature"].dump():
            raise ValueError("its two signature algorithm fields differ (RFC 5280 4.1.1.2)")
        subject = tbs["subject"].native
        spki = tbs["subject_public_key_info"]
        params = spki["algorithm"]["parameters"]
        curve = params.chosen.dotted if spki["algorithm"]["algorithm"].native == "ec" and params.name == "named" else ""
        if curve not in _ALGORITHMS:
            raise ValueError("its key is neither P-256 nor SM2")
        info = SealCertInfo(
            der=der,
            serial=tbs["serial_number"].native,
            department_name=subject.get("organization_name", ""),
            credit_code=subject.get("organization_identifier", ""),
            not_before=tbs["validity"]["not_before"].native,
            not_after=tbs["validity"]["not_after"].native,
            algorithm=_ALGORITHMS[curve],
            spki_der=spki.dump(),
            tbs_der=tbs.dump(),
            signature=cert["signature_value"].native,
            issuer_der=tbs["issuer"].dump(),
        )
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as e:
        raise BadInput("seal_certificate_malformed", f"the seal certificate is not a valid X.509 certificate: {e}") from e
    return info


def now_utc() -> datetime:
    """Now, to the second: certificate and seal times carry no fractions."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def utc(t: datetime) -> datetime:
    return t.astimezone(timezone.utc) if t.tzinfo else t.replace(tzinfo=timezone.utc)
