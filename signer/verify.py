"""Seal verification as named checks (ledger.core.checks), for record seals and, via pdf_verify, PDF seals.

Checks: ``seal_intact`` (signature over the exact bytes), ``seal_chain`` (seal certificate issued by
the city root), ``seal_certificate_valid`` (valid at signing time, not signed at or after a recorded
compromise), ``seal_signer_matches`` (certificate's credit code = the record's
``issuing_department_code``, the GB/T 36903 issuing department code).
Chain results and public keys are cached per seal certificate, validity and signer checks per
(certificate, time, compromise time) and (certificate, issuer code), an SESeal's verdict per SESeal, and
the seal's structure per frame (``seal_reader``: the bytes outside its time, digest and signature, read
strictly once), so a batch costs about one ECDSA verification and one canonicalization per record. A seal
that is not one (not DER, another structure, no certificate for its signer) is a failed ``seal_intact``
naming why, never an exception. Returned checks may be shared between calls: treat them as read-only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import orjson
from asn1crypto import x509

from ledger.core.canonical import canonical_record
from ledger.core.checks import Check, Status
from ledger.core.errors import BadInput

from .certificates import SealCertInfo, describe_certificate, utc
from .keys import load_public_key, verify
from .record_seal import Record
from .registry import SealRegistry
from .seal_reader import ReadSeal, SealRejected, read_seal
from .ses import ECDSA_SHA256_OID, SESeal

# The record key naming the issuing department's credit code (GB/T 36903 field names, ledger.core.record).
ISSUER_CODE_KEY = "issuing_department_code"
CHECKS = ("seal_intact", "seal_chain", "seal_certificate_valid", "seal_signer_matches")


@dataclass(frozen=True)
class _CertEntry:
    info: SealCertInfo
    public_key: Any
    chain: Check


_MAX_CACHED_CHECKS = 4096
_DIGESTS = {"cms": hashlib.sha256, "ses": partial(hashlib.new, "sm3")}
_CMS_INTACT = Check("seal_intact", Status.VALID, "signature_valid", "", {"format": "cms"})
_SES_INTACT = Check("seal_intact", Status.VALID, "signature_valid", "", {"format": "gbt38540"})


class SealVerifier:
    def __init__(self, registry: SealRegistry) -> None:
        self.registry = registry
        self._root = describe_certificate(registry.root_der)
        self._root_key = load_public_key(self._root.spki_der)
        self._root_subject = x509.Certificate.load(registry.root_der).subject.dump()
        self._certs: dict[bytes, _CertEntry] = {}
        self._validity_checks: dict[tuple, Check] = {}
        self._signer_checks: dict[tuple, Check] = {}
        self._eseals: dict[tuple[bytes, bytes], bool] = {}

    def verify_record(self, record: Record, seal: bytes, *, anchored_at: datetime | None = None,
                      issuer_code_key: str = ISSUER_CODE_KEY) -> list[Check]:
        """Checks for one record seal; ``anchored_at`` (ledger time) bounds a signer-claimed signing time.
        ``issuer_code_key`` names the record's key holding the sealer's credit code (a report summary's
        is ``association_code``)."""
        data = canonical_record(record)
        issuer_code = (record if isinstance(record, dict) else orjson.loads(data)).get(issuer_code_key)
        try:
            read = read_seal(seal)
            entry = self._entry(read.frame.certificate)
        except SealRejected as e:
            return [Check("seal_intact", Status.INVALID, e.reason, e.message)]
        except BadInput as e:  # the certificate the seal carries is not one
            return [Check("seal_intact", Status.INVALID, e.code, e.message)]
        return [self._intact(read, entry, data), *self._checks(entry, read.signing_time, issuer_code, anchored_at)]

    def certificate_checks(self, cert_der: bytes, signing_time: datetime, issuer_code: str | None, *,
                           anchored_at: datetime | None = None) -> list[Check]:
        return self._checks(self._entry(cert_der), utc(signing_time), issuer_code, anchored_at)

    def _entry(self, cert_der: bytes) -> _CertEntry:
        entry = self._certs.get(cert_der)
        if entry is None:
            info = describe_certificate(cert_der)
            try:
                public_key = load_public_key(info.spki_der)
            except ValueError as e:  # both libraries refuse a point that is not on the curve this way
                raise BadInput("seal_certificate_malformed", f"the seal certificate's public key cannot be read: {e}") from e
            entry = _CertEntry(info, public_key, self._chain(info))
            if len(self._certs) >= _MAX_CACHED_CHECKS:  # seals from anywhere may carry any certificate
                self._certs.clear()
            self._certs[cert_der] = entry
        return entry

    def _chain(self, info: SealCertInfo) -> Check:
        data = {"serial": f"{info.serial:x}"}
        if info.issuer_der != self._root_subject:
            return Check("seal_chain", Status.INVALID, "unknown_issuer",
                         "the seal certificate was not issued by the city seal root", data)
        if not verify(self._root_key, info.signature, info.tbs_der):
            return Check("seal_chain", Status.INVALID, "issuer_signature_invalid",
                         "the seal certificate names the city root but its signature does not verify", data)
        return Check("seal_chain", Status.VALID, "chains_to_city_root", "", data)

    def _checks(self, entry: _CertEntry, t: datetime, issuer_code: str | None,
                anchored_at: datetime | None) -> list[Check]:
        """Chain, validity and signer checks; the last two are remembered, as a batch repeats them."""
        info = entry.info
        key = (info.der, t, anchored_at, self.registry.revocations.get(info.serial))
        validity = self._validity_checks.get(key)
        if validity is None:
            validity = self._remember(self._validity_checks, key, self._validity(info, t, anchored_at))
        signer = self._signer_checks.get((info.der, issuer_code))
        if signer is None:
            signer = self._remember(self._signer_checks, (info.der, issuer_code), _signer_matches(info, issuer_code))
        return [entry.chain, validity, signer]

    @staticmethod
    def _remember(cache: dict[tuple, Check], key: tuple, check: Check) -> Check:
        if len(cache) >= _MAX_CACHED_CHECKS:
            cache.clear()
        cache[key] = check
        return check

    def _validity(self, info: SealCertInfo, t: datetime, anchored_at: datetime | None) -> Check:
        data = {"signing_time": t.isoformat(), "not_before": info.not_before.isoformat(),
                "not_after": info.not_after.isoformat()}
        if t < info.not_before:
            return Check("seal_certificate_valid", Status.INVALID, "not_yet_valid_at_signing",
                         "the seal was made before its certificate's validity began", data)
        if t > info.not_after:
            return Check("seal_certificate_valid", Status.INVALID, "expired_at_signing",
                         "the seal was made after its certificate expired", data)
        if not self._root.not_before <= t <= self._root.not_after:
            return Check("seal_certificate_valid", Status.INVALID, "root_not_valid_at_signing",
                         "the city root was not valid when the seal was made", data)
        compromised = self.registry.revocations.get(info.serial)
        if compromised is not None:
            data["compromise_time"] = compromised.isoformat()
            if t >= compromised:
                return Check("seal_certificate_valid", Status.INVALID, "signed_after_compromise",
                             "the seal was made at or after the seal key's recorded compromise", data)
            if anchored_at is not None and utc(anchored_at) >= compromised:
                return Check("seal_certificate_valid", Status.INVALID, "anchored_after_compromise",
                             "the seal key was compromised before this seal was anchored, so its "
                             "signing time cannot be trusted", data)
            return Check("seal_certificate_valid", Status.VALID, "signed_before_compromise",
                         "the seal key was later revoked, but this seal predates the compromise", data)
        return Check("seal_certificate_valid", Status.VALID, "valid_at_signing", "", data)

    def _intact(self, read: ReadSeal, entry: _CertEntry, data: bytes) -> Check:
        frame = read.frame
        cms = frame.format == "cms"
        if not frame.algorithm_ok or entry.info.algorithm != ("p256" if cms else "sm2"):
            return Check("seal_intact", Status.INVALID, "unsupported_algorithm",
                         "record seals here are ECDSA with SHA-256 (P-256)" if cms else "SES seals here are SM2 with SM3")
        if read.digest != _DIGESTS[frame.format](data).digest():
            return Check("seal_intact", Status.INVALID, "digest_mismatch", "the record differs from the one that was sealed")
        if not verify(entry.public_key, read.signature, read.signed):
            return Check("seal_intact", Status.INVALID, "signature_invalid",
                         "the seal signature does not verify with the seal certificate's key")
        if not cms and not self._eseal_ok(frame.eseal, entry.info.der):
            return Check("seal_intact", Status.INVALID, "eseal_invalid",
                         "the electronic seal (SESeal) inside the signature was not made by the city authority "
                         "for this certificate")
        return _CMS_INTACT if cms else _SES_INTACT

    def _eseal_ok(self, eseal_der: bytes, cert_der: bytes) -> bool:
        """The SESeal names the certificate and carries the authority's signature; every seal of a department
        carries the same SESeal, so the answer is remembered."""
        key = (eseal_der, cert_der)
        ok = self._eseals.get(key)
        if ok is None:
            eseal = SESeal.load(eseal_der)
            ok = (cert_der in eseal["eseal_info"]["property"]["cert_list"].native and
                  eseal["cert"].native == self.registry.root_der and eseal["sign_alg_id"].dotted == ECDSA_SHA256_OID
                  and verify(self._root_key, eseal["signed_value"].native, eseal["eseal_info"].dump()))
            if len(self._eseals) >= _MAX_CACHED_CHECKS:
                self._eseals.clear()
            self._eseals[key] = ok
        return ok


def _signer_matches(info: SealCertInfo, issuer_code: str | None) -> Check:
    data = {"certificate_code": info.credit_code, "department": info.department_name}
    if not issuer_code:
        return Check("seal_signer_matches", Status.SKIPPED, "no_issuer_code",
                     "no issuing department code to compare the seal with", data)
    if issuer_code != info.credit_code:
        return Check("seal_signer_matches", Status.INVALID, "department_mismatch",
                     f"sealed by {info.department_name} ({info.credit_code}), but the record names {issuer_code}",
                     data)
    return Check("seal_signer_matches", Status.VALID, "department_matches", "", data)
