"""The seal registry in the database, so every API worker and the CLI share one set of trust data.

The city root certificate, every seal certificate ever issued (a former seal must still verify
the records it sealed) and every revocation are kept; private keys never are (they live in the
seal key store). ``registry_stamp`` is a cheap summary that changes whenever any of it changes,
so a process can cache the registry and notice changes made by another process.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import (
    Connection,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.core.errors import Conflict
from ledger.storage.models import Base, Hash32, Organization, as_utc, utcnow
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


def registry_stamp(session: Session) -> tuple[int, tuple[tuple[str, str], ...]]:
    """Changes whenever a seal certificate or revocation is added or changed (cache key for the registry): the
    number of certificates and every revocation with its time (few), so a compromise time moved earlier counts."""
    n_certs = session.execute(select(func.count()).select_from(SealCertificateRow)).scalar_one()
    revs = session.execute(select(SealRevocationRow.serial, SealRevocationRow.compromise_time)
                           .order_by(SealRevocationRow.serial)).all()
    return n_certs, tuple((serial, str(as_utc(t))) for serial, t in revs)


def switch_seal(session: Session, org_id: int, info: SealCertInfo, eseal_der: bytes | None) -> None:
    """Make ``info`` the organization's current seal, under the organization row's lock: an issuance that sealed
    with the former seal and has not committed yet finishes first, or sees the new seal and is refused
    (:func:`require_current_seal`), so no leaf sealed with the former seal is queued after the switch."""
    session.execute(select(Organization.id).where(Organization.id == org_id).with_for_update())
    save_certificate(session, org_id, info, eseal_der)


def require_current_seal(conn: Connection, org_id: int, fingerprint: bytes) -> None:
    """In the transaction that queues items sealed with ``fingerprint``: the seal must still be the organization's
    current one (Conflict ``seal_rotated`` otherwise, nothing is stored; the caller sends the request again)."""
    conn.execute(select(Organization.id).where(Organization.id == org_id).with_for_update(read=True))
    current = conn.execute(select(SealCertificateRow.fingerprint).where(SealCertificateRow.org_id == org_id)
                           .order_by(SealCertificateRow.created_at.desc()).limit(1)).scalar_one_or_none()
    if current != fingerprint:
        raise Conflict("seal_rotated", "印章已更换，请重新提交 / the organization's seal was rotated while this request "
                       "was being sealed with the former one: nothing was stored, send the request again")


def current_serial(session: Session, org_id: int) -> int | None:
    """The organization's newest seal certificate."""
    serial = session.execute(
        select(SealCertificateRow.serial).where(SealCertificateRow.org_id == org_id)
        .order_by(SealCertificateRow.created_at.desc()).limit(1)
    ).scalar_one_or_none()
    return None if serial is None else int(serial, 16)
