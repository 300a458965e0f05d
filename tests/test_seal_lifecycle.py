"""A seal's life on the real chain, through the library: rotation anchors what the former seal sealed before the
new seal reaches the chain; an issuance sealed with a seal rotated out meanwhile is refused; a compromise is on
chain, where the standalone verifier reads it."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from ledger.app.library import SEAL_REGISTRY_RECHECK_S, Library
from ledger.app.onboarding import create_organization
from ledger.core.catalogue import CITY_DIVISION, type_code
from ledger.core.checks import Status
from ledger.core.errors import Conflict
from ledger.core.uscc import derive_uscc
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import issue_many, prepare
from ledger.issue.seals import report_seal_compromise, rotate_seal
from ledger.storage import seals as seals_store
from ledger.storage.models import (
    AnchorOutbox,
    Certificate,
    CertificateType,
    Organization,
)
from ledger.verify.service import SERVICE_STATUS_MAX_AGE, verify_identifier
from ledger.verify.standalone import verify_bundle_standalone
from ledger.verify.stored import export_bundle
from tests.fixtures.library import LibraryEnv, sample_request

CLI = str(Path(sys.executable).parent / "certledger")


def _department(env: LibraryEnv) -> tuple[Organization, CertificateType]:
    """A new department with a type of its own, so its queue holds only this test's leaves."""
    lib = env.lib
    org = create_organization(lib, kind="department", name=f"印章测试局{uuid.uuid4().hex[:6]}",
                              uscc=derive_uscc(uuid.uuid4().hex, division=CITY_DIVISION))
    template = env.types["skill"]
    with lib.sessions() as s, s.begin():
        ctype = CertificateType(code=type_code(org.uscc, 1), seq=1, name=f"印章测试证书{org.uscc}",
                                department_id=org.id, holder_kind=template.holder_kind, validity_years=None,
                                fields=template.fields)
        s.add(ctype)
    return org, ctype


def _queued(env: LibraryEnv, org: Organization) -> int:
    with env.lib.sessions() as s:
        return len(s.execute(select(AnchorOutbox.id).where(AnchorOutbox.org_id == org.id)).all())


def test_rotation_anchors_the_former_seals_leaves_first(library_env: LibraryEnv) -> None:
    lib = library_env.lib
    org, ctype = _department(library_env)
    old_fp = lib.contract.organization(org.chain_address).seal_fingerprint
    pending = issue_many(lib, org, [sample_request(ctype) for _ in range(3)])  # sealed with the first seal, queued
    assert _queued(library_env, org) == 3
    rotate_seal(lib, org.id)
    assert _queued(library_env, org) == 0  # anchored before rotateSeal, under the seal they were sealed with
    for cert in pending:
        result = verify_identifier(lib, cert.identifier)
        assert result.verdict is Status.VALID, result.to_dict()
        assert result.check("anchor_issuer").data["anchor_seal_fingerprint"] == "0x" + old_fp.hex()
    (later,) = issue_many(lib, org, [sample_request(ctype)])
    Anchorer(lib).run_once(force=True)
    result = verify_identifier(lib, later.identifier)
    assert result.verdict is Status.VALID
    assert result.check("anchor_issuer").data["anchor_seal_fingerprint"] != "0x" + old_fp.hex()


def test_an_issuance_sealed_with_a_seal_rotated_out_meanwhile_stores_nothing(library_env: LibraryEnv) -> None:
    lib = library_env.lib
    org, ctype = _department(library_env)
    prepared = prepare(lib, org, [sample_request(ctype)])  # sealed, not stored yet
    rotate_seal(lib, org.id)
    with pytest.raises(Conflict) as refused:
        with lib.engine.begin() as conn:
            prepared.insert(conn)
    assert refused.value.code == "seal_rotated" and refused.value.message.startswith("印章已更换")
    with lib.sessions() as s:
        assert s.scalar(select(Certificate.id).where(Certificate.issuer_org_id == org.id)) is None
    assert _queued(library_env, org) == 0


def test_a_compromise_a_second_after_the_anchor_leaves_the_certificate_valid_everywhere(
        library_env: LibraryEnv) -> None:
    """Block times are the wall-clock second (never ahead): a certificate anchored, then its seal reported
    compromised a second later, stays VALID for the service and the standalone verifier."""
    lib = library_env.lib
    org, ctype = _department(library_env)
    (cert,) = issue_many(lib, org, [sample_request(ctype)])
    Anchorer(lib).run_once(force=True)
    time.sleep(1.0)
    serial = lib.sealer(org.id).certificate.serial
    report_seal_compromise(lib, org.id, serial, dt.datetime.now(dt.UTC))
    bundle = export_bundle(lib, cert.identifier)
    for result in (verify_identifier(lib, cert.identifier),
                   verify_bundle_standalone(bundle, library_env.env["CERTLEDGER_RPC_URL"], library_env.trust())):
        assert result.verdict is Status.VALID, result.to_dict()
        assert result.check("seal_certificate_valid").reason == "signed_before_compromise"
    with pytest.raises(Conflict) as refused:
        issue_many(lib, org, [sample_request(ctype)])
    assert refused.value.code == "seal_compromised"


def test_a_compromise_recorded_only_on_chain_reaches_the_standalone_verifier(library_env: LibraryEnv) -> None:
    """The standalone verifier has no database: a compromise dated at the anchor makes it INVALID; so does the
    service, whose VALID result was remembered, within its status age."""
    lib = library_env.lib
    org, ctype = _department(library_env)
    (cert,) = issue_many(lib, org, [sample_request(ctype)])
    Anchorer(lib).run_once(force=True)
    assert verify_identifier(lib, cert.identifier).verdict is Status.VALID
    bundle = export_bundle(lib, cert.identifier)
    rpc, trust = library_env.env["CERTLEDGER_RPC_URL"], library_env.trust()
    assert verify_bundle_standalone(bundle, rpc, trust).verdict is Status.VALID
    fingerprint = seals_store.fingerprint(lib.sealer(org.id).certificate.der)
    anchored_at = dt.datetime.fromisoformat(bundle["chain"]["anchored_at"])
    lib.contract.revoke_seal(lib.admin_account(), org.chain_address, fingerprint, int(anchored_at.timestamp()))
    result = verify_bundle_standalone(bundle, rpc, trust)
    assert result.verdict is Status.INVALID
    void = ("signed_after_compromise", "anchored_after_compromise")  # sealed and anchored within the same second
    assert result.check("seal_certificate_valid").reason in void
    time.sleep(SERVICE_STATUS_MAX_AGE + 0.2)
    assert verify_identifier(lib, cert.identifier).check("seal_certificate_valid").reason in void


@pytest.mark.one_database  # the commands run what tests/api/test_seals_api.py runs on both databases
def test_the_cli_activates_with_an_sm2_seal_rotates_and_reports_a_compromise(library_env: LibraryEnv) -> None:
    lib = library_env.lib
    with lib.sessions() as s:
        org = s.execute(select(Organization).where(Organization.name == "残疾人联合会")).scalar_one()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CLI, *args], env=library_env.env, capture_output=True, text=True, timeout=120)

    wrong = cli("activate", org.uscc, "--seal-algorithm", "rsa")
    assert wrong.returncode == 2 and "seal_algorithm_invalid" in wrong.stderr
    done = cli("activate", org.uscc, "--seal-algorithm", "sm2")
    assert done.returncode == 0, done.stderr
    lib.invalidate_seals()
    assert [s.algorithm for s in lib.seal_registry().for_department(org.uscc)] == ["sm2"]
    done = cli("seal", "rotate", org.uscc, "--algorithm", "p256")
    assert done.returncode == 0, done.stderr
    lib.invalidate_seals()
    current, former = lib.seal_registry().for_department(org.uscc)
    assert (current.algorithm, former.algorithm) == ("p256", "sm2")
    org = lib.organization(org.id)
    assert lib.contract.organization(org.chain_address).seal_fingerprint == seals_store.fingerprint(current.der)
    done = cli("seal", "compromise", org.uscc, f"{current.serial:x}")
    assert done.returncode == 0, done.stderr
    assert lib.contract.seal(seals_store.fingerprint(current.der)).compromise_time > 0


def test_a_compromise_time_moved_earlier_reaches_other_workers(library_env: LibraryEnv) -> None:
    """The registry's change stamp covers every revocation's time, so a worker caching the registry sees a
    compromise time moved earlier (it saw only a change of count or of the latest time before)."""
    lib = library_env.lib
    (org, _), (latest, _) = _department(library_env), _department(library_env)
    serial = lib.sealer(org.id).certificate.serial
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    report_seal_compromise(lib, latest.id, lib.sealer(latest.id).certificate.serial, now)  # the latest time
    other = Library.from_settings(lib.settings, engine=lib.engine)  # another worker
    try:
        report_seal_compromise(lib, org.id, serial, now - dt.timedelta(minutes=10))
        time.sleep(SEAL_REGISTRY_RECHECK_S + 0.1)
        assert other.seal_registry().revocations[serial] == now - dt.timedelta(minutes=10)
        report_seal_compromise(lib, org.id, serial, now - dt.timedelta(hours=1))  # same count, same latest time
        time.sleep(SEAL_REGISTRY_RECHECK_S + 0.1)
        assert other.seal_registry().revocations[serial] == now - dt.timedelta(hours=1)
    finally:
        other.close()
