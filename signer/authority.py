"""The city seal authority: a root CA that issues, rotates and revokes department seal certificates."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from asn1crypto import x509

from ledger.core.uscc import validate_uscc

from .certificates import (
    SealCertInfo,
    build_certificate,
    describe_certificate,
    new_serial,
    now_utc,
    seal_key_id,
    seal_subject,
    utc,
)
from .keys import Algorithm
from .keystore import KeyStore
from .registry import SealRegistry
from .seal_image import seal_png
from .ses import ECDSA_SHA256_OID, SESeal, seal_info

log = logging.getLogger(__name__)

ROOT_KEY_ID = "city-root"


class SealAuthority:
    """Holds the root key (through the key store) and the public registry it keeps up to date."""

    def __init__(self, keystore: KeyStore, registry: SealRegistry) -> None:
        self.keystore = keystore
        self.registry = registry
        self._root_key = keystore.get(ROOT_KEY_ID)
        self._root = describe_certificate(registry.root_der)
        self._root_name = x509.Certificate.load(registry.root_der).subject

    @classmethod
    def create(cls, keystore: KeyStore, *, name: str = "城市电子印章管理中心", years: int = 20,
               now: datetime | None = None) -> SealAuthority:
        """A new city root (P-256), its key generated in the key store, and an empty registry."""
        now = utc(now or now_utc())
        key = keystore.generate(ROOT_KEY_ID, "p256")
        subject = x509.Name.build({"country_name": "CN", "organization_name": name,
                                   "common_name": f"{name}根证书"}, use_printable=False)
        root_der = build_certificate(serial=new_serial(), subject=subject, spki_der=key.spki_der, issuer=subject,
                                     issuer_key=key, issuer_spki_der=key.spki_der, not_before=now,
                                     not_after=now + timedelta(days=365 * years), ca=True)
        log.info("city seal root created", extra={"root": name})
        return cls(keystore, SealRegistry(root_der=root_der))

    def issue_seal(self, department_name: str, credit_code: str, *, algorithm: Algorithm = "p256",
                   valid_from: datetime | None = None, valid_until: datetime | None = None) -> SealCertInfo:
        """A seal certificate and key for a department (3 years unless told); the key is generated in the key
        store, as the department's (``owner``: its credit code).

        The GB 32100 credit code (check characters included) is validated: it is what verifiers compare
        with a record's ``issuing_department_code``, so a mistyped code would make every seal of the department fail.
        """
        credit_code = validate_uscc(credit_code)
        if not department_name:
            raise ValueError("department_name is required")
        valid_from = utc(valid_from or now_utc())
        valid_until = utc(valid_until or valid_from + timedelta(days=3 * 365))
        serial = new_serial()
        key = self.keystore.generate(seal_key_id(serial), algorithm, owner=credit_code)
        der = build_certificate(serial=serial, subject=seal_subject(department_name, credit_code),
                                spki_der=key.spki_der, issuer=self._root_name, issuer_key=self._root_key,
                                issuer_spki_der=self._root.spki_der, not_before=valid_from, not_after=valid_until,
                                ca=False)
        info = describe_certificate(der)
        eseal = self._make_eseal(info) if algorithm == "sm2" else None
        self.registry.add(der, eseal)
        log.info("seal certificate issued", extra={"department": credit_code, "serial": f"{info.serial:x}",
                                                   "algorithm": algorithm})
        return info

    def rotate_seal(self, credit_code: str, *, algorithm: Algorithm | None = None,
                    valid_until: datetime | None = None) -> SealCertInfo:
        """A new seal for the department; the former certificates stay so older seals still verify."""
        current = self.registry.for_department(credit_code)
        if not current:
            raise ValueError(f"department {credit_code} has no seal to rotate")
        return self.issue_seal(current[0].department_name, credit_code, algorithm=algorithm or current[0].algorithm,
                               valid_until=valid_until)

    def revoke_seal(self, serial: int, compromise_time: datetime) -> None:
        self.registry.revoke(serial, compromise_time)
        log.warning("seal certificate revoked", extra={"serial": f"{serial:x}",
                                                       "compromise_time": compromise_time.isoformat()})

    def _make_eseal(self, info: SealCertInfo) -> bytes:
        """The GB/T 38540 SESeal, signed by the authority as seal maker (ECDSA P-256, see signer/README)."""
        body = seal_info(es_id=f"{info.credit_code}-{info.serial:x}", name=f"{info.department_name}电子证照专用章",
                         cert_der=info.der, picture_png=seal_png(info.department_name), created=now_utc(),
                         valid_start=info.not_before, valid_end=info.not_after)
        return SESeal({"eseal_info": body, "cert": self.registry.root_der, "sign_alg_id": ECDSA_SHA256_OID,
                       "signed_value": self._root_key.sign(body.dump())}).dump()
