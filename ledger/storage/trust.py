"""The platform's genuine contract deployments and its published trust lists (``ledger.verify.trust``).

Every deployment is kept: a redeploy adds a row and earlier bundles, which name an earlier contract, stay on the
trust list. A published list is stored as the exact canonical JSON the city root sealed, with its seal, so the
public route serves it without the root key (which may be kept offline).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.storage.models import LedgerDeployment, TrustListRow


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
