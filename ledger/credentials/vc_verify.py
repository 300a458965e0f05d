"""Verify a W3C VC 2.0 (JSON-LD, ``ecdsa-rdfc-2019``) of this platform or of another city on its trust list.

The fragment model of ``ledger.verify.fragments``: named checks, each VALID / INVALID / SKIPPED / ERROR with a
reason code, and the verdict derived from them (``ledger.core.checks.verdict``):

- ``contexts``: every ``@context`` is a packaged one (nothing is fetched; an unknown one is INVALID);
- ``issuer_trusted``: the issuer is one of this platform's departments or a foreign issuer on the trust list;
- ``verification_method``: the proof's method is in the issuer's DID document's ``assertionMethod`` (ours from
  the seal registry; a foreign one from the document pinned in the trust entry: never resolved now);
- ``proof``: the Data Integrity proof is a signature by that key over the credential, canonicalised in JSON-LD
  safe mode (``rdfc``): a property no context defines is ``jsonld_invalid``, never dropped and unsigned;
- ``validity_period``: now lies within ``validFrom`` .. ``validUntil``;
- ``status``: each ``BitstringStatusListEntry``'s bit is clear in its list, the list itself signed by the same
  issuer and current. Our lists are made here; a foreign list is fetched only from under the trust entry's
  ``status_url_prefix``; without one the check is SKIPPED (``status_not_checked``) and says why.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import gzip
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from pyld.jsonld import JsonLdError

from ledger.core.checks import Check, Status, verdict
from ledger.core.errors import BadInput, CertledgerError
from ledger.verify.fragments import VerificationResult
from ledger.verify.platform_trust import trusted_issuers

from .contexts import VC_V2, document_loader
from .data_integrity import p256_key_of, proof_verifies
from .foreign_issuers import method_key_ids
from .issuers import department_did, did_document
from .status_lists import PURPOSES, list_url, status_list_credential

if TYPE_CHECKING:
    from ledger.app.library import Library

REQUIRED = ("contexts", "issuer_trusted", "verification_method", "proof", "validity_period")
MAX_STATUS_LIST_BYTES = 2_000_000
CLOCK_TOLERANCE = dt.timedelta(minutes=1)  # a document becomes valid this much early: issuers' clocks run ahead


@dataclass(frozen=True)
class _Issuer:
    did: str
    name: str
    document: dict[str, Any]
    own_code: str | None  # this platform's department
    status_url_prefix: str | None


def _shape(credential: Any) -> str:
    """The issuer DID of a credential that has the shape of a VC 2.0 with a proof (BadInput ``vc_malformed``)."""
    ok = (isinstance(credential, dict) and isinstance(credential.get("@context"), list)
          and "VerifiableCredential" in (credential.get("type") or []) and isinstance(credential.get("proof"), dict))
    issuer = credential.get("issuer") if ok else None
    did = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not ok or not isinstance(did, str):
        raise BadInput("vc_malformed", "不是带证明的 W3C 可验证凭证 2.0 / not a W3C VC 2.0 with a proof: it needs "
                       "@context (a list), type VerifiableCredential, issuer and proof")
    return did


def _contexts(credential: dict[str, Any]) -> Check:
    contexts = credential["@context"]
    if not contexts or contexts[0] != VC_V2:
        return Check("contexts", Status.INVALID, "context_not_vc2", f"the first @context must be {VC_V2}")
    for url in contexts:
        if not isinstance(url, str):
            continue
        try:
            document_loader(url)
        except BadInput:
            return Check("contexts", Status.INVALID, "context_unknown", "未知的 JSON-LD 上下文 / a context that is "
                         "not packaged here (contexts are never fetched)", {"url": url})
    return Check("contexts", Status.VALID, "contexts_packaged")


def _issuer(lib: Library, did: str) -> _Issuer | None:
    own_prefix = department_did(lib.settings.public_url, "")
    if did.startswith(own_prefix):
        code = did.removeprefix(own_prefix)
        try:
            return _Issuer(did, code, did_document(lib, code), code, None)
        except CertledgerError:
            return None
    with lib.sessions() as session:
        entry = next((i for i in trusted_issuers(session) if i.did == did), None)
    if entry is None:
        return None
    return _Issuer(did, entry.name, dict(entry.did_document), None, entry.status_url_prefix)


def _method(issuer: _Issuer, proof: dict[str, Any]) -> tuple[Check, Any]:
    vm = proof.get("verificationMethod")
    try:
        usable = method_key_ids(issuer.did, issuer.document)
    except BadInput as e:
        return Check("verification_method", Status.INVALID, "did_document_invalid", e.message), None
    if vm not in usable:
        return Check("verification_method", Status.INVALID, "method_not_authorized", "证明的密钥不在发证机构的 "
                     "assertionMethod 中 / the proof's key is not an assertion method of the issuer",
                     {"verification_method": vm}), None
    method = next(m for m in issuer.document.get("verificationMethod", []) + issuer.document["assertionMethod"]
                  if isinstance(m, dict) and m.get("id") == vm)
    return (Check("verification_method", Status.VALID, "assertion_method", data={"verification_method": vm}),
            p256_key_of(method["publicKeyMultibase"]))


def _proof(credential: dict[str, Any], key: Any) -> Check:
    try:
        ok = proof_verifies(credential, key)
    except (JsonLdError, CertledgerError) as e:
        return Check("proof", Status.INVALID, "jsonld_invalid", f"不能规范化 / cannot be canonicalised: {e}")
    if not ok:
        return Check("proof", Status.INVALID, "signature_invalid", "签名无效：凭证已被改动 / the signature does not "
                     "match: the credential was changed or not signed by this key")
    return Check("proof", Status.VALID, "signature_valid")


def _when(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _validity(document: dict[str, Any], name: str = "validity_period") -> Check:
    try:
        start, end = _when(document.get("validFrom")), _when(document.get("validUntil"))
    except ValueError:
        return Check(name, Status.INVALID, "dates_malformed", "validFrom/validUntil are not XML Schema dateTimes")
    now = dt.datetime.now(dt.UTC)
    if start is not None and now + CLOCK_TOLERANCE < start:
        return Check(name, Status.INVALID, "not_yet_valid", "尚未生效 / not valid yet", {"validFrom": str(start)})
    if end is not None and now > end:
        return Check(name, Status.INVALID, "expired", "已过期 / expired", {"validUntil": str(end)})
    return Check(name, Status.VALID, "within_period")


def verify_credential(lib: Library, credential: Any) -> VerificationResult:
    """Every check of a VC 2.0 and the verdict (see the module docstring); ours and other cities' alike."""
    did = _shape(credential)
    checks = [_contexts(credential)]
    issuer = _issuer(lib, did)
    if issuer is None:
        checks.append(Check("issuer_trusted", Status.INVALID, "issuer_not_trusted", "发证机构不在信任列表中 / the "
                            "issuer is not on the platform's trust list", {"issuer": did}))
        checks.append(Check("verification_method", Status.SKIPPED, "issuer_not_trusted"))
        key = None
    else:
        checks.append(Check("issuer_trusted", Status.VALID, "own_issuer" if issuer.own_code else "foreign_issuer_trusted",
                            data={"issuer": did, "name": issuer.name}))
        method_check, key = _method(issuer, credential["proof"])
        checks.append(method_check)
    if key is None:
        checks.append(Check("proof", Status.SKIPPED, "no_trusted_key", "没有可信的密钥 / no trusted key to check with"))
    elif checks[0].status is not Status.VALID:
        checks.append(Check("proof", Status.SKIPPED, "context_unknown", "上下文未知，无法规范化 / unknown context"))
    else:
        checks.append(_proof(credential, key))
    checks.append(_validity(credential))
    checks.append(_status(lib, issuer, credential, key) if key is not None and checks[-2].status is Status.VALID
                  else Check("status", Status.SKIPPED, "not_authentic", "凭证未通过验证 / the credential is not authentic"))
    summary = {"id": credential.get("id"), "type": credential.get("type"), "name": credential.get("name"),
               "issuer": did, "issuer_name": issuer.name if issuer else None,
               "validFrom": credential.get("validFrom"), "validUntil": credential.get("validUntil")}
    return VerificationResult(verdict(checks, REQUIRED), checks, summary)


def _status(lib: Library, issuer: _Issuer | None, credential: dict[str, Any], key: Any) -> Check:
    entries = credential.get("credentialStatus") or []
    entries = [entries] if isinstance(entries, dict) else entries
    entries = [e for e in entries if isinstance(e, dict) and e.get("type") == "BitstringStatusListEntry"]
    if issuer is None or not entries:
        return Check("status", Status.SKIPPED, "no_status", "凭证没有状态列表 / the credential has no status list entry")
    if issuer.own_code is None and issuer.status_url_prefix is None:
        return Check("status", Status.SKIPPED, "status_not_checked", "信任列表未允许获取该机构的状态列表，未检查撤销 / the "
                     "trust entry allows no status list URL for this issuer, so revocation was not checked")
    checked = []
    for entry in entries:
        problem = _entry_status(lib, issuer, entry, key)
        if problem is not None:
            return problem
        checked.append(entry.get("statusPurpose"))
    return Check("status", Status.VALID, "not_revoked", data={"purposes": checked})


def _entry_status(lib: Library, issuer: _Issuer, entry: dict[str, Any], key: Any) -> Check | None:
    url, purpose = str(entry.get("statusListCredential", "")), entry.get("statusPurpose")
    try:
        index = int(entry.get("statusListIndex", ""))
    except ValueError:
        return Check("status", Status.INVALID, "status_entry_invalid", "状态条目无效 / malformed status entry",
                     {"url": url})
    try:
        status_list = _status_list(lib, issuer, url, str(purpose))
    except PermissionError:
        return Check("status", Status.SKIPPED, "status_url_not_allowed", "状态列表地址不在信任列表允许的前缀下 / the "
                     "status list URL is outside the prefix the trust entry allows", {"url": url})
    except (httpx.HTTPError, CertledgerError) as e:
        return Check("status", Status.ERROR, "status_list_unreachable", f"无法获取状态列表 / could not get the status "
                     f"list: {e}", {"url": url})
    subject = status_list.get("credentialSubject") or {}
    if (status_list.get("issuer") != issuer.did or subject.get("statusPurpose") != purpose
            or _validity(status_list).status is not Status.VALID or _proof(status_list, key).status is not Status.VALID):
        return Check("status", Status.INVALID, "status_list_invalid", "状态列表未通过验证 / the status list is not the "
                     "issuer's, not current, or not for this purpose", {"url": url})
    try:
        bits = gzip.decompress(base64.urlsafe_b64decode(subject["encodedList"][1:] + "=="))
    except (KeyError, TypeError, ValueError, binascii.Error, OSError):
        return Check("status", Status.INVALID, "status_list_invalid", "状态列表无法解码 / undecodable list", {"url": url})
    if index < 0 or index >= len(bits) * 8:
        return Check("status", Status.INVALID, "status_entry_invalid", "索引超出列表 / index out of the list")
    if bits[index // 8] & (0x80 >> (index % 8)):
        reason = "revoked" if purpose == "revocation" else str(purpose)
        return Check("status", Status.INVALID, reason, "已撤销 / revoked" if reason == "revoked"
                     else f"状态：{purpose} / status set: {purpose}", {"purpose": purpose, "index": index})
    return None


def _status_list(lib: Library, issuer: _Issuer, url: str, purpose: str) -> dict[str, Any]:
    if issuer.own_code is not None:
        if purpose not in PURPOSES or url != list_url(lib.settings.public_url, issuer.own_code, purpose):
            raise PermissionError(url)
        return status_list_credential(lib, issuer.own_code, purpose)
    if not issuer.status_url_prefix or not url.startswith(issuer.status_url_prefix):
        raise PermissionError(url)
    r = httpx.get(url, timeout=5.0, follow_redirects=False)
    r.raise_for_status()
    try:
        if len(r.content) > MAX_STATUS_LIST_BYTES:
            raise ValueError("too large")
        return dict(r.json())
    except ValueError as e:
        raise BadInput("status_list_invalid", f"状态列表不是 JSON / the status list is not JSON ({e})") from None
