"""Holders: who they are (a signed short-lived token) and the certificates they hold.

A holder token stands in for the city's unified identity platform until that is connected. The
platform signs ``{"v": 1, "hk": holder_key, "exp": unix time}`` with HMAC-SHA256 under a key derived
from the platform secret; the token carries only the holder key (an HMAC of the ID, see
``ledger.core.metadata.holder_key``), never the ID number. An identity provider replaces
:func:`issue_token` / :func:`authenticate` and nothing else: whatever proves who the holder is
ends in the same holder key (README, "Holders and counter intake").
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Exists, Row, Select, bindparam, exists, select
from sqlalchemy.orm import aliased

from ledger.app.library import Library
from ledger.core.errors import BadInput, Unauthorized
from ledger.core.metadata import holder_key, validate_holder
from ledger.core.statuses import STATUS_NAMES, shown_status, today_china
from ledger.storage.models import Certificate, CertificateType, HolderRevocation, as_utc

TOKEN_PREFIX = "clh_"
TOKEN_VERSION = 1
DEFAULT_TTL = dt.timedelta(hours=1)
MAX_TTL = dt.timedelta(hours=24)


@dataclass(frozen=True)
class HolderToken:
    token: str
    holder_key: bytes
    expires_at: dt.datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signing_key(lib: Library) -> bytes:
    """A key for holder tokens only, derived from the platform secret (which also keys holder keys)."""
    return hmac.new(lib.platform_secret, b"certledger/holder-token/1", hashlib.sha256).digest()


def holder_key_of(lib: Library, id_type: Any, id_number: Any) -> bytes:
    """The holder key of a checked ID type and number (``field_invalid`` naming the bad one otherwise)."""
    id_type, id_number = validate_holder(id_type, id_number, "both")
    return holder_key(lib.platform_secret, id_type, id_number)


def issue_token(
    lib: Library, id_type: Any, id_number: Any, *, ttl: dt.timedelta = DEFAULT_TTL, now: dt.datetime | None = None
) -> HolderToken:
    """A token proving the holder of this ID for ``ttl`` (at most :data:`MAX_TTL`)."""
    if not dt.timedelta(seconds=1) <= ttl <= MAX_TTL:
        raise BadInput("token_ttl_invalid", f"a holder token lives from 1 second to {MAX_TTL}; got {ttl}")
    key = holder_key_of(lib, id_type, id_number)
    now = now or dt.datetime.now(dt.UTC)
    expires = int((now + ttl).timestamp())
    claims = {"v": TOKEN_VERSION, "hk": key.hex(), "exp": expires, "iat": now.timestamp()}
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = _b64(hmac.new(_signing_key(lib), payload.encode(), hashlib.sha256).digest())
    return HolderToken(f"{TOKEN_PREFIX}{payload}.{signature}", key, dt.datetime.fromtimestamp(expires, dt.UTC))


def authenticate(lib: Library, token: str, *, now: dt.datetime | None = None) -> bytes:
    """The holder key a token proves; Unauthorized ``holder_token_invalid`` / ``holder_token_expired`` otherwise."""
    invalid = Unauthorized("holder_token_invalid",
                           "the holder token is malformed or not signed by this platform: sign in again")
    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX) or token.count(".") != 1:
        raise invalid
    payload, signature = token[len(TOKEN_PREFIX):].split(".")
    expected = hmac.new(_signing_key(lib), payload.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(_unb64(signature), expected):
            raise invalid
        claims = json.loads(_unb64(payload))
        key = bytes.fromhex(claims["hk"])
        expires = int(claims["exp"])
        issued = float(claims.get("iat", 0))
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise invalid from None
    if claims.get("v") != TOKEN_VERSION or len(key) != 32:
        raise invalid
    if (now or dt.datetime.now(dt.UTC)).timestamp() >= expires:
        raise Unauthorized("holder_token_expired", "the holder token has expired: sign in again for a new one")
    with lib.sessions() as session:
        revoked = session.get(HolderRevocation, key)
    if revoked is not None and issued <= as_utc(revoked.revoked_at).timestamp():
        raise Unauthorized("holder_token_revoked", "持证人令牌已被平台撤销，请重新登录 / the platform revoked this holder "
                           "token: sign in again")
    return key


def revoke_tokens(lib: Library, id_type: Any, id_number: Any, *, now: dt.datetime | None = None) -> dt.datetime:
    """Refuse every token of this holder issued until now (a lost phone, a token leaked); returns the time."""
    key = holder_key_of(lib, id_type, id_number)
    when = now or dt.datetime.now(dt.UTC)
    with lib.sessions() as session, session.begin():
        row = session.get(HolderRevocation, key, with_for_update=True)
        if row is None:
            session.add(HolderRevocation(holder_key=key, revoked_at=when))
        else:
            row.revoked_at = max(as_utc(row.revoked_at), when)
    return when


def replaced() -> Exists:
    """True for a certificate version a renewal or amendment replaced (a newer version supersedes it)."""
    newer = aliased(Certificate)
    return exists().where(newer.supersedes_id.is_not(None), newer.supersedes_id == Certificate.id)  # partial index


def summary(cert: Certificate | Row[Any], type_name: str, today: dt.date) -> dict[str, Any]:
    """What a holder, or a counter at intake, reads of one certificate version (a row or a list row of
    ``holder_list_query``)."""
    return {
        "identifier": cert.identifier, "name": type_name, "type_code": cert.type_code, "number": cert.number,
        "version": cert.version, "issuing_department": orjson.loads(cert.record).get("issuing_department"),
        "issue_date": cert.issued_on, "valid_from": cert.valid_from, "valid_until": cert.valid_until,
        "status": shown_status(cert.status, cert.valid_until, today),
    }


@functools.cache
def holder_list_query() -> Select[Any]:
    """Every certificate version of the holder ``holder_key``, newest first, from the holder-key index: the columns a
    list shows (not the seal, keys or proof of whole rows), the type's name, and whether a newer version replaced
    it. Built once: composing the statement cost more than running it."""
    c = Certificate
    return (select(c.identifier, c.type_code, c.number, c.version, c.record, c.issued_on, c.valid_from, c.valid_until,
                   c.status, CertificateType.name, replaced())
            .join(CertificateType, CertificateType.code == c.type_code)
            .where(c.holder_key == bindparam("holder_key"))
            .order_by(c.id.desc()))


def certificates(lib: Library, key: bytes, *, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Every certificate version the holder holds, newest first, with its status (expired and revoked too).

    ``current`` is False for a version a renewal or amendment replaced.
    """
    today = today or today_china()
    out = []
    with lib.engine.connect() as conn:
        for row in conn.execute(holder_list_query(), {"holder_key": key}):
            shown = summary(row, row.name, today)
            out.append({**shown, "status_name": STATUS_NAMES.get(int(shown["status"]), "other"),
                        "current": not row[-1]})
    return out
