"""Seal verification as named checks (ledger.core.checks), for record seals and, via pdf_verify, PDF seals.

Checks: ``seal_intact`` (signature over the exact bytes), ``seal_chain`` (seal certificate issued by
the city root), ``seal_certificate_valid`` (valid at signing time, not signed at or after a recorded
compromise), ``seal_signer_matches`` (certificate's credit code = the record's
``issuing_department_code``, the GB/T 36903 issuing department code).
Chain results and public keys are cached per seal certificate, validity and signer checks per
(certificate, time, compromise time) and (certificate, issuer code), an SESeal's verdict per SESeal, and
the layout of a CMS seal per frame (the bytes outside its time, digest and signature), so a batch costs
about one ECDSA verification and one canonicalization per record. Returned checks may be shared between
calls: treat them as read-only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from asn1crypto import x509

from ledger.core.canonical import canonical_record
from ledger.core.checks import Check, Status, verdict
from ledger.core.errors import BadInput

from . import der
from .certificates import SealCertInfo, describe_certificate, utc
from .keys import SM2_WITH_SM3_OID, load_public_key, verify
from .record_seal import (
    ECDSA_SHA256_ALG,
    OID_MESSAGE_DIGEST,
    OID_SIGNED_DATA,
    OID_SIGNING_TIME,
    SHA256_ALG,
    Record,
    seal_format,
)
from .registry import SealRegistry
from .ses import ECDSA_SHA256_OID, SESeal, SESSignature

# The record key naming the issuing department's credit code (GB/T 36903 field names, ledger.core.record).
ISSUER_CODE_KEY = "issuing_department_code"
CHECKS = ("seal_intact", "seal_chain", "seal_certificate_valid", "seal_signer_matches")


@dataclass(frozen=True)
class _Parsed:
    entry: _CertEntry
    signing_time: datetime
    intact: Check


@dataclass(frozen=True)
class _CertEntry:
    info: SealCertInfo
    public_key: Any
    chain: Check


@dataclass(frozen=True)
class _Layout:
    """Where a CMS seal's per-record fields sit; seals from one sealer share it (same bytes elsewhere)."""

    entry: _CertEntry
    time: tuple[int, int, int]  # tag, content start, end
    digest: tuple[int, int]
    attrs: tuple[int, int]  # the [0] signed attributes element
    signature: tuple[int, int]
    algorithms_ok: bool
    frame: tuple[bytes, bytes, bytes]  # the seal up to the time, between time and digest, digest and signature


_MAX_LAYOUTS = 256
_MAX_CACHED_CHECKS = 4096
_CMS_INTACT = Check("seal_intact", Status.VALID, "signature_valid", "", {"format": "cms"})
_SES_INTACT = Check("seal_intact", Status.VALID, "signature_valid", "", {"format": "gbt38540"})


class SealVerifier:
    def __init__(self, registry: SealRegistry) -> None:
        self.registry = registry
        self._root = describe_certificate(registry.root_der)
        self._root_key = load_public_key(self._root.spki_der)
        self._root_subject = x509.Certificate.load(registry.root_der).subject.dump()
        self._certs: dict[bytes, _CertEntry] = {}
        self._layouts: dict[int, list[_Layout]] = {}  # by seal length
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
        parsed = self._parse(seal, data)
        return [parsed.intact, *self._checks(parsed.entry, utc(parsed.signing_time), issuer_code, anchored_at)]

    def certificate_checks(self, cert_der: bytes, signing_time: datetime, issuer_code: str | None, *,
                           anchored_at: datetime | None = None) -> list[Check]:
        return self._checks(self._entry(cert_der), utc(signing_time), issuer_code, anchored_at)

    def is_valid(self, checks: list[Check]) -> bool:
        return verdict(checks, CHECKS) is Status.VALID

    def _entry(self, cert_der: bytes) -> _CertEntry:
        entry = self._certs.get(cert_der)
        if entry is None:
            info = describe_certificate(cert_der)
            entry = _CertEntry(info, load_public_key(info.spki_der), self._chain(info))
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

    def _parse(self, seal: bytes, data: bytes) -> _Parsed:
        if not isinstance(seal, (bytes, bytearray)) or len(seal) < 16 or seal[0] != 0x30:
            raise BadInput("seal_malformed", "the seal is not DER: expected a CMS SignedData or a GB/T 38540 "
                                             "SES_Signature")
        try:
            if seal_format(seal) == "cms":
                return self._parse_cms(bytes(seal), data)
            return self._parse_ses(bytes(seal), data)
        except BadInput:
            raise
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as e:
            raise BadInput("seal_malformed", f"the seal cannot be parsed as a CMS SignedData or a GB/T 38540 "
                                             f"SES_Signature: {e}") from e

    def _parse_cms(self, seal: bytes, data: bytes) -> _Parsed:
        layout = self._known_layout(seal) or self._layout(seal)
        entry = layout.entry
        t = layout.time
        signing_time = der.parse_time(t[0], seal[t[1]:t[2]])
        if not layout.algorithms_ok:
            intact = Check("seal_intact", Status.INVALID, "unsupported_algorithm",
                           "record seals here are ECDSA with SHA-256 (P-256)")
        elif seal[layout.digest[0]:layout.digest[1]] != hashlib.sha256(data).digest():
            intact = Check("seal_intact", Status.INVALID, "digest_mismatch",
                           "the record differs from the one that was sealed")
        elif not verify(entry.public_key, seal[layout.signature[0]:layout.signature[1]],
                        b"\x31" + seal[layout.attrs[0] + 1:layout.attrs[1]]):
            intact = Check("seal_intact", Status.INVALID, "signature_invalid",
                           "the seal signature does not verify with the seal certificate's key")
        else:
            intact = _CMS_INTACT
        return _Parsed(entry, signing_time, intact)

    def _known_layout(self, seal: bytes) -> _Layout | None:
        """The layout of an earlier seal that has the very same bytes outside the time, digest and signature."""
        for layout in self._layouts.get(len(seal), ()):
            t1, (d0, d1) = layout.time[2], layout.digest
            if seal.startswith(layout.frame[0]) and seal[t1:d0] == layout.frame[1] and \
                    seal[d1:layout.signature[0]] == layout.frame[2]:
                return layout
        return None

    def _layout(self, seal: bytes) -> _Layout:
        """Walks the SignedData by hand (asn1crypto costs ~1 ms per seal) and remembers where its fields sit."""
        tag, s, e = der.read(seal, 0)
        oid, content = der.children(seal, s, e)
        if tag != 0x30 or e != len(seal) or seal[oid[1]:oid[3]] != OID_SIGNED_DATA or content[0] != 0xA0:
            raise ValueError("not a CMS SignedData")
        _, s, e = der.read(seal, content[2])
        items = der.children(seal, s, e)
        certs = [i for i in items if i[0] == 0xA0]
        if not certs or items[-1][0] != 0x31:
            raise ValueError("the SignedData carries no certificate or no signer")
        first = der.children(seal, certs[0][2], certs[0][3])[0]
        entry = self._entry(seal[first[1]:first[3]])
        signer = der.children(seal, items[-1][2], items[-1][3])[0]
        si = der.children(seal, signer[2], signer[3])
        _, _, digest_alg, attrs, sig_alg, signature = si[:6]
        if attrs[0] != 0xA0:
            raise ValueError("the signer has no signed attributes")
        values = {}
        for _, _, cs, ce in der.children(seal, attrs[2], attrs[3]):
            a_oid, a_set = der.children(seal, cs, ce)
            values[seal[a_oid[1]:a_oid[3]]] = der.children(seal, a_set[2], a_set[3])[0]
        t, md = values[OID_SIGNING_TIME], values[OID_MESSAGE_DIGEST]
        layout = _Layout(
            entry=entry, time=(t[0], t[2], t[3]), digest=(md[2], md[3]), attrs=(attrs[1], attrs[3]),
            signature=(signature[2], signature[3]),
            algorithms_ok=seal[digest_alg[1]:digest_alg[3]] == SHA256_ALG and
            seal[sig_alg[1]:sig_alg[3]] == ECDSA_SHA256_ALG,
            frame=(seal[:t[2]], seal[t[3]:md[2]], seal[md[3]:signature[2]]))
        # Only seals whose variable fields come in the order time, digest, signature (to the end) can share it.
        if t[3] <= md[2] and md[3] <= signature[2] and signature[3] == len(seal):
            if sum(map(len, self._layouts.values())) >= _MAX_LAYOUTS:
                self._layouts.clear()
            self._layouts.setdefault(len(seal), []).append(layout)
        return layout

    def _parse_ses(self, seal: bytes, data: bytes) -> _Parsed:
        sig = SESSignature.load(seal)
        tbs = sig["to_sign"]
        entry = self._entry(sig["cert"].native)
        if sig["signature_alg_id"].dotted != SM2_WITH_SM3_OID or entry.info.algorithm != "sm2":
            intact = Check("seal_intact", Status.INVALID, "unsupported_algorithm", "SES seals here are SM2 with SM3")
        elif tbs["data_hash"].native != hashlib.new("sm3", data).digest():
            intact = Check("seal_intact", Status.INVALID, "digest_mismatch",
                           "the record differs from the one that was sealed")
        elif not verify(entry.public_key, sig["signature"].native, tbs.dump()):
            intact = Check("seal_intact", Status.INVALID, "signature_invalid",
                           "the seal signature does not verify with the seal certificate's key")
        elif not self._eseal_ok(tbs["eseal"], entry.info.der):
            intact = Check("seal_intact", Status.INVALID, "eseal_invalid",
                           "the electronic seal (SESeal) inside the signature was not made by the city authority "
                           "for this certificate")
        else:
            intact = _SES_INTACT
        return _Parsed(entry, tbs["time_info"].native, intact)

    def _eseal_ok(self, eseal: SESeal, cert_der: bytes) -> bool:
        """The SESeal names the certificate and carries the authority's signature; every seal of a department
        carries the same SESeal, so the answer is remembered."""
        key = (eseal.dump(), cert_der)
        ok = self._eseals.get(key)
        if ok is None:
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
