"""Verifying an SD-JWT VC presentation: the issuer's signature and the disclosures (with the IETF reference
implementation, PyPI ``sd-jwt``), validity times, the status in the issuer's Token Status List, and, when
the caller passes a contract, the chain anchor (the leaf in a root anchored by an account registered
on chain for the issuer's credit code).

``resolve(ref)`` gives a DID document (dict) for a DID and the status list token (str) for a URL: the
platform passes its own documents, another verifier would fetch them (did:web, HTTPS).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS
from multiformats import multibase
from sd_jwt.verifier import SDJWTVerifier

from ledger.chain.contract import LedgerContract, uscc_hash
from ledger.core.merkle import process_proof

Resolve = Callable[[str], Any]


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issuer_key(did_document: dict[str, Any], kid: str) -> JWK:
    """The JWK of an assertion method of a DID document (P-256 Multikey); ValueError if it is not one."""
    if kid not in did_document.get("assertionMethod", []):
        raise ValueError(f"{kid} is not an assertion method of {did_document.get('id')}")
    method = next((m for m in did_document.get("verificationMethod", []) if m.get("id") == kid), None)
    if method is None or method.get("type") != "Multikey":
        raise ValueError(f"{kid} is not a Multikey of {did_document.get('id')}")
    raw = multibase.decode(method["publicKeyMultibase"])
    if raw[:2] != b"\x80\x24":
        raise ValueError(f"{kid} is not a P-256 key")
    return JWK.from_pyca(ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw[2:]))


def _digests(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        yield from node.get("_sd", [])
        for value in node.values():
            yield from _digests(value)
    elif isinstance(node, list):
        for value in node:
            yield from _digests(value)


def _status(token: str, key: JWK, uri: str, index: int) -> int:
    jws = JWS()
    jws.deserialize(token)
    jws.verify(key)
    body = json.loads(jws.payload)
    if body.get("sub") != uri:
        raise ValueError(f"the status list token is for {body.get('sub')}, not {uri}")
    bits = body["status_list"]["bits"]
    lst = zlib.decompress(_b64decode(body["status_list"]["lst"]))
    per_byte = 8 // bits
    return (lst[index // per_byte] >> (bits * (index % per_byte))) & ((1 << bits) - 1)


def _anchored(payload: dict[str, Any], contract: LedgerContract) -> bool:
    anchor = payload["anchor"]
    root = process_proof(anchor["leaf"], anchor["proof"])
    if "0x" + root.hex() != anchor["root"] or int(anchor["chain_id"]) != contract.client.chain_id:
        return False
    credit_code = payload["iss"].rsplit(":", 1)[1]
    return any(contract.anchor_of(a, root) is not None for a in contract.accounts_of(uscc_hash(credit_code)))


def verify_sd_jwt(presentation: str, resolve: Resolve, *, contract: LedgerContract | None = None,
                  now: dt.datetime | None = None) -> dict[str, Any]:
    """``{"valid", "claims" (what was disclosed), "checks", "errors"}``; never raises on a bad token."""
    checks: dict[str, bool | None] = {"signature": False, "disclosures": False, "validity": False, "status": False,
                                      "anchor": None}
    errors: list[str] = []
    claims: dict[str, Any] = {}
    try:
        jwt, *disclosures = presentation.split("~")
        header = json.loads(_b64decode(jwt.split(".")[0]))
        payload = json.loads(_b64decode(jwt.split(".")[1]))
        did = payload["iss"]
        if not str(header.get("kid", "")).startswith(did + "#"):
            raise ValueError("the key id is not the issuer's")
        key = issuer_key(resolve(did), header["kid"])
        claims = SDJWTVerifier(presentation, lambda _iss, _hdr: key).get_verified_payload()
        checks["signature"] = True
        presented = {base64.urlsafe_b64encode(hashlib.sha256(d.encode()).digest()).rstrip(b"=").decode()
                     for d in disclosures if d}
        checks["disclosures"] = presented <= set(_digests(payload))
        if not checks["disclosures"]:
            errors.append("a disclosure is not in the signed token")
        t = int((now or dt.datetime.now(dt.UTC)).timestamp())
        checks["validity"] = payload.get("nbf", t) <= t <= payload.get("exp", t)
        if not checks["validity"]:
            errors.append("outside the validity period")
        ref = payload["status"]["status_list"]
        status = _status(resolve(ref["uri"]), key, ref["uri"], int(ref["idx"]))
        checks["status"] = status == 0
        if status:
            errors.append(f"status {status} (1 invalid, 2 suspended)")
        if contract is not None:
            checks["anchor"] = _anchored(payload, contract)
            if not checks["anchor"]:
                errors.append("the anchor is not on chain for the issuer")
    except Exception as e:  # noqa: BLE001 - any malformed or forged part makes the presentation invalid
        errors.append(f"{type(e).__name__}: {e}")
    valid = all(v is not False for v in checks.values()) and not errors
    return {"valid": valid, "claims": claims, "checks": checks, "errors": errors}
