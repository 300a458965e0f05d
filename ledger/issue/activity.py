"""Deactivating and reactivating an organization, in the database and on chain.

A deactivated organization's API keys are refused at once (``ledger.app.onboarding.authenticate``) and its chain
account loses its kind's role (``deactivateOrganization``), so neither the API nor the account itself can issue,
anchor or change a status. What it anchored before stays and keeps verifying.

Order, so that an interruption leaves nothing half-done that a retry does not finish: the database first (no new
issuance), then every leaf it still has queued is anchored while the account may still anchor, then the chain
transaction. Reactivation is the reverse: the chain first, then the database. Both are idempotent.
"""

from __future__ import annotations

import logging

from ledger.app.library import Library
from ledger.app.onboarding import SEALED_KINDS
from ledger.core.errors import BadInput
from ledger.issue.anchoring import Anchorer
from ledger.storage import seals as seals_store
from ledger.storage.models import Organization

log = logging.getLogger(__name__)


def _set_active(lib: Library, org_id: int, active: bool) -> Organization:
    lib.organization(org_id)  # organization_not_found
    with lib.sessions() as session, session.begin():
        row = session.get(Organization, org_id, with_for_update=True)
        if row.kind == "platform":
            raise BadInput("organization_is_platform", "平台机构不能停用 / the platform organization cannot be deactivated")
        row.active = active
    return lib.organization(org_id)


def deactivate(lib: Library, org_id: int) -> Organization:
    """Stop the organization: its keys at once, its queued leaves anchored, then its chain account's role."""
    org = _set_active(lib, org_id, False)
    if org.chain_address is not None:
        contract = lib.require_contract()
        on_chain = contract.organization(org.chain_address)
        if on_chain is not None and on_chain.active:
            if org.kind in SEALED_KINDS and not on_chain.seal_revoked:
                with lib.sessions() as session:
                    serial = seals_store.current_serial(session, org_id)
                if serial is not None:
                    Anchorer(lib).drain(org_id, seals_store.fingerprint(lib.seal_registry().certificate(serial).der))
            contract.deactivate(lib.admin_account(), org.chain_address)
    log.info("organization deactivated", extra={"org_id": org_id, "uscc": org.uscc})
    return org


def reactivate(lib: Library, org_id: int) -> Organization:
    """Let the organization work again: its chain account's role back, then its keys."""
    org = lib.organization(org_id)
    if org.chain_address is not None:
        contract = lib.require_contract()
        on_chain = contract.organization(org.chain_address)
        if on_chain is not None and not on_chain.active:
            contract.reactivate(lib.admin_account(), org.chain_address)
    org = _set_active(lib, org_id, True)
    log.info("organization reactivated", extra={"org_id": org_id, "uscc": org.uscc})
    return org
