"""The platform's genuine contract deployments, the foreign issuers it trusts and its published trust lists
(``ledger.verify.trust``).

Every deployment is kept: a redeploy adds a row and earlier bundles, which name an earlier contract, stay on the
trust list. A published list is stored as the exact canonical JSON the city root sealed, with its seal, so the
public route serves it without the root key (which may be kept offline).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.storage.models import Base, LedgerDeployment, TrustListRow, utcnow


class TrustedIssuer(Base):
    """Another city's credential issuer the platform administrator put on the trust list: its DID, pinned DID
    document (verification never resolves it over the network) and the URL prefix its status lists may be
    fetched from (none: status is not checked)."""

    __tablename__ = "trusted_issuers"
    did: Mapped[str] = mapped_column(String(300), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    did_document: Mapped[str] = mapped_column(Text)  # canonical JSON, as pinned
    status_url_prefix: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def record_deployment(session: Session, *, address: str, chain_id: int, block_number: int, tx_hash: str | None) -> None:
    """Remember a deployment of the ledger contract (once per address)."""
    if session.get(LedgerDeployment, address) is None:
        session.add(LedgerDeployment(address=address, chain_id=chain_id, block_number=block_number, tx_hash=tx_hash))


def deployments(session: Session, chain_id: int) -> list[LedgerDeployment]:
    """The deployments on ``chain_id``, oldest first."""
    q = (select(LedgerDeployment).where(LedgerDeployment.chain_id == chain_id)
         .order_by(LedgerDeployment.block_number, LedgerDeployment.address))
    return list(session.execute(q).scalars())


def save_trust_list(session: Session, body: str, seal: bytes) -> None:
    session.add(TrustListRow(body=body, seal=seal))


def latest_trust_list(session: Session) -> TrustListRow | None:
    return session.execute(select(TrustListRow).order_by(TrustListRow.id.desc()).limit(1)).scalar_one_or_none()


def save_issuer(session: Session, *, did: str, name: str, did_document: str, status_url_prefix: str | None) -> None:
    """Add a foreign issuer, or replace its entry (a re-pinned DID document after the city rotated its key)."""
    row = session.get(TrustedIssuer, did)
    if row is None:
        session.add(TrustedIssuer(did=did, name=name, did_document=did_document, status_url_prefix=status_url_prefix))
    else:
        row.name, row.did_document, row.status_url_prefix = name, did_document, status_url_prefix


def issuers(session: Session) -> list[TrustedIssuer]:
    """The trusted foreign issuers, by DID."""
    return list(session.execute(select(TrustedIssuer).order_by(TrustedIssuer.did)).scalars())


def delete_issuer(session: Session, did: str) -> None:
    """Take a foreign issuer off the trust list."""
    row = session.get(TrustedIssuer, did)
    if row is not None:
        session.delete(row)
