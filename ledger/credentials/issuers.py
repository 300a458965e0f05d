"""Departments as credential issuers: their ``did:web`` identifiers, DID documents and signing keys.

A department's DID is ``did:web:<platform host>[:<path>]:dids:<credit code>``; the platform serves its
document at ``{public_url}/dids/<credit code>/did.json`` (the did:web rule), listing every P-256 seal the
department ever held as a ``Multikey``, so credentials signed with a former seal still resolve. A seal
reported compromised stays listed (its key is still the one in old proofs) but leaves ``assertionMethod``,
so Data Integrity verifiers refuse every proof made with it.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import select

from ledger.app.library import Library
from ledger.core.errors import NotFound
from ledger.storage.models import Organization
from signer.certificates import SealCertInfo, describe_certificate
from signer.keys import SigningKey

from .contexts import DID_V1, MULTIKEY_V1
from .data_integrity import p256_multikey

_keys: dict[bytes, SigningKey] = {}  # seal certificate DER -> unlocked key (opening a key file runs a KDF)
_keys_lock = threading.Lock()


def department_did(public_url: str, credit_code: str) -> str:
    """The department's did:web (a port is percent-encoded, a path prefix becomes colon-separated parts)."""
    parts = urlsplit(public_url.rstrip("/"))
    path = [quote(p, safe="") for p in parts.path.split("/") if p]
    return ":".join(["did:web", quote(parts.netloc, safe=""), *path, "dids", credit_code])


def method_id(did: str, info: SealCertInfo) -> str:
    """The verification method of one seal certificate in the department's DID document."""
    return f"{did}#seal-{info.serial:x}"


def department(lib: Library, credit_code: str, kinds: tuple[str, ...] = ("department", "association")) -> Organization:
    """An issuer of one of ``kinds`` by credit code (status lists are departments' only); NotFound
    ``issuer_not_found``."""
    with lib.sessions() as session:
        org = session.scalar(select(Organization).where(Organization.uscc == credit_code,
                                                        Organization.kind.in_(kinds)))
    if org is None:
        raise NotFound("issuer_not_found", f"没有该发证机构 / no issuing department has the credit code {credit_code!r}",
                       credit_code=credit_code)
    return org


def did_document(lib: Library, credit_code: str) -> dict[str, Any]:
    """The DID document of a department: its P-256 seal keys as Multikeys."""
    department(lib, credit_code)
    registry = lib.seal_registry()
    did = department_did(lib.settings.public_url, credit_code)
    methods, assertion = [], []
    for info in registry.for_department(credit_code):
        if info.algorithm != "p256":
            continue
        vm = method_id(did, info)
        methods.append({"id": vm, "type": "Multikey", "controller": did,
                        "publicKeyMultibase": p256_multikey(info.spki_der)})
        if info.serial not in registry.revocations:
            assertion.append(vm)
    return {"@context": [DID_V1, MULTIKEY_V1], "id": did, "verificationMethod": methods,
            "assertionMethod": assertion}


def signing_key(lib: Library, org: Organization) -> tuple[SigningKey, str]:
    """The department's current seal key (through the seal key store: a file or a token) and its method id."""
    seal = lib.seal_key(org.id)
    info = describe_certificate(seal.cert_der)
    with _keys_lock:
        key = _keys.get(seal.cert_der)
        if key is None:
            key = _keys[seal.cert_der] = seal.keystore.get(info.key_id, owner=info.credit_code)
    return key, method_id(department_did(lib.settings.public_url, org.uscc), info)
