"""A restarted Hardhat node is rebuilt from the transaction journal, block for block."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from eth_account import Account

from ledger.chain.client import ChainClient
from ledger.chain.contract import BatchKind, LedgerContract, OrgKind
from ledger.chain.journal import TxJournal
from ledger.core.errors import ServiceUnavailable
from ledger.core.statuses import LeafStatus
from ledger.devstack.launchers import free_port, start_hardhat, stop
from ledger.devstack.replay import replay


def test_replay_rebuilds_the_same_chain(tmp_path: Path) -> None:
    journal = TxJournal(tmp_path / "journal.jsonl")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    admin, issuer = Account.create(), Account.create()
    root, leaf = os.urandom(32), os.urandom(32)

    proc = start_hardhat(port, tmp_path / "first")
    try:
        client = ChainClient(url, journal=journal)
        contract, deployment = LedgerContract.deploy(client, admin)
        contract.register_organization(admin, issuer.address, OrgKind.DEPARTMENT, "11430100851952982H", os.urandom(32))
        anchored = contract.anchor(issuer, root, 3, BatchKind.CERTIFICATES)
        contract.set_status(issuer, root, leaf, LeafStatus.REVOKED)
        before = contract.anchor_of(issuer.address, root)
    finally:
        stop(proc)

    proc = start_hardhat(port, tmp_path / "second", genesis_date=journal.genesis_date())
    try:
        client = ChainClient(url, journal=journal)
        assert client.w3.eth.get_code(deployment.address) == b""  # a fresh, empty chain
        assert replay(journal, client.w3) == 4
        contract = LedgerContract(client, deployment.address)
        assert contract.anchor_of(issuer.address, root) == before
        assert contract.status_of(issuer.address, root, leaf) == LeafStatus.REVOKED
        receipt = client.w3.eth.get_transaction_receipt(anchored.tx_hash)
        assert receipt["blockNumber"] == anchored.block_number
        assert client.w3.eth.get_block(anchored.block_number)["timestamp"] == anchored.block_time
        with pytest.raises(ServiceUnavailable) as err:
            replay(journal, client.w3)
        assert err.value.code == "journal_replay_on_used_chain"
        contract.anchor(issuer, os.urandom(32), 1, BatchKind.CERTIFICATES)  # the chain goes on
    finally:
        stop(proc)
