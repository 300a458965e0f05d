"""Onboarding against the real chain and both databases: accounts, seals, registration, API keys."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from ledger.app.onboarding import (
    activate_department,
    authenticate,
    create_api_key,
    create_organization,
    ensure_platform,
    revoke_api_key,
)
from ledger.chain.contract import OrgKind, uscc_hash
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.errors import BadInput, Conflict, Unauthorized
from ledger.core.uscc import derive_uscc
from ledger.issue.seals import report_seal_compromise, rotate_seal
from ledger.storage import seals as seals_store
from tests.fixtures.library import LibraryEnv


def _code(prefix: str = "11") -> str:
    return derive_uscc(uuid.uuid4().hex, division=CITY_DIVISION, prefix=prefix)


def test_activated_departments_are_registered_on_chain_with_their_seal(library_env: LibraryEnv) -> None:
    lib = library_env.lib
    registry = lib.seal_registry()
    for org in library_env.departments.values():
        on_chain = lib.contract.organization(org.chain_address)
        assert on_chain is not None and on_chain.active and on_chain.kind == OrgKind.DEPARTMENT
        assert on_chain.uscc_hash == uscc_hash(org.uscc)
        seal = registry.for_department(org.uscc)[0]
        assert on_chain.seal_fingerprint == seals_store.fingerprint(seal.der)
        assert '"crypto"' in org.keystore and lib.org_account(org).address == org.chain_address


def test_activation_is_idempotent(library_env: LibraryEnv) -> None:
    org = library_env.departments["market"]
    again = activate_department(library_env.lib, org.id)
    assert again.chain_address == org.chain_address
    assert len(library_env.lib.seal_registry().for_department(org.uscc)) >= 1


def test_create_association_and_counter(library_env: LibraryEnv) -> None:
    lib = library_env.lib
    assoc = create_organization(lib, kind="association", name="测试行业协会", uscc=_code("51"))
    assert lib.contract.organization(assoc.chain_address).kind == OrgKind.ASSOCIATION
    counter = create_organization(lib, kind="counter", name="政务服务中心窗口", uscc=_code("12"),
                                  parent_id=library_env.departments["market"].id)
    assert counter.chain_address is None and counter.keystore is None
    assert counter.parent_id == library_env.departments["market"].id


def test_create_department_for_catalogue_row_activates_it(library_env: LibraryEnv) -> None:
    lib = library_env.lib
    idle = library_env.idle
    first = create_organization(lib, kind="department", name=idle.name, uscc=idle.uscc)
    assert first.id == idle.id and first.chain_address is not None
    with pytest.raises(Conflict) as e:
        create_organization(lib, kind="department", name=idle.name, uscc=idle.uscc)
    assert e.value.code == "organization_exists"


def test_bad_credit_code_and_kind_are_refused(library_env: LibraryEnv) -> None:
    good = _code()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(BadInput) as e:
        create_organization(library_env.lib, kind="department", name="某局", uscc=bad)
    assert e.value.code == "uscc_invalid"
    with pytest.raises(BadInput) as e:
        create_organization(library_env.lib, kind="bank", name="某行", uscc=good)  # type: ignore[arg-type]
    assert e.value.code == "organization_kind_invalid"


def test_rotate_seal_and_report_compromise(library_env: LibraryEnv) -> None:
    lib = library_env.lib
    org = create_organization(lib, kind="department", name="轮换测试局", uscc=_code())
    old = lib.sealer(org.id).certificate.serial
    new = rotate_seal(lib, org.id)
    assert new != old and lib.sealer(org.id).certificate.serial == new
    on_chain = lib.contract.organization(org.chain_address)
    assert on_chain.seal_fingerprint == seals_store.fingerprint(lib.seal_registry().certificate(new).der)
    assert {i.serial for i in lib.seal_registry().for_department(org.uscc)} == {old, new}
    when = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    report_seal_compromise(lib, org.id, old, when)
    assert lib.seal_registry().revocations[old] == when
    old_fp = seals_store.fingerprint(lib.seal_registry().certificate(old).der)
    assert lib.contract.seal(old_fp).compromise_time == int(when.timestamp())  # on chain, for standalone verifiers
    report_seal_compromise(lib, org.id, old, when + dt.timedelta(days=1))  # a later time changes nothing
    assert lib.seal_registry().revocations[old] == when
    with pytest.raises(BadInput) as e:
        report_seal_compromise(lib, org.id, new, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    assert e.value.code == "compromise_time_in_future"
    other = library_env.departments["market"]
    with pytest.raises(BadInput):
        report_seal_compromise(lib, other.id, old, when)


def test_api_keys(library_env: LibraryEnv) -> None:
    lib = library_env.lib
    platform = ensure_platform(lib, "城市电子证照平台", _code("12"))
    admin_key = create_api_key(lib, platform.id, ["admin"])
    owner = authenticate(lib, admin_key)
    assert owner.org.id == platform.id and owner.roles == ["admin"] and owner.staff_id is None
    dept = library_env.departments["land"]
    key = create_api_key(lib, dept.id, ["department"])
    assert authenticate(lib, key).org.id == dept.id
    with pytest.raises(BadInput):
        create_api_key(lib, dept.id, ["admin"])
    revoke_api_key(lib, dept.id, key[:12])
    for bad in (key, "clk_" + "x" * 43, "", "nonsense"):
        with pytest.raises(Unauthorized) as e:
            authenticate(lib, bad)
        assert e.value.code == "api_key_invalid"
