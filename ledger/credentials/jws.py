"""Compact JWS with ES256 through the signer's ``SigningKey`` (a key file or a token): the SD-JWT VC and the
token status list are signed with the department's P-256 seal key, like the Data Integrity proofs."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from signer.keys import SigningKey

from .data_integrity import require_p256


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json_part(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def sign_es256(header: dict[str, Any], payload: dict[str, Any], key: SigningKey) -> str:
    """``header.payload.signature`` with ``alg`` ES256 (raw r||s, as JWS wants, from the key's DER signature)."""
    require_p256(key)
    signing_input = f"{_json_part({**header, 'alg': 'ES256'})}.{_json_part(payload)}"
    r, s = decode_dss_signature(key.sign(signing_input.encode("ascii")))
    return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
