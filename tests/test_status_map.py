"""The service's map of changed statuses: first verifications without a per-leaf eth_call, and no weaker."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ledger.core.checks import Status
from ledger.core.statuses import LeafStatus
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import issue_many
from ledger.verify.fragments import Verifier
from ledger.verify.service import (
    SERVICE_STATUS_MAX_AGE,
    service_verifier,
    verification_without_chain,
    verify_identifier,
)
from ledger.verify.standalone import verifier_for_rpc
from ledger.verify.stored import export_bundle
from tests.fixtures.library import LibraryEnv, sample_request

pytestmark = pytest.mark.chains("anvil", "hardhat", "besu")


def _anchored(env: LibraryEnv, n: int) -> list[str]:
    issued = issue_many(env.lib, env.departments["market"],
                        [sample_request(env.types["business_licence"]) for _ in range(n)])
    Anchorer(env.lib).run_once(force=True)
    return [c.identifier for c in issued]


def _suspend(env: LibraryEnv, identifier: str) -> dict[str, Any]:
    bundle = export_bundle(env.lib, identifier)
    env.lib.contract.set_status(env.lib.org_account(env.departments["market"]), bundle["root"], bundle["leaf"],
                                LeafStatus.SUSPENDED)
    return bundle


@pytest.fixture()
def leaf_reads(library_env: LibraryEnv, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Per-leaf chain reads made through the library's contract (none expected); anchorOf calls count as "anchor"."""
    contract = service_verifier(library_env.lib).chain.contract
    reads: list[str] = []
    anchor_of = contract.anchor_of

    def counted(issuer: str, root: Any) -> Any:
        reads.append("anchor")
        return anchor_of(issuer, root)

    monkeypatch.setattr(contract, "anchor_of", counted)
    monkeypatch.setattr(contract, "verify", lambda *a: reads.append("verify"))
    monkeypatch.setattr(contract, "status_of", lambda *a: reads.append("status_of"))
    return reads


def test_first_verifications_read_the_anchor_once_per_root(library_env: LibraryEnv, leaf_reads: list[str]) -> None:
    identifiers = _anchored(library_env, 4)
    roots = {export_bundle(library_env.lib, identifier)["root"] for identifier in identifiers}
    leaf_reads.clear()  # the anchoring worker reads anchors too, through the same contract object
    for identifier in identifiers:
        assert verify_identifier(library_env.lib, identifier).verdict is Status.VALID
    assert leaf_reads == ["anchor"] * len(roots), roots


def test_status_change_of_a_never_verified_leaf_shows_within_the_max_age(library_env: LibraryEnv,
                                                                         leaf_reads: list[str]) -> None:
    lib = library_env.lib
    seen, changed = _anchored(library_env, 2)
    assert verify_identifier(lib, seen).verdict is Status.VALID  # the root is known, the map current
    _suspend(library_env, changed)
    time.sleep(SERVICE_STATUS_MAX_AGE + 0.2)
    result = verify_identifier(lib, changed)
    assert result.verdict is Status.INVALID and result.check("status").reason == "suspended"
    assert "verify" not in leaf_reads and "status_of" not in leaf_reads


def test_the_standalone_verifier_reads_the_chain_at_once(library_env: LibraryEnv) -> None:
    lib = library_env.lib
    seen, changed = _anchored(library_env, 2)
    standalone = verifier_for_rpc(lib.settings.rpc_url, lib.contract.address, library_env.trust())
    assert standalone.verify_bundle(export_bundle(lib, changed)).verdict is Status.VALID
    bundle = _suspend(library_env, changed)
    assert standalone.verify_bundle(bundle).check("status").reason == "suspended"


def test_a_root_anchored_after_the_last_look_is_looked_at_up_to_its_anchor(
        library_env: LibraryEnv, leaf_reads: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    lib = library_env.lib
    chain = service_verifier(lib).chain
    monkeypatch.setattr(chain, "status_max_age", 60.0)  # no periodic look during the test
    assert verify_identifier(lib, _anchored(library_env, 1)[0]).verdict is Status.VALID
    looked = chain._status_block
    valid, changed = _anchored(library_env, 2)  # a new root, anchored after that look ...
    _suspend(library_env, changed)  # ... and a status change under it, both within the max age
    assert verify_identifier(lib, changed).check("status").reason == "suspended"
    assert verify_identifier(lib, valid).verdict is Status.VALID
    assert chain._status_block > looked
    assert "verify" not in leaf_reads and "status_of" not in leaf_reads


def test_a_new_worker_rebuilds_the_map_from_the_events(library_env: LibraryEnv) -> None:
    lib = library_env.lib
    valid, changed = _anchored(library_env, 2)
    bundle = _suspend(library_env, changed)
    worker = Verifier(lib.contract, lib.seal_registry, status_max_age=SERVICE_STATUS_MAX_AGE)
    assert worker.verify_bundle(bundle).check("status").reason == "suspended"
    issuer = bytes.fromhex(library_env.departments["market"].chain_address[2:])
    assert worker.chain._changed[(issuer, bytes.fromhex(bundle["root"][2:]), bytes.fromhex(bundle["leaf"][2:]))] \
        == LeafStatus.SUSPENDED
    assert worker.verify_bundle(export_bundle(lib, valid)).verdict is Status.VALID
    lib.contract.set_status(lib.org_account(library_env.departments["market"]), bundle["root"], bundle["leaf"],
                            LeafStatus.VALID)  # reinstated
    restarted = Verifier(lib.contract, lib.seal_registry, status_max_age=SERVICE_STATUS_MAX_AGE)
    assert restarted.verify_bundle(bundle).verdict is Status.VALID


def test_first_verifications_are_answered_without_the_chain_node_under_a_seen_root(
        library_env: LibraryEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = library_env.lib
    chain = service_verifier(lib).chain
    monkeypatch.setattr(chain, "status_max_age", 60.0)  # so that the map stays current through the test
    first, second, changed = _anchored(library_env, 3)
    assert verification_without_chain(lib, first) is None  # a new root: its anchor needs the chain node
    assert verify_identifier(lib, first).verdict is Status.VALID
    _suspend(library_env, changed)
    chain.forget_statuses()  # as ledger.issue.changes does after changing statuses
    assert verification_without_chain(lib, changed) is None  # the map is due to be brought up to date
    assert verify_identifier(lib, first).verdict is Status.VALID
    monkeypatch.setattr(chain.contract.client, "call_rpc", None)  # any chain read would fail now
    result = verification_without_chain(lib, second)
    assert result is not None and result.verdict is Status.VALID
    assert verification_without_chain(lib, second) is result  # and remembered
    suspended = verification_without_chain(lib, changed)
    assert suspended is not None and suspended.check("status").reason == "suspended"
