"""A department's statuses as an IETF Token Status List (draft-ietf-oauth-status-list), for SD-JWT VCs.

The same indices and the same recorded statuses as the department's two Bitstring status lists, two bits
per certificate: 0 valid, 1 invalid (the revocation list's bit), 2 suspended (the suspension list's bit).
Served at ``{public_url}/status-lists/<credit code>`` as ``application/statuslist+jwt``, ES256 with the
department's seal key; the anchored snapshots of the two Bitstring lists cover the same bits.
"""

from __future__ import annotations

import datetime as dt
import zlib

from ledger.app.library import Library

from .issuers import department, signing_key
from .jws import b64url, sign_es256
from .status_lists import CACHE_S, bitstring

VALID, INVALID, SUSPENDED = 0, 1, 2


def token_list_url(public_url: str, credit_code: str) -> str:
    return f"{public_url.rstrip('/')}/status-lists/{credit_code}"


def two_bit_list(revoked: bytes, suspended: bytes) -> bytes:
    """Token Status List bytes (bits 2): status i in bits 2*(i%4)..+1 of byte i//4, least significant first."""
    out = bytearray(len(revoked) * 2)
    for byte_index, (rev, sus) in enumerate(zip(revoked, suspended, strict=True)):
        if not (rev or sus):
            continue
        for bit in range(8):
            mask = 0x80 >> bit
            status = INVALID if rev & mask else SUSPENDED if sus & mask else VALID
            if status:
                i = byte_index * 8 + bit
                out[i // 4] |= status << (2 * (i % 4))
    return bytes(out)


def token_status_list(lib: Library, credit_code: str) -> str:
    """The signed status list token of a department."""
    org = department(lib, credit_code, ("department",))
    key, method = signing_key(lib, org)
    lst = two_bit_list(bitstring(lib, org.id, "revocation"), bitstring(lib, org.id, "suspension"))
    now = int(dt.datetime.now(dt.UTC).timestamp())
    payload = {"sub": token_list_url(lib.settings.public_url, credit_code), "iat": now, "exp": now + 3600,
               "ttl": int(CACHE_S), "status_list": {"bits": 2, "lst": b64url(zlib.compress(lst, 9))}}
    return sign_es256({"typ": "statuslist+jwt", "kid": method}, payload, key)
