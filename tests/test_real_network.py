"""What the city's network (Hyperledger Besu, QBFT, zero gas price) asks of certledger, on nodes that answer like
one (tests/fixtures/besu_proxy.py): log queries paged at ``CERTLEDGER_LOG_RANGE`` and split when a node refuses
their size, confirmations waited for, transactions from accounts that hold no ether. The chain-facing modules
also run whole on such a node (``chain_kind`` ``besu``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import event_abi_to_log_topic
from sqlalchemy import select

from ledger.app.config import Settings
from ledger.app.library import Library
from ledger.app.onboarding import activate_department
from ledger.chain.client import ChainClient
from ledger.chain.contract import BatchKind, LedgerContract, OrgKind
from ledger.chain.logs import log_pages, log_range
from ledger.core.errors import ServiceUnavailable
from ledger.devstack.launchers import free_port, start_chain_node, stop
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import issue_many
from ledger.issue.status_changes import change_status
from ledger.storage.catalogue import import_catalogue
from ledger.storage.engine import migrate
from ledger.storage.models import Batch, CertificateType, Organization
from ledger.verify.platform_trust import export_trust_list
from ledger.verify.service import verify_identifier
from ledger.verify.standalone import verify_bundle_standalone
from ledger.verify.stored import export_bundle
from ledger.verify.trust import load_trust_list
from tests.fixtures.besu_proxy import BesuProxy
from tests.fixtures.library import ACTIVATED, KEY_PASSWORD, TYPES, sample_request


@pytest.fixture(scope="module")
def anchors(ledger_contract: LedgerContract, admin: LocalAccount) -> tuple[LedgerContract, int, list[str]]:
    """Twelve anchors, one transaction each: the contract, the first block, their transaction hashes."""
    issuer = Account.create()
    ledger_contract.register_organization(admin, issuer.address, OrgKind.DEPARTMENT, "11430100MA4L0XYZ1X",
                                          os.urandom(32))
    done = [ledger_contract.anchor(issuer, os.urandom(32), 1, BatchKind.CERTIFICATES) for _ in range(12)]
    return ledger_contract, done[0].block_number, [t.tx_hash for t in done]


def _anchored_query(contract: LedgerContract) -> dict:
    abi = contract.contract.events.Anchored().abi
    return {"address": contract.address, "topics": ["0x" + event_abi_to_log_topic(abi).hex()]}


def _read(url: str, contract: LedgerContract, first: int) -> tuple[list, list[str]]:
    pages = list(log_pages(ChainClient(url), _anchored_query(contract), first))
    return pages, ["0x" + bytes(lg["transactionHash"]).hex() for p in pages for lg in p.logs]


def test_log_queries_are_paged_and_refused_pages_split(anchors, rpc_url: str,  # type: ignore
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    contract, first, sent = anchors
    head = contract.client.w3.eth.block_number
    proxy = BesuProxy(rpc_url, max_range=8, max_results=3)
    try:
        monkeypatch.setenv("CERTLEDGER_LOG_RANGE", "1000")
        pages, found = _read(proxy.url, contract, 0)
        assert [t for t in found if t in sent] == sent  # every anchor, in order, once
        assert pages[0].first == 0 and pages[-1].last >= head
        assert all(b.first == a.last + 1 for a, b in zip(pages, pages[1:]))  # contiguous: resumable from any page
        assert all(p.last - p.first + 1 <= 8 and len(p.logs) <= 3 for p in pages)  # what the node accepted

        proxy.ranges.clear()
        monkeypatch.setenv("CERTLEDGER_LOG_RANGE", "2")
        pages, found = _read(proxy.url, contract, first)
        assert found[:12] == sent and max(proxy.ranges) <= 2 and pages[0].last - pages[0].first + 1 == 2
    finally:
        proxy.close()


def test_a_page_refused_even_at_one_block_is_a_clear_error(anchors, rpc_url: str) -> None:  # type: ignore
    contract, first, _ = anchors
    proxy = BesuProxy(rpc_url, max_results=0)
    try:
        with pytest.raises(ServiceUnavailable) as err:
            _read(proxy.url, contract, first)
        assert err.value.code == "chain_logs_refused" and "CERTLEDGER_LOG_RANGE" in err.value.message
    finally:
        proxy.close()


@pytest.mark.parametrize("value", ["0", "-5", "1e3", "many"])
def test_the_log_range_is_a_positive_number_of_blocks(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CERTLEDGER_LOG_RANGE", value)
    with pytest.raises(ServiceUnavailable) as err:
        log_range()
    assert err.value.code == "log_range_invalid" and "CERTLEDGER_LOG_RANGE" in err.value.message


@pytest.fixture
def besu_like(tmp_path: Path) -> Iterator[BesuProxy]:
    """A long chain that makes a block every 0.2 s with or without transactions (as QBFT does, faster), behind
    Besu's limits."""
    port = free_port()
    node = start_chain_node("anvil", port, tmp_path / "chain", block_time=0.2, state_interval=3600)
    proxy = BesuProxy(f"http://127.0.0.1:{port}")
    proxy.mine(2_500)
    try:
        yield proxy
    finally:
        proxy.close()
        stop(node)


def test_the_library_with_confirmations_and_no_ether(besu_like: BesuProxy, tmp_path: Path, ipfs_api: str) -> None:
    """Issue, anchor, revoke and verify (by the service and standalone) with CERTLEDGER_CONFIRMATIONS=2, on a
    chain with interval mining, Besu's log limits and accounts that hold no ether."""
    settings = Settings(home=tmp_path / "home", rpc_url=besu_like.url, database_url=None, ipfs_api=ipfs_api,
                        key_password=KEY_PASSWORD, light_kdf=True, contract_address=None, confirmations=2)
    lib = Library.from_settings(settings)
    try:
        migrate(lib.engine)
        lib.deploy()
        with lib.sessions() as session:
            import_catalogue(session)
            org = session.scalar(select(Organization).where(Organization.name == ACTIVATED["market"]))
            ctype = session.scalar(select(CertificateType).where(CertificateType.name == TYPES["business_licence"]))
        org = activate_department(lib, org.id)
        issued = issue_many(lib, org, [sample_request(ctype) for _ in range(3)])
        [batch] = Anchorer(lib).run_once(force=True)
        w3 = lib.chain.w3
        assert w3.eth.block_number >= batch.block_number + 1  # the receipt's block and one more
        change_status(lib, org, [issued[0].identifier], "revoke", "吊销测试", actor="test")

        assert verify_identifier(lib, issued[1].identifier).verdict.value == "VALID"
        revoked = verify_identifier(lib, issued[0].identifier).to_dict()
        assert revoked["verdict"] == "INVALID"
        assert next(c for c in revoked["checks"] if c["name"] == "status")["reason"] == "revoked", revoked
        trust = load_trust_list(export_trust_list(lib))
        for cert, verdict in ((issued[1], "VALID"), (issued[0], "INVALID")):
            bundle = export_bundle(lib, cert.identifier)
            assert verify_bundle_standalone(bundle, besu_like.url, trust).verdict.value == verdict

        with lib.sessions() as session:
            tx = session.scalar(select(Batch.tx_hash).where(Batch.id == batch.id))
        assert w3.eth.get_transaction_receipt(tx)["effectiveGasPrice"] == 0
        assert w3.eth.get_balance(org.chain_address) == 0 and w3.eth.get_balance(lib.admin_account().address) == 0
        assert besu_like.calls["eth_getLogs"] and max(besu_like.ranges) <= 1000
    finally:
        lib.close()
