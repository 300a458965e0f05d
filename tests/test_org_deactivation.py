"""Deactivating an organisation stops it everywhere, on chain too: its API keys are refused, the library refuses
its issuance, and its chain account can no longer anchor (the contract refuses, whoever sends). What it queued
before is anchored first and keeps verifying; reactivation gives all of it back."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.app import onboarding
from ledger.chain.contract import BatchKind
from ledger.core.errors import CertledgerError, Forbidden
from ledger.issue import activity
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import issue_one
from ledger.storage.models import Organization
from ledger.verify.service import verify_identifier
from tests.fixtures.library import LibraryEnv, sample_request


def test_a_deactivated_department_cannot_issue_or_anchor(library_env: LibraryEnv) -> None:
    """On a department the session shares (its certificate type is its own), given back at the end whatever
    happens."""
    lib = library_env.lib
    dept = library_env.departments["land"]
    key = onboarding.create_api_key(lib, dept.id, ["department"])
    ctype = library_env.types["real_estate"]
    queued = issue_one(lib, dept, sample_request(ctype)).identifier
    admin_key = onboarding.create_api_key(lib, library_env.platform.id, ["admin"])
    try:
        _deactivate_and_back(library_env, dept, key, admin_key, queued)
    finally:
        assert activity.reactivate(lib, dept.id).active


def _deactivate_and_back(library_env: LibraryEnv, dept: Organization, key: str, admin_key: str, queued: str) -> None:
    lib, ctype, contract = library_env.lib, library_env.types["real_estate"], library_env.lib.require_contract()
    with TestClient(create_app(lib)) as client:
        ok = client.get("/departments/certificates", headers={"X-API-Key": key})
        assert ok.status_code == 200, ok.text
        r = client.post(f"/admin/organizations/{dept.id}/deactivate", headers={"X-API-Key": admin_key})
        assert r.status_code == 200 and r.json()["active"] is False, r.text
        refused = client.get("/departments/certificates", headers={"X-API-Key": key})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "api_key_invalid"
        assert contract.organization(dept.chain_address).active is False
        assert verify_identifier(lib, queued).verdict.value == "VALID"  # anchored before the role went
        with pytest.raises(Forbidden) as refusal:
            issue_one(lib, lib.organization(dept.id), sample_request(ctype))
        assert refusal.value.code == "organization_deactivated"
        with pytest.raises(CertledgerError):  # its own account, straight to the contract
            contract.anchor(lib.org_account(dept), os.urandom(32), 1, BatchKind.CERTIFICATES)
        again = client.post(f"/admin/organizations/{dept.id}/deactivate", headers={"X-API-Key": admin_key})
        assert again.status_code == 200, again.text  # idempotent

        r = client.post(f"/admin/organizations/{dept.id}/reactivate", headers={"X-API-Key": admin_key})
        assert r.status_code == 200 and r.json()["active"] is True, r.text
        assert contract.organization(dept.chain_address).active is True
        assert client.get("/departments/certificates", headers={"X-API-Key": key}).status_code == 200
        issued = issue_one(lib, lib.organization(dept.id), sample_request(ctype)).identifier
        Anchorer(lib).run_once(force=True)
        assert verify_identifier(lib, issued).verdict.value == "VALID"
        platform = client.post(f"/admin/organizations/{library_env.platform.id}/deactivate",
                               headers={"X-API-Key": admin_key})
        assert platform.status_code == 422 and platform.json()["error"]["code"] == "organization_is_platform"
