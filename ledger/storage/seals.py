"""The seal registry in the database, so every API worker and the CLI share one set of trust data.

The city root certificate, every seal certificate ever issued (a former seal must still verify
the records it sealed) and every revocation are kept; private keys never are (they live in the
seal key store). ``registry_stamp`` is a cheap summary that changes whenever any of it changes,
so a process can cache the registry and notice changes made by another process.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.storage.models import Base, Hash32, as_utc, utcnow
from signer.certificates import SealCertInfo
from signer.registry import SealRegistry


class SealAuthorityRow(Base):
    """The city seal authority's root certificate (one row; its key is in the seal key store)."""

    __tablename__ = "seal_authority"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root_der: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SealCertificateRow(Base):
    __tablename__ = "seal_certificates"
    serial: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex, as X.509 serials exceed 64 bits
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    der: Mapped[bytes] = mapped_column(LargeBinary)
    eseal_der: Mapped[bytes | None] = mapped_column(LargeBinary)
    fingerprint: Mapped[bytes] = mapped_column(Hash32, unique=True)  # SHA-256 of the DER, as registered on chain
    algorithm: Mapped[str] = mapped_column(String(8))
    valid_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SealRevocationRow(Base):
    __tablename__ = "seal_revocations"
    serial: Mapped[str] = mapped_column(ForeignKey("seal_certificates.serial"), primary_key=True)
    compromise_time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


def fingerprint(cert_der: bytes) -> bytes:
    """What the contract stores for an organization's seal certificate."""
    return hashlib.sha256(cert_der).digest()


def root_der(session: Session) -> bytes | None:
    return session.execute(select(SealAuthorityRow.root_der).where(SealAuthorityRow.id == 1)).scalar_one_or_none()


def save_root(session: Session, der: bytes) -> None:
    session.add(SealAuthorityRow(id=1, root_der=der))


def save_certificate(session: Session, org_id: int | None, info: SealCertInfo, eseal_der: bytes | None) -> None:
    session.add(SealCertificateRow(
        serial=f"{info.serial:x}", org_id=org_id, der=info.der, eseal_der=eseal_der, fingerprint=fingerprint(info.der),
        algorithm=info.algorithm, valid_from=info.not_before, valid_until=info.not_after,
    ))


def save_revocation(session: Session, serial: int, compromise_time: dt.datetime) -> None:
    row = session.get(SealRevocationRow, f"{serial:x}")
    if row is None:
        session.add(SealRevocationRow(serial=f"{serial:x}", compromise_time=compromise_time))
    else:
        row.compromise_time = compromise_time


def load_registry(session: Session) -> SealRegistry | None:
    """The registry as stored (None before the seal authority exists)."""
    root = root_der(session)
    if root is None:
        return None
    certs = session.execute(select(SealCertificateRow.der, SealCertificateRow.serial, SealCertificateRow.eseal_der)
                            .order_by(SealCertificateRow.created_at, SealCertificateRow.serial)).all()
    revs = session.execute(select(SealRevocationRow.serial, SealRevocationRow.compromise_time)).all()
    return SealRegistry(
        root_der=root,
        seal_certificates=[c.der for c in certs],
        revocations={int(s, 16): as_utc(t) for s, t in revs},
        eseals={int(c.serial, 16): c.eseal_der for c in certs if c.eseal_der is not None},
    )


def registry_stamp(session: Session) -> tuple[int, int, str]:
    """Changes whenever a seal certificate or revocation is added or changed (cache key for the registry)."""
    n_certs = session.execute(select(func.count()).select_from(SealCertificateRow)).scalar_one()
    n_revs, last = session.execute(
        select(func.count(), func.max(SealRevocationRow.compromise_time))
    ).one()
    return n_certs, n_revs, str(last)


def current_serial(session: Session, org_id: int) -> int | None:
    """The organization's newest seal certificate."""
    serial = session.execute(
        select(SealCertificateRow.serial).where(SealCertificateRow.org_id == org_id)
        .order_by(SealCertificateRow.created_at.desc()).limit(1)
    ).scalar_one_or_none()
    return None if serial is None else int(serial, 16)
