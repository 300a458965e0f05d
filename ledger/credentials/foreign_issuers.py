"""Other cities' credential issuers on the platform's trust list (issue 14, "imports the other way").

The administrator adds an issuer by its DID with its DID document *pinned*: a counter checks that city's
credentials offline, never resolving the DID (a foreign did:web cannot be reached from the city network, and a
document fetched at verify time could be swapped). When no document is given, the did:web is resolved once, now,
and what it answered is pinned. The entry may name the URL prefix the issuer's status lists are fetched from;
without one their status is not checked (SKIPPED, said so). The exported trust list carries the entries, sealed by
the city root like the rest (``certledger trust export``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import httpx

from ledger.core.errors import BadInput, NotFound, ServiceUnavailable
from ledger.storage import trust as trust_store
from ledger.verify.platform_trust import trusted_issuers
from ledger.verify.trust import ForeignIssuer

from .data_integrity import p256_key_of
from .issuers import department_did

if TYPE_CHECKING:
    from ledger.app.library import Library

MAX_DID_DOCUMENT_BYTES = 50_000


def did_web_url(did: str) -> str:
    """Where a did:web document lives (did:web rule: host[%3Aport][:path...], ``/.well-known`` without a path)."""
    parts = did.split(":")
    if len(parts) < 3 or parts[:2] != ["did", "web"] or not parts[2]:
        raise BadInput("did_not_web", f"不是 did:web 标识 / {did!r} is not a did:web identifier", did=did)
    path = "/".join(unquote(p) for p in parts[3:]) or ".well-known"
    return f"https://{unquote(parts[2])}/{path}/did.json"


def method_key_ids(did: str, document: dict[str, Any]) -> list[str]:
    """The verification methods of ``document`` that may assert credentials: listed in ``assertionMethod``,
    controlled by ``did``, P-256 Multikeys. Why a document is unusable is raised as BadInput."""
    if document.get("id") != did:
        raise BadInput("did_document_invalid", f"DID 文档的 id 不是 {did} / the DID document's id is "
                       f"{document.get('id')!r}, not {did!r}", did=did)
    methods = {m.get("id"): m for m in document.get("verificationMethod") or [] if isinstance(m, dict)}
    usable = []
    for ref in document.get("assertionMethod") or []:
        method = ref if isinstance(ref, dict) else methods.get(ref)
        if not isinstance(method, dict) or not str(method.get("id", "")).startswith(did + "#"):
            continue
        try:
            p256_key_of(str(method.get("publicKeyMultibase", "")))
        except ValueError:
            continue
        usable.append(method["id"])
    if not usable:
        raise BadInput("did_document_invalid", "DID 文档没有可用于签发凭证的 P-256 密钥 / the DID document has no P-256 "
                       "Multikey in assertionMethod (ecdsa-rdfc-2019 needs one)", did=did)
    return usable


def _resolve_now(did: str) -> dict[str, Any]:
    url = did_web_url(did)
    try:
        r = httpx.get(url, timeout=10.0, follow_redirects=False)
        r.raise_for_status()
        if len(r.content) > MAX_DID_DOCUMENT_BYTES:
            raise ValueError("too large")
        return dict(r.json())
    except (httpx.HTTPError, ValueError) as e:
        raise ServiceUnavailable("did_document_unreachable", f"无法获取 DID 文档 / could not fetch {url} ({e}): get "
                                 "the document from the other city and pass it (--did-document FILE)", did=did) from None


def _check_prefix(prefix: str | None) -> str | None:
    if prefix is None:
        return None
    parts = urlsplit(prefix)
    if parts.scheme not in ("https", "http") or not parts.netloc or not prefix.endswith("/"):
        raise BadInput("status_url_prefix_invalid", "状态列表地址前缀无效 / status_url_prefix must be an http(s) URL "
                       f"ending with '/', e.g. https://city.example/status-lists/ (got {prefix!r})")
    return prefix


def add_issuer(lib: Library, did: str, name: str, did_document: dict[str, Any] | None = None,
               status_url_prefix: str | None = None) -> ForeignIssuer:
    """Put another city's issuer on the trust list (or replace its entry), its DID document pinned."""
    if did.startswith(department_did(lib.settings.public_url, "")):
        raise BadInput("issuer_is_ours", f"{did} 是本平台的发证机构 / {did} is one of this platform's own issuers: "
                       "they are trusted already")
    document = did_document if did_document is not None else _resolve_now(did)
    method_key_ids(did, document)
    if not name.strip():
        raise BadInput("issuer_name_missing", "请提供发证机构名称 / give the issuer's name (--name)")
    issuer = ForeignIssuer(did, name.strip(), document, _check_prefix(status_url_prefix))
    with lib.sessions() as session, session.begin():
        trust_store.save_issuer(session, did=did, name=issuer.name, status_url_prefix=issuer.status_url_prefix,
                                did_document=json.dumps(document, ensure_ascii=False, sort_keys=True))
    return issuer


def remove_issuer(lib: Library, did: str) -> ForeignIssuer:
    """Take another city's issuer off the trust list (its credentials are refused from now on); the removed entry."""
    with lib.sessions() as session, session.begin():
        removed = next((i for i in trusted_issuers(session) if i.did == did), None)
        if removed is None:
            raise NotFound("issuer_not_trusted", f"信任列表中没有该发证机构 / {did} is not on the trust list", did=did)
        trust_store.delete_issuer(session, did)
    return removed


def list_issuers(lib: Library) -> list[ForeignIssuer]:
    """The foreign issuers on the trust list."""
    with lib.sessions() as session:
        return trusted_issuers(session)
