"""Data Integrity proofs with the ``ecdsa-rdfc-2019`` cryptosuite (W3C VC Data Integrity ECDSA), P-256.

The document and the proof options are canonicalised with RDFC-1.0 (URDNA2015, pyld) in safe mode (``rdfc``:
what canonicalisation would drop is refused, never signed or verified), each hashed with
SHA-256, and the concatenation (options hash first) is signed with ECDSA P-256 / SHA-256 through the
signer's ``SigningKey`` (a key file or a token); ``proofValue`` is the raw r||s in multibase base58btc.
There is no registered Data Integrity cryptosuite for SM2, so an SM2 seal is refused here
(``vc_needs_p256_seal``); see docs/credentials.md for what such a department offers instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from multiformats import multibase

from ledger.core.errors import Conflict
from signer.keys import SigningKey

from .rdfc import canonical_nquads

CRYPTOSUITE = "ecdsa-rdfc-2019"
_P256_PUB = b"\x80\x24"  # multicodec p256-pub (0x1200) as an unsigned varint


def p256_multikey(spki_der: bytes) -> str:
    """``publicKeyMultibase`` of a P-256 public key: base58btc of the p256-pub multicodec and the compressed point."""
    key = serialization.load_der_public_key(spki_der)
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("not a P-256 public key")
    point = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    return multibase.encode(_P256_PUB + point, "base58btc")


def p256_key_of(multikey: str) -> ec.EllipticCurvePublicKey:
    """The P-256 public key of a ``publicKeyMultibase`` (ValueError for any other key or encoding)."""
    raw = multibase.decode(multikey) if multikey.startswith("z") else b""
    if not raw.startswith(_P256_PUB) or len(raw) != 35:
        raise ValueError("not a P-256 Multikey (p256-pub, compressed point, base58btc)")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw[2:])


def _hash_data(document: dict[str, Any], options: dict[str, Any]) -> bytes:
    return (hashlib.sha256(canonical_nquads(options).encode()).digest()
            + hashlib.sha256(canonical_nquads(document).encode()).digest())


def require_p256(key: SigningKey) -> None:
    """Conflict ``vc_needs_p256_seal`` for a key no standard cryptosuite covers (SM2)."""
    if key.algorithm != "p256":
        raise Conflict("vc_needs_p256_seal", "SM2 印章不能签署 W3C 可验证凭证 / an SM2 seal cannot sign a W3C VC or an "
                       "SD-JWT VC (ecdsa-rdfc-2019 and ES256 need P-256): export the proof bundle, whose SES seal "
                       "verifies with GB/T 38540 tools, or rotate the department to a P-256 seal")


def sign_document(document: dict[str, Any], key: SigningKey, verification_method: str,
                  created: dt.datetime | None = None) -> dict[str, Any]:
    """``document`` with a ``DataIntegrityProof`` (ecdsa-rdfc-2019, proof purpose assertionMethod) added; never
    over a document canonicalisation would drop part of (BadInput ``jsonld_invalid``)."""
    require_p256(key)
    when = (created or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    options = {
        "@context": document["@context"], "type": "DataIntegrityProof", "cryptosuite": CRYPTOSUITE,
        "created": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "verificationMethod": verification_method,
        "proofPurpose": "assertionMethod",
    }
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    r, s = decode_dss_signature(key.sign(_hash_data(unsigned, options)))
    proof = {k: v for k, v in options.items() if k != "@context"}
    proof["proofValue"] = multibase.encode(r.to_bytes(32, "big") + s.to_bytes(32, "big"), "base58btc")
    return {**unsigned, "proof": proof}


def proof_verifies(document: dict[str, Any], key: ec.EllipticCurvePublicKey) -> bool:
    """Whether ``document``'s ecdsa-rdfc-2019 proof is a signature by ``key`` over it (contexts resolved offline:
    an unknown one raises BadInput ``jsonld_context_unknown``; a document in which canonicalisation would drop
    something raises BadInput ``jsonld_invalid``)."""
    proof = document.get("proof")
    if not isinstance(proof, dict) or proof.get("cryptosuite") != CRYPTOSUITE or proof.get("type") != "DataIntegrityProof":
        return False
    try:
        raw = multibase.decode(proof.get("proofValue") or "")
    except (ValueError, KeyError):
        return False
    if len(raw) != 64:
        return False
    options = {"@context": document.get("@context"), **{k: v for k, v in proof.items() if k != "proofValue"}}
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        key.verify(signature, _hash_data(unsigned, options), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
