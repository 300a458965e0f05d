"""Use codes (用证码): a holder's consent, shown as text or a QR code, to one use of their certificates.

A code is 12 characters from a 32-letter alphabet without look-alikes (60 random bits), lives five
minutes, is bound to the holder who made it and is spent by the first intake that presents it.
Only an HMAC of the code (under the platform secret) is stored, so a copy of the table cannot be
presented at a counter. Spending is one conditional UPDATE inside the intake's transaction, so of
two intakes racing with one code exactly one wins, and a refused intake spends nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.svg import SvgPathImage
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ledger.app.library import Library
from ledger.core.errors import BadInput, CertledgerError, Conflict, NotFound
from ledger.storage.models import UseCode, as_utc

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
LENGTH = 12
TTL = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class IssuedCode:
    code: str  # shown once; grouped 4-4-4 for reading aloud, any grouping is accepted back
    expires_at: dt.datetime
    qr_png: bytes



def normalise(code: object) -> str:
    """The code as stored: upper case, without spaces or hyphens (``use_code_malformed`` if it cannot be one)."""
    text = code.replace("-", "").replace(" ", "").upper() if isinstance(code, str) else ""
    if len(text) != LENGTH or any(c not in ALPHABET for c in text):
        raise BadInput("use_code_malformed",
                       f"a use code is {LENGTH} letters and digits (no 0, 1, I or O), e.g. ABCD-EFGH-JK23; "
                       "ask the holder to show it again", field="use_code")
    return text


def code_hash(lib: Library, code: str) -> bytes:
    return hmac.new(lib.platform_secret, b"use-code:" + code.encode(), hashlib.sha256).digest()


def qr_png(text: str) -> bytes:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    buf = io.BytesIO()
    qr.make_image().save(buf, format="PNG")
    return buf.getvalue()


def qr_svg(text: str) -> str:
    """The same QR code as an SVG document: drawn by the page at any size, sharp on a phone's screen."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4, image_factory=SvgPathImage)
    qr.add_data(text)
    qr.make(fit=True)
    return qr.make_image().to_string(encoding="unicode")


def issue(lib: Library, holder_key: bytes, *, ttl: dt.timedelta = TTL, now: dt.datetime | None = None) -> IssuedCode:
    """A fresh single-use code for this holder, valid for ``ttl``."""
    now = now or dt.datetime.now(dt.UTC)
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    with lib.sessions() as session, session.begin():
        session.add(UseCode(code_hash=code_hash(lib, raw), holder_key=holder_key, expires_at=now + ttl, created_at=now))
    shown = "-".join(raw[i:i + 4] for i in range(0, LENGTH, 4))
    return IssuedCode(shown, now + ttl, qr_png(shown))


def _unknown() -> NotFound:
    return NotFound("use_code_unknown", "用证码无效：请核对，或请持证人重新出示。 / "
                    "No such use code for this holder: check it was read correctly, or ask the holder for a new one")


def _refusal(row: UseCode, holder_key: bytes, now: dt.datetime) -> CertledgerError | None:
    if not hmac.compare_digest(row.holder_key, holder_key):
        return _unknown()  # the same answer as a code that does not exist: no one learns that a code is someone's
    if row.used_at is not None:
        return Conflict("use_code_used", "this use code has been used already; each code serves one intake: "
                        "ask the holder for a new one", used_at=as_utc(row.used_at).isoformat())
    if as_utc(row.expires_at) <= now:
        return Conflict("use_code_expired", f"this use code expired at {as_utc(row.expires_at).isoformat()}; "
                        "ask the holder for a new one", expired_at=as_utc(row.expires_at).isoformat())
    return None


def check(session: Session, lib: Library, code: str, holder_key: bytes, now: dt.datetime) -> int:
    """The id of the code if it may be spent now by this holder; the specific refusal otherwise. Changes nothing."""
    row = session.scalar(select(UseCode).where(UseCode.code_hash == code_hash(lib, normalise(code))))
    if row is None:
        raise _unknown()
    refusal = _refusal(row, holder_key, now)
    if refusal is not None:
        raise refusal
    return row.id


def spend(session: Session, code_id: int, holder_key: bytes, now: dt.datetime) -> None:
    """Mark the code used, in the caller's transaction; refused (and nothing changed) if another use won."""
    done = session.execute(
        update(UseCode)
        .where(UseCode.id == code_id, UseCode.holder_key == holder_key, UseCode.used_at.is_(None),
               UseCode.expires_at > now)
        .values(used_at=now)
    ).rowcount
    if done != 1:
        row = session.get(UseCode, code_id, populate_existing=True)
        raise _refusal(row, holder_key, now) or Conflict("use_code_used", "this use code has been used already")
