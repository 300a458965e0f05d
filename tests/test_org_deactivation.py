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
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.errors import CertledgerError, Forbidden
from ledger.core.uscc import derive_uscc
from ledger.issue import activity
from ledger.issue.issuance import issue_one
from ledger.storage.models import CertificateType
from ledger.verify.service import verify_identifier
from tests.fixtures.library import LibraryEnv, sample_request


def test_a_deactivated_department_cannot_issue_or_anchor(library_env: LibraryEnv) -> None:
    lib = library_env.lib
    dept = onboarding.create_organization(lib, kind="department", name="市停用测试局",
                                          uscc=derive_uscc(os.urandom(8).hex(), division=CITY_DIVISION, prefix="11"))
    key = onboarding.create_api_key(lib, dept.id, ["department"])
    model = library_env.types["business_licence"]
    ctype = CertificateType(code=dept.uscc + "001", name=f"停用测试证{dept.uscc}", department_id=dept.id,
                            holder_kind=model.holder_kind, validity_years=model.validity_years, fields=model.fields)
    with lib.sessions() as session, session.begin():
        session.add(ctype)
    queued = issue_one(lib, dept, sample_request(ctype)).identifier
    contract = lib.require_contract()
    admin_key = onboarding.create_api_key(lib, library_env.platform.id, ["admin"])
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
        contract.anchor(lib.org_account(dept), os.urandom(32), 1, BatchKind.CERTIFICATES)
        assert issue_one(lib, lib.organization(dept.id), sample_request(ctype)).identifier
        platform = client.post(f"/admin/organizations/{library_env.platform.id}/deactivate",
                               headers={"X-API-Key": admin_key})
        assert platform.status_code == 422 and platform.json()["error"]["code"] == "organization_is_platform"
    assert activity.reactivate(lib, dept.id).active
