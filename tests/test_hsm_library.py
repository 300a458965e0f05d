"""A department whose seal key and chain key both live in a PKCS#11 token (SoftHSM2): it is activated,
issues, anchors and verifies like any other, and neither key exists outside the token."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ledger.app.library import Library
from ledger.app.onboarding import create_organization
from ledger.chain.keys import TOKEN_PREFIX
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.uscc import derive_uscc
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import issue_one
from ledger.storage.models import CertificateType
from ledger.verify.service import verify_identifier
from signer.chain_key import TokenAccount
from signer.pkcs11_keystore import TOKEN_ENV, TokenKey
from tests.fixtures.hsm import HSM_TOKENS
from tests.fixtures.library import LibraryEnv, sample_request


@pytest.fixture
def hsm_library(library_env: LibraryEnv, softhsm: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Library:
    for name, value in softhsm.items():
        monkeypatch.setenv(name, value)
    # the spare token: tests/signer keeps a city root of its own in the first one, which a tiered store prefers
    monkeypatch.setenv(TOKEN_ENV, HSM_TOKENS[1])
    base = library_env.lib
    lib = Library.from_settings(base.settings, engine=base.engine)
    yield lib
    lib.close()


def test_a_department_with_its_keys_in_the_token_issues_anchors_and_verifies(
        hsm_library: Library, library_env: LibraryEnv) -> None:
    lib = hsm_library
    key_files = set(lib.seal_keystore.directory.glob("*.pem"))
    uscc = derive_uscc(f"department:hsm:{library_env.lib.engine.dialect.name}", division=CITY_DIVISION)
    org = create_organization(lib, kind="department", name=f"密码模块试点局{uscc[-4:]}", uscc=uscc)
    assert org.keystore == f"{TOKEN_PREFIX}chain-{uscc}"  # only the key's name is stored
    assert isinstance(lib.org_account(org), TokenAccount)
    assert lib.org_account(org).address == org.chain_address
    assert set(lib.seal_keystore.directory.glob("*.pem")) == key_files  # the seal key was made in the token
    seal = lib.seal_registry().for_department(uscc)[0]
    assert isinstance(lib.seal_keystore.token.get(seal.key_id), TokenKey)

    template = library_env.types["business_licence"]
    with lib.sessions() as session, session.begin():
        session.add(CertificateType(code=f"{uscc}001", seq=1, name=f"试点证照{uscc[-6:]}", department_id=org.id,
                                    holder_kind=template.holder_kind, validity_years=template.validity_years,
                                    fields=template.fields))
    with lib.sessions() as session:
        ctype = session.scalar(select(CertificateType).where(CertificateType.code == f"{uscc}001"))
    issued = issue_one(lib, org, sample_request(ctype, document="render"))
    Anchorer(lib).run_once(force=True)  # the anchoring transaction is signed in the token
    result = verify_identifier(lib, issued.identifier)
    assert result.verdict.value == "VALID", [c.to_dict() for c in result.checks if c.status.value != "VALID"]
