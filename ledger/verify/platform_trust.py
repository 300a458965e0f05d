"""The platform's own trust list: built from its deployments, seal root, audit writer and the foreign issuers the
administrator added; sealed and published
by ``certledger trust export`` (which needs the city root key); served by ``GET /public/trust``; and used, as is,
by the service's own verifier, so the service and a third party trust the same things.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.chain.contract import Deployment
from ledger.core.canonical import canonical_record
from ledger.core.errors import NotFound, ServiceUnavailable
from ledger.storage import trust as trust_store
from ledger.storage.models import Organization
from ledger.verify.trust import ForeignIssuer, TrustedDeployment, TrustList, seal_trust_list
from signer.authority import ROOT_KEY_ID

if TYPE_CHECKING:
    from ledger.app.library import Library

log = logging.getLogger(__name__)


def _current_deployment(lib: Library) -> TrustedDeployment | None:
    """The contract this library is configured with, from its deployment file when that names it."""
    if lib.contract is None:
        return None
    path = lib.settings.deployment_file
    if path.exists():
        recorded = Deployment.load(path)
        if recorded.address.lower() == lib.contract.address.lower():
            return TrustedDeployment(lib.contract.address, recorded.block_number, recorded.tx_hash)
    return TrustedDeployment(lib.contract.address, 0)


def trusted_issuers(session: Session) -> list[ForeignIssuer]:
    """The foreign issuers the administrator put on the trust list, by DID."""
    return [ForeignIssuer(r.did, r.name, json.loads(r.did_document), r.status_url_prefix)
            for r in trust_store.issuers(session)]


def platform_trust(lib: Library) -> TrustList:
    """What this platform trusts: its chain, every deployment it recorded (and the one it is configured with),
    its city seal root, its audit writer account and the foreign credential issuers it accepts."""
    chain_id = lib.chain.chain_id
    with lib.sessions() as session:
        rows = trust_store.deployments(session, chain_id)
        writer = session.scalar(select(Organization.chain_address).where(Organization.kind == "platform",
                                                                         Organization.chain_address.is_not(None)))
        issuers = tuple(trusted_issuers(session))
    found = [TrustedDeployment(r.address, r.block_number, r.tx_hash) for r in rows]
    current = _current_deployment(lib)
    if current is not None and all(d.address.lower() != current.address.lower() for d in found):
        found.append(current)
    return TrustList(chain_id, tuple(found), (lib.seal_registry().root_der,), writer, issuers=issuers)


def export_trust_list(lib: Library) -> dict[str, Any]:
    """Seal the platform's trust list with the city root key, store it for ``GET /public/trust`` and return it.
    The published list is returned as it is when nothing in it changed (its issue time aside)."""
    lib.require_contract()
    trust = platform_trust(lib)
    try:
        published = published_trust_list(lib)
    except NotFound:
        published = None
    unchanged = {k: v for k, v in trust.body().items() if k != "issued_at"}
    if published is not None and {k: v for k, v in published.items() if k not in ("issued_at", "seal")} == unchanged:
        return published
    try:
        root_key = lib.seal_keystore.get(ROOT_KEY_ID)
    except NotFound:
        raise ServiceUnavailable("city_root_key_offline", "导出信任列表需要城市根证书私钥 / exporting the trust list "
                                 "needs the city root key, which is not in this machine's seal key store: run the "
                                 "export where the root key is kept") from None
    doc = seal_trust_list(trust.body(), root_key, trust.sealing_root())
    body = {k: v for k, v in doc.items() if k != "seal"}
    with lib.sessions() as session, session.begin():
        trust_store.save_trust_list(session, canonical_record(body).decode("utf-8"),
                                    base64.b64decode(doc["seal"]["der"]))
    log.info("trust list exported", extra={"chain_id": trust.chain_id, "deployments": len(trust.deployments)})
    return doc


def published_trust_list(lib: Library) -> dict[str, Any]:
    """The newest sealed trust list, as exported; NotFound ``trust_list_not_published`` before the first export."""
    with lib.sessions() as session:
        row = trust_store.latest_trust_list(session)
    if row is None:
        raise NotFound("trust_list_not_published", "信任列表尚未发布 / the platform has not published its trust list "
                       "yet: an operator runs certledger trust export")
    return {**json.loads(row.body), "seal": {"format": "cms", "der": base64.b64encode(row.seal).decode("ascii")}}
