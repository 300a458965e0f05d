"""A certificate as an SD-JWT VC (IETF SD-JWT, SD-JWT VC), the holder choosing which fields to reveal.

Every GB/T 36903 field of the record is its own disclosure, and so is each of the type's own fields
(inside the ``fields`` object); the issuer-signed JWT (ES256, the department's current P-256 seal key,
``kid`` its verification method in the department's did:web document) carries only their digests, the
``status`` reference (the department's Token Status List, the same bits as its Bitstring lists) and the
chain anchor of the certificate (leaf, Merkle proof, root, transaction: no personal data). The platform
signs a fresh token for each share and hands out only the disclosures the holder chose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from typing import Any

from ledger.app.library import Library
from ledger.core.errors import BadInput
from ledger.core.statuses import CHINA_TIME
from ledger.verify.stored import stored_bundle

from .certificate_vc import readable_certificate, status_index
from .issuers import department_did, did_document, signing_key
from .jws import b64url, sign_es256
from .sd_jwt_verify import verify_sd_jwt
from .token_status import token_list_url, token_status_list

VCT = "urn:certledger:gbt36903:ecert"
SD_TYP = "dc+sd-jwt"
DISCLOSABLE = ("identifier", "name", "number", "version", "type_code", "defining_department",
               "defining_department_code", "issuing_department", "issuing_department_code", "issue_date",
               "valid_from", "valid_until", "jurisdiction_code", "holder", "holder_id", "holder_id_type",
               "service_item")


def _disclosure(name: str, value: Any) -> tuple[str, str]:
    """(disclosure, its digest): base64url of ``[salt, name, value]`` and the base64url SHA-256 of that."""
    text = b64url(json.dumps([b64url(secrets.token_bytes(16)), name, value], ensure_ascii=False).encode())
    return text, b64url(hashlib.sha256(text.encode("ascii")).digest())


def _day_start(day: str, *, end: bool = False) -> int:
    d = dt.date.fromisoformat(day)
    t = dt.datetime.combine(d, dt.time(23, 59, 59) if end else dt.time(0), CHINA_TIME)
    return int(t.timestamp())


def disclosable_names(record: dict[str, Any]) -> list[str]:
    """What a holder may reveal of this record: its fields, and ``fields.<key>`` for each of the type's own."""
    names = [n for n in DISCLOSABLE if record.get(n) is not None]
    return names + [f"fields.{k}" for k in sorted(record.get("fields") or {})]


def _claims(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The selectively disclosable part of the payload, and every disclosure by name."""
    by_name: dict[str, str] = {}
    top, nested = [], []
    for name in DISCLOSABLE:
        if record.get(name) is not None:
            by_name[name], digest = _disclosure(name, record[name])
            top.append(digest)
    for key, value in sorted((record.get("fields") or {}).items()):
        by_name[f"fields.{key}"], digest = _disclosure(key, value)
        nested.append(digest)
    return {"_sd": sorted(top), "fields": {"_sd": sorted(nested)}, "_sd_alg": "sha-256"}, by_name


def certificate_sd_jwt(lib: Library, identifier: str, disclose: list[str], *, holder_key: bytes) -> str:
    """The holder's SD-JWT VC of an anchored certificate revealing only ``disclose`` (BadInput
    ``sd_jwt_claim_unknown`` for a name the certificate does not have)."""
    cert, batch = readable_certificate(lib, identifier, holder_key=holder_key)
    bundle = stored_bundle(lib, cert, batch)
    record = bundle["record"]
    unknown = sorted(set(disclose) - set(disclosable_names(record)))
    if unknown:
        raise BadInput("sd_jwt_claim_unknown", f"证照没有这些字段 / the certificate has no fields {unknown}; choose from "
                       f"{disclosable_names(record)}", unknown=unknown)
    org = lib.organization(cert.issuer_org_id)
    key, method = signing_key(lib, org)
    public_url = lib.settings.public_url
    sd, disclosures = _claims(record)
    payload: dict[str, Any] = {
        "iss": department_did(public_url, org.uscc), "iat": int(dt.datetime.now(dt.UTC).timestamp()),
        "nbf": _day_start(record["valid_from"]), "vct": VCT,
        "status": {"status_list": {"idx": status_index(lib, cert), "uri": token_list_url(public_url, org.uscc)}},
        "anchor": {"leaf": bundle["leaf"], "root": bundle["root"], "proof": bundle["proof"], **bundle["chain"]},
        **sd,
    }
    if record.get("valid_until"):
        payload["exp"] = _day_start(record["valid_until"], end=True)
    jwt = sign_es256({"typ": SD_TYP, "kid": method}, payload, key)
    chosen = [disclosures[n] for n in disclosures if n in set(disclose)]
    return "~".join([jwt, *chosen]) + "~"


def verify_here(lib: Library, presentation: str) -> dict[str, Any]:
    """Verify an SD-JWT VC of one of this platform's departments, resolving its DID document and status list
    locally and checking the anchor on the platform's chain (``sd_jwt_verify.verify_sd_jwt``)."""
    public_url = lib.settings.public_url

    def resolve(ref: str) -> Any:
        code = ref.rsplit(":" if ref.startswith("did:") else "/", 1)[-1]
        if ref == department_did(public_url, code):
            return did_document(lib, code)
        if ref == token_list_url(public_url, code):
            return token_status_list(lib, code)
        raise ValueError(f"{ref} is not a department of this platform")

    return verify_sd_jwt(presentation, resolve, contract=lib.require_contract())
