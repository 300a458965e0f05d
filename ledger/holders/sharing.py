"""Share links: a holder shows one certificate to anyone holding the link (an employer, a landlord), for a limited
time, until revoked, optionally only chosen fields of it.

The link carries a random token (144 bits); only its HMAC under the platform secret is stored. Opening the link
verifies the certificate, shows the verdict, the type, the issuing department, the status and the shared fields
(labelled from the type's schema) and nothing else, and writes an entry in the holder's access log in the same
transaction as the check that the link is still open, anchored like intakes (``ledger.holders.accesslog``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from ledger.app.library import Library
from ledger.core.errors import BadInput, Gone, NotFound
from ledger.core.statuses import STATUS_NAMES, shown_status, today_china
from ledger.holders import accesslog
from ledger.holders.usecodes import qr_svg
from ledger.storage.models import AccessLogEntry, Certificate, CertificateType, ShareLink, as_utc
from ledger.verify.service import verify_identifier

DEFAULT_TTL = dt.timedelta(days=7)
MIN_TTL, MAX_TTL = dt.timedelta(minutes=5), dt.timedelta(days=30)
TOKEN_PREFIX = "shr_"
BASE_FIELDS = {"holder": ("持证主体", "Holder"), "number": ("证照编号", "Number"),
               "issue_date": ("发证日期", "Issue date"), "valid_from": ("有效期起始", "Valid from"),
               "valid_until": ("有效期截止", "Valid until")}
PATH = "/shared/"


def _hash(lib: Library, token: str) -> bytes:
    return hmac.new(lib.platform_secret, b"share-link:" + token.encode(), hashlib.sha256).digest()


def _labels(cert: Certificate, ctype: CertificateType) -> dict[str, tuple[str, str]]:
    """Every field a link may show, with its Chinese and English label (the type's schema for its own fields)."""
    schema = {f["key"]: f for f in ctype.fields}
    own = {f"fields.{k}": (schema.get(k, {}).get("label", k),
                           schema.get(k, {}).get("label_en") or k.replace("_", " ").capitalize())
           for k in (cert.meta.get("fields") or {})}
    return {**BASE_FIELDS, **own}


def _own(session: Any, holder_key: bytes, identifier: str) -> tuple[Certificate, CertificateType]:
    row = session.execute(select(Certificate, CertificateType)
                          .join(CertificateType, CertificateType.code == Certificate.type_code)
                          .where(Certificate.identifier == identifier, Certificate.holder_key == holder_key)).one_or_none()
    if row is None:  # another holder's certificate is "not found" too: nothing about it leaks
        raise NotFound("certificate_not_found", f"您没有证照 {identifier} / you hold no certificate {identifier}")
    return row.Certificate, row.CertificateType


def create(lib: Library, holder_key: bytes, identifier: str, *, fields: Sequence[str] | None = None,
           ttl: dt.timedelta = DEFAULT_TTL, label: str | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """A new link to one of the holder's certificates; the token is returned once."""
    if not MIN_TTL <= ttl <= MAX_TTL:
        raise BadInput("share_ttl_invalid", f"分享链接有效期为 5 分钟至 30 天 / a share link lives from {MIN_TTL} to "
                       f"{MAX_TTL}; got {ttl}")
    now = now or dt.datetime.now(dt.UTC)
    token = TOKEN_PREFIX + secrets.token_urlsafe(18)
    with lib.sessions() as session, session.begin():
        cert, ctype = _own(session, holder_key, identifier)
        allowed = _labels(cert, ctype)
        chosen = None if fields is None else list(dict.fromkeys(fields))
        if chosen is not None and (not chosen or set(chosen) - set(allowed)):
            raise BadInput("share_fields_invalid", f"可分享的字段为 {sorted(allowed)} / the fields to share must be "
                           f"some of {sorted(allowed)}", allowed=sorted(allowed))
        link = ShareLink(token_hash=_hash(lib, token), holder_key=holder_key, certificate_id=cert.id, fields=chosen,
                         label=label, created_at=now, expires_at=now + ttl)
        session.add(link)
        session.flush()
        out = _view(link, cert, ctype, 0, now)
    url = lib.settings.public_url + PATH + token
    return {**out, "token": token, "url": url, "qr_svg": qr_svg(url)}


def _state(link: ShareLink, now: dt.datetime) -> str:
    if link.revoked_at is not None:
        return "revoked"
    return "expired" if as_utc(link.expires_at) <= now else "active"


def _view(link: ShareLink, cert: Certificate, ctype: CertificateType, openings: int, now: dt.datetime) -> dict[str, Any]:
    return {"id": link.id, "identifier": cert.identifier, "name": ctype.name, "fields": link.fields,
            "label": link.label, "created_at": as_utc(link.created_at), "expires_at": as_utc(link.expires_at),
            "revoked_at": link.revoked_at and as_utc(link.revoked_at), "state": _state(link, now),
            "openings": openings}


def links(lib: Library, holder_key: bytes, *, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The holder's links, newest first, with how often each was opened."""
    now = now or dt.datetime.now(dt.UTC)
    opened = (select(AccessLogEntry.share_link_id, func.count().label("n"))
              .where(AccessLogEntry.holder_key == holder_key, AccessLogEntry.share_link_id.is_not(None))
              .group_by(AccessLogEntry.share_link_id).subquery())
    q = (select(ShareLink, Certificate, CertificateType, opened.c.n)
         .join(Certificate, Certificate.id == ShareLink.certificate_id)
         .join(CertificateType, CertificateType.code == Certificate.type_code)
         .outerjoin(opened, opened.c.share_link_id == ShareLink.id)
         .where(ShareLink.holder_key == holder_key).order_by(ShareLink.id.desc()))
    with lib.sessions() as session:
        return [_view(link, cert, ctype, n or 0, now) for link, cert, ctype, n in session.execute(q)]


def revoke(lib: Library, holder_key: bytes, link_id: int, *, now: dt.datetime | None = None) -> None:
    """Close the link from now on (revoking twice is no error)."""
    with lib.sessions() as session, session.begin():
        link = session.scalar(select(ShareLink).where(ShareLink.id == link_id, ShareLink.holder_key == holder_key)
                              .with_for_update())
        if link is None:
            raise NotFound("share_link_not_found", f"您没有分享链接 {link_id} / you have no share link {link_id}")
        if link.revoked_at is None:
            link.revoked_at = now or dt.datetime.now(dt.UTC)


def _refusal(link: ShareLink | None, now: dt.datetime) -> Exception | None:
    if link is None:
        return NotFound("share_link_unknown", "没有这个分享链接，请向持证人核对 / no such share link: ask the holder for it again")
    if link.revoked_at is not None:
        return Gone("share_link_revoked", "持证人已撤销此分享链接 / the holder revoked this share link")
    if as_utc(link.expires_at) <= now:
        return Gone("share_link_expired", f"此分享链接已于 {as_utc(link.expires_at):%Y-%m-%d %H:%M} UTC 过期 / this share "
                    f"link expired at {as_utc(link.expires_at).isoformat()}", expired_at=as_utc(link.expires_at).isoformat())
    return None


def open_link(lib: Library, token: str, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """What the link shows (only its fields), after logging the opening in the holder's access log."""
    now = now or dt.datetime.now(dt.UTC)
    key = _hash(lib, token) if isinstance(token, str) and token.startswith(TOKEN_PREFIX) and len(token) < 64 else b""
    with lib.sessions() as session:
        link = session.scalar(select(ShareLink).where(ShareLink.token_hash == key)) if key else None
        refusal = _refusal(link, now)
        if refusal is not None:
            raise refusal
        cert, ctype = session.execute(select(Certificate, CertificateType)
                                      .join(CertificateType, CertificateType.code == Certificate.type_code)
                                      .where(Certificate.id == link.certificate_id)).one()
    result = verify_identifier(lib, cert.identifier).to_dict()
    labels = _labels(cert, ctype)
    chosen = link.fields if link.fields is not None else list(labels)
    values = {**{k: cert.meta.get(k) for k in BASE_FIELDS}, **{f"fields.{k}": v for k, v in (cert.meta.get("fields") or {}).items()}}
    with lib.sessions() as session, session.begin():
        fresh = session.get(ShareLink, link.id, with_for_update=True, populate_existing=True)
        refusal = _refusal(fresh, now)
        if refusal is not None:
            raise refusal
        entry = accesslog.record_opening(session, writer=accesslog.audit_writer(session), link_id=link.id,
                                         holder_key=link.holder_key, identifier=cert.identifier, fields=chosen, now=now)
    status = shown_status(cert.status, cert.valid_until, today_china(now))
    return {
        "identifier": cert.identifier, "name": ctype.name, "name_en": ctype.name_en,
        "issuing_department": cert.meta.get("issuing_department"), "status": status,
        "status_name": STATUS_NAMES.get(int(status), "other"), "verdict": result["verdict"],
        "checks": [{"name": c["name"], "status": c["status"], "reason": c["reason"]} for c in result["checks"]],
        "fields": [{"key": k, "label": labels[k][0], "label_en": labels[k][1], "value": values.get(k)} for k in chosen],
        "expires_at": as_utc(link.expires_at), "access_log_entry": entry.id,
    }
