"""The status table the indexer keeps: first verifications without a per-leaf eth_call, and no weaker."""

from __future__ import annotations

import random
import secrets
import time
from typing import Any

import pytest
from sqlalchemy import select

from ledger.app.indexing import chain_indexer
from ledger.chain.indexer import cursor_name
from ledger.core.checks import Status
from ledger.core.statuses import LeafStatus
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import issue_many
from ledger.issue.status_changes import change_status
from ledger.storage import leaf_statuses
from ledger.storage.leaf_statuses import LeafStatusTable
from ledger.storage.models import ChainLeafStatus
from ledger.verify import service
from ledger.verify.fragments import Verifier
from ledger.verify.service import (
    SERVICE_STATUS_MAX_AGE,
    service_verifier,
    verify_identifier,
    warm_service_verifier,
)
from ledger.verify.standalone import verifier_for_rpc
from ledger.verify.stored import export_bundle
from tests.fixtures.library import LibraryEnv, sample_request
from tests.fixtures.verifying import verification_without_chain

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
    """Chain reads made through the library's contract, by name; anchorOf calls count as "anchor"."""
    contract = service_verifier(library_env.lib).chain.contract
    reads: list[str] = []
    anchor_of = contract.anchor_of

    def counted(issuer: str, root: Any) -> Any:
        reads.append("anchor")
        return anchor_of(issuer, root)

    def passed(name: str) -> Any:
        original = getattr(contract, name)
        return lambda *a: reads.append(name) or original(*a)

    monkeypatch.setattr(contract, "anchor_of", counted)
    monkeypatch.setattr(contract, "verify", passed("verify"))
    monkeypatch.setattr(contract, "status_of", passed("status_of"))
    return reads


def test_first_verifications_read_an_anchor_once_per_root_and_an_indexed_one_from_the_table(
        library_env: LibraryEnv, leaf_reads: list[str]) -> None:
    indexed = _anchored(library_env, 2)
    _index(library_env)
    newer = _anchored(library_env, 2) + _anchored(library_env, 2)  # two roots the indexer has not reached
    roots = {export_bundle(library_env.lib, identifier)["root"] for identifier in newer}
    leaf_reads.clear()  # the anchoring worker reads anchors too, through the same contract object
    for identifier in indexed:
        assert verify_identifier(library_env.lib, identifier).verdict is Status.VALID
    assert leaf_reads == []
    for identifier in newer:
        assert verify_identifier(library_env.lib, identifier).verdict is Status.VALID
    assert leaf_reads == ["anchor"] * len(roots) == ["anchor"] * 2


def _index(env: LibraryEnv) -> None:
    """What ``certledger indexer`` (and ``up``'s) does each round."""
    chain_indexer(env.lib).run_until_head()


def test_a_status_changed_outside_shows_once_indexed_without_a_chain_read(library_env: LibraryEnv,
                                                                          leaf_reads: list[str]) -> None:
    lib = library_env.lib
    seen, changed = _anchored(library_env, 2)
    _index(library_env)
    assert verify_identifier(lib, seen).verdict is Status.VALID
    _suspend(library_env, changed)  # by the department's account, not through this library
    _index(library_env)
    time.sleep(SERVICE_STATUS_MAX_AGE + 0.2)
    result = verify_identifier(lib, changed)
    assert result.verdict is Status.INVALID and result.check("status").reason == "suspended"
    assert "verify" not in leaf_reads and "status_of" not in leaf_reads


def test_while_the_indexer_lags_the_events_after_it_are_read_once_not_per_leaf(library_env: LibraryEnv,
                                                                                leaf_reads: list[str]) -> None:
    lib = library_env.lib
    _anchored(library_env, 1)
    _index(library_env)
    assert verify_identifier(lib, _anchored(library_env, 1)[0]).verdict is Status.VALID  # a look before the root
    valid, changed = _anchored(library_env, 2)  # a new root, anchored after the indexer's last round ...
    _suspend(library_env, changed)  # ... and a change under it
    assert verify_identifier(lib, changed).check("status").reason == "suspended"
    assert verify_identifier(lib, valid).verdict is Status.VALID
    assert "status_of" not in leaf_reads and "verify" not in leaf_reads
    assert verification_without_chain(lib, _anchored(library_env, 1)[0]) is None  # a new root: needs its anchor


def test_without_an_indexer_first_verifications_read_no_status_per_leaf(library_env: LibraryEnv,
                                                                        leaf_reads: list[str]) -> None:
    lib = library_env.lib
    identifiers = _anchored(library_env, 5)
    changed = identifiers.pop()
    _suspend(library_env, changed)  # by the department's account, not through this library; nothing indexes it
    leaf_reads.clear()  # the anchoring worker reads anchors too, through the same contract object
    assert verify_identifier(lib, changed).check("status").reason == "suspended"
    for identifier in identifiers:
        assert verify_identifier(lib, identifier).verdict is Status.VALID
    assert leaf_reads == ["anchor"]
    bundle = export_bundle(lib, changed)
    lib.contract.set_status(lib.org_account(library_env.departments["market"]), bundle["root"], bundle["leaf"],
                            LeafStatus.VALID)  # reinstated outside: shown within the max age, still no per-leaf read
    leaf_reads.clear()
    time.sleep(SERVICE_STATUS_MAX_AGE + 0.2)
    assert verify_identifier(lib, changed).verdict is Status.VALID
    assert leaf_reads == []


def test_a_change_made_here_is_in_the_table_at_once(library_env: LibraryEnv, leaf_reads: list[str]) -> None:
    lib, market = library_env.lib, library_env.departments["market"]
    identifier = _anchored(library_env, 1)[0]
    _index(library_env)
    assert verify_identifier(lib, identifier).verdict is Status.VALID
    change_status(lib, market, [identifier], "suspend", "核查中 / under review", reason_code=7)
    bundle = export_bundle(lib, identifier)
    with lib.sessions() as session:
        row = session.get(ChainLeafStatus, (market.chain_address, bytes.fromhex(bundle["root"][2:]),
                                             bytes.fromhex(bundle["leaf"][2:])))
    assert (row.status, row.reason) == ("02", "7")
    assert verify_identifier(lib, identifier).check("status").reason == "suspended"
    change_status(lib, market, [identifier], "reinstate", "核查完毕 / reviewed", reason_code=8)
    assert verify_identifier(lib, identifier).verdict is Status.VALID
    _index(library_env)  # it then applies the suspension's event, older than the row, and the reinstatement's
    assert verify_identifier(lib, identifier).verdict is Status.VALID
    assert "verify" not in leaf_reads


def test_on_postgresql_a_first_verification_reads_its_leaf_status_with_its_row(
        library_env: LibraryEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    lib, market = library_env.lib, library_env.departments["market"]
    changed, valid = _anchored(library_env, 2)
    _index(library_env)
    change_status(lib, market, [changed], "suspend", "核查中 / under review", reason_code=7)  # in the table at once
    apart: list[bool] = []
    read_one = leaf_statuses.read_one

    def counted(engine: Any, statement: Any, params: Any, **kw: Any) -> Any:
        apart.append(statement is leaf_statuses._STATUS_AND_CURSOR)
        return read_one(engine, statement, params, **kw)

    monkeypatch.setattr(leaf_statuses, "read_one", counted)
    assert verify_identifier(lib, changed).check("status").reason == "suspended"
    assert verify_identifier(lib, valid).verdict is Status.VALID
    assert sum(apart) == (0 if lib.engine.dialect.name == "postgresql" else 2)  # SQLite reads it apart


def test_the_standalone_verifier_reads_the_chain_at_once(library_env: LibraryEnv) -> None:
    lib = library_env.lib
    seen, changed = _anchored(library_env, 2)
    standalone = verifier_for_rpc(lib.settings.rpc_url, lib.contract.address, library_env.trust())
    assert standalone.verify_bundle(export_bundle(lib, changed)).verdict is Status.VALID
    bundle = _suspend(library_env, changed)
    assert standalone.verify_bundle(bundle).check("status").reason == "suspended"


def test_a_new_worker_reads_the_table_and_keeps_no_map(library_env: LibraryEnv) -> None:
    lib = library_env.lib
    valid, changed = _anchored(library_env, 2)
    bundle = _suspend(library_env, changed)
    _index(library_env)
    table = LeafStatusTable(lib.engine, cursor_name(lib.contract))
    worker = Verifier(lib.contract, lib.seal_registry, status_max_age=SERVICE_STATUS_MAX_AGE, leaf_statuses=table)
    worker.chain.contract = _NoStatusReads(lib.contract)
    assert worker.verify_bundle(bundle).check("status").reason == "suspended"
    assert worker.verify_bundle(export_bundle(lib, valid)).verdict is Status.VALID
    assert not worker.chain._recent and not worker.chain._unindexed[1]  # nothing per leaf in the worker's memory
    lib.contract.set_status(lib.org_account(library_env.departments["market"]), bundle["root"], bundle["leaf"],
                            LeafStatus.VALID)  # reinstated
    _index(library_env)
    restarted = Verifier(lib.contract, lib.seal_registry, status_max_age=SERVICE_STATUS_MAX_AGE, leaf_statuses=table)
    assert restarted.verify_bundle(bundle).verdict is Status.VALID


class _NoStatusReads:
    """The contract, except that a per-leaf status read fails the test."""

    def __init__(self, contract: Any) -> None:
        self._contract = contract

    def __getattr__(self, name: str) -> Any:
        if name in ("status_of", "verify"):
            raise AssertionError(f"{name} read per leaf")
        return getattr(self._contract, name)


def test_first_verifications_are_answered_without_the_chain_node_under_a_seen_root(
        library_env: LibraryEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = library_env.lib
    chain = service_verifier(lib).chain
    monkeypatch.setattr(chain, "status_max_age", 60.0)  # no periodic look at revocations during the test
    first, second, changed = _anchored(library_env, 3)
    assert verification_without_chain(lib, first) is None  # a fresh worker: its first look at the chain is due
    assert verify_identifier(lib, first).verdict is Status.VALID
    indexed = _anchored(library_env, 1)[0]  # another root, anchored after that look, then indexed
    _suspend(library_env, changed)
    _index(library_env)
    chain.forget_statuses()
    verify_identifier(lib, first)  # and looked at again (a worker looks every second in service)
    monkeypatch.setattr(chain.contract.client, "call_rpc", None)  # any chain read would fail now
    found = verification_without_chain(lib, indexed)  # its anchor is read from the indexer's table
    assert found is not None and found.verdict is Status.VALID
    result = verification_without_chain(lib, second)
    assert result is not None and result.verdict is Status.VALID
    assert verification_without_chain(lib, second) is result  # and remembered
    suspended = verification_without_chain(lib, changed)
    assert suspended is not None and suspended.check("status").reason == "suspended"


def test_a_worker_warmed_at_start_answers_first_verifications_without_the_chain_node(
        library_env: LibraryEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = library_env.lib
    first, second = _anchored(library_env, 2)
    _index(library_env)
    monkeypatch.delitem(service._service_verifiers, lib, raising=False)  # a fresh worker
    assert verification_without_chain(lib, first) is None  # it would have to ask the chain node first
    monkeypatch.delitem(service._service_verifiers, lib)  # another fresh worker, warmed as api.app's start does
    warm_service_verifier(lib)
    chain = service_verifier(lib).chain
    monkeypatch.setattr(chain, "status_max_age", 60.0)  # no periodic look at status events during the test
    monkeypatch.setattr(chain.contract.client, "call_rpc", None)  # any chain read would fail now
    for identifier in (first, second):
        result = verification_without_chain(lib, identifier)
        assert result is not None and result.verdict is Status.VALID


@pytest.mark.chains()
def test_eight_thousand_changes_in_a_few_transactions_are_indexed(library_env: LibraryEnv) -> None:
    lib, market = library_env.lib, library_env.departments["market"]
    identifier = _anchored(library_env, 1)[0]
    root = export_bundle(lib, identifier)["root"]
    leaves = [secrets.token_bytes(32) for _ in range(8_000)]
    account = lib.org_account(market)
    lib.contract.set_status_many(account, [(root, leaf) for leaf in leaves], LeafStatus.SUSPENDED, chunk_size=2_000)
    lib.contract.set_status_many(account, [(root, leaf) for leaf in leaves[:100]], LeafStatus.REVOKED, reason=3)
    indexer = chain_indexer(lib)
    start = time.perf_counter()
    events = indexer.run_until_head()
    seconds = time.perf_counter() - start
    assert events >= 8_100, events
    with lib.sessions() as session:
        rows = {row.leaf: row for row in session.scalars(
            select(ChainLeafStatus).where(ChainLeafStatus.root == bytes.fromhex(root[2:])))}
    assert len(rows) == 8_000
    for leaf in leaves[:5] + random.sample(leaves, 45):  # a later change of the same leaf wins
        assert int(rows[leaf].status) == lib.contract.status_of(market.chain_address, root, leaf), leaf.hex()
    assert rows[leaves[0]].reason == "3" and rows[leaves[-1]].reason == "0"
    assert seconds < 20, f"{events} events in {seconds:.1f} s"
