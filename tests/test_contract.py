"""The ledger contract on real nodes (Anvil and Hardhat), through the Python chain layer and around it."""

from __future__ import annotations

import os
import threading
import time

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.chain.client import ChainClient
from ledger.chain.contract import BatchKind, LedgerContract, OrgKind
from ledger.core.errors import BadInput, ChainRevert, Forbidden, NotFound
from ledger.core.merkle import digest_leaf_hash
from ledger.core.statuses import LeafStatus
from tests.fixtures.chain import start_test_chain
from tests.fixtures.merkle import tree_with_proofs

pytestmark = pytest.mark.chains("anvil", "hardhat", "besu")


def register(contract: LedgerContract, admin: LocalAccount, kind: OrgKind = OrgKind.DEPARTMENT) -> LocalAccount:
    account = Account.create()
    contract.register_organization(admin, account.address, kind, "11430100851952982H", os.urandom(32))
    return account


def raw_send(contract: LedgerContract, account: LocalAccount, fn) -> None:
    """A transaction with fixed gas: no estimate, no Python check, only the contract decides."""
    contract._send(account, fn, gas=300_000)


@pytest.fixture
def issuer(ledger_contract: LedgerContract, admin: LocalAccount) -> LocalAccount:
    return register(ledger_contract, admin)


def test_anchor_then_verify_a_merkle_proof_on_chain(ledger_contract: LedgerContract, issuer: LocalAccount) -> None:
    leaves = [digest_leaf_hash(os.urandom(32)) for _ in range(37)]
    tree, proofs = tree_with_proofs(leaves)
    tx = ledger_contract.anchor(issuer, tree.root, len(leaves), BatchKind.CERTIFICATES)
    assert tx.gas_used <= 60_000

    anchor = ledger_contract.anchor_of(tree.root)
    assert anchor is not None
    assert (anchor.issuer, anchor.leaf_count, anchor.kind, anchor.block_number) == (
        issuer.address, 37, BatchKind.CERTIFICATES, tx.block_number,
    )
    for i in (0, 17, 36):
        result = ledger_contract.verify(tree.root, leaves[i], proofs[i])
        assert result.included and result.issuer == issuer.address
        assert (result.block_number, result.timestamp, result.status) == (tx.block_number, tx.block_time, 1)
    wrong = ledger_contract.verify(tree.root, leaves[0], proofs[1])
    assert not wrong.included


def test_status_changes_and_transitions(ledger_contract: LedgerContract, issuer: LocalAccount) -> None:
    root, leaf = os.urandom(32), os.urandom(32)
    ledger_contract.anchor(issuer, root, 10, BatchKind.CERTIFICATES)
    assert ledger_contract.status_of(root, leaf) == LeafStatus.VALID

    tx = ledger_contract.set_status(issuer, root, leaf, LeafStatus.SUSPENDED, reason=12)
    assert tx.gas_used <= 55_000
    assert ledger_contract.status_of(root, leaf) == LeafStatus.SUSPENDED
    ledger_contract.set_status(issuer, root, leaf, LeafStatus.VALID)
    assert ledger_contract.status_of(root, leaf) == LeafStatus.VALID
    ledger_contract.set_status(issuer, root, leaf, LeafStatus.REVOKED)
    with pytest.raises(ChainRevert) as err:
        ledger_contract.set_status(issuer, root, leaf, LeafStatus.VALID)
    assert err.value.error_name == "StatusTransitionNotAllowed"

    many = [(root, os.urandom(32)) for _ in range(50)]
    results = ledger_contract.set_status_many(issuer, many, LeafStatus.CANCELLED, reason=4)
    assert len(results) == 1 and results[0].gas_used / 50 <= 30_000
    assert {ledger_contract.status_of(r, leaf) for r, leaf in many} == {LeafStatus.CANCELLED}


def test_contract_itself_refuses_outsiders(ledger_contract: LedgerContract, admin: LocalAccount, issuer: LocalAccount) -> None:
    fns = ledger_contract.contract.functions
    root = os.urandom(32)
    ledger_contract.anchor(issuer, root, 3, BatchKind.CERTIFICATES)

    outsider = Account.create()
    with pytest.raises(ChainRevert) as err:
        raw_send(ledger_contract, outsider, fns.anchor(os.urandom(32), 3, int(BatchKind.CERTIFICATES)))
    assert err.value.error_name == "UnknownOrganization"

    other_issuer = register(ledger_contract, admin)
    with pytest.raises(ChainRevert) as err:
        raw_send(ledger_contract, other_issuer, fns.setStatus(root, os.urandom(32), int(LeafStatus.REVOKED), 0))
    assert err.value.error_name == "NotRootIssuer"

    with pytest.raises(ChainRevert) as err:
        raw_send(ledger_contract, issuer, fns.registerOrganization(outsider.address, 1, os.urandom(32), os.urandom(32)))
    assert err.value.error_name == "AccessControlUnauthorizedAccount"

    association = register(ledger_contract, admin, OrgKind.ASSOCIATION)
    with pytest.raises(ChainRevert) as err:
        raw_send(ledger_contract, association, fns.anchor(os.urandom(32), 3, int(BatchKind.CERTIFICATES)))
    assert err.value.error_name == "BatchKindNotAllowed"

    ledger_contract.deactivate(admin, issuer.address)
    for fn in (fns.anchor(os.urandom(32), 3, int(BatchKind.CERTIFICATES)), fns.setStatus(root, os.urandom(32), 3, 0)):
        with pytest.raises(ChainRevert) as err:
            raw_send(ledger_contract, issuer, fn)
        assert err.value.error_name == "OrganizationInactive"
    ledger_contract.reactivate(admin, issuer.address)
    ledger_contract.anchor(issuer, os.urandom(32), 1, BatchKind.CERTIFICATES)


def test_a_root_is_anchored_once(ledger_contract: LedgerContract, issuer: LocalAccount, admin: LocalAccount) -> None:
    root = os.urandom(32)
    ledger_contract.anchor(issuer, root, 1, BatchKind.CERTIFICATES)
    for who in (issuer, register(ledger_contract, admin)):
        with pytest.raises(ChainRevert) as err:
            ledger_contract.anchor(who, root, 1, BatchKind.CERTIFICATES)
        assert err.value.error_name == "RootAlreadyAnchored"


def test_seal_rotation_and_organization_view(ledger_contract: LedgerContract, admin: LocalAccount, issuer: LocalAccount) -> None:
    before = ledger_contract.organization(issuer.address)
    assert before is not None and before.active and before.kind is OrgKind.DEPARTMENT
    new_fp = os.urandom(32)
    ledger_contract.rotate_seal(admin, issuer.address, new_fp)
    after = ledger_contract.organization(issuer.address)
    assert after is not None and after.seal_fingerprint == new_fp and after.org_id == before.org_id
    with pytest.raises(ChainRevert) as err:
        ledger_contract.rotate_seal(admin, issuer.address, new_fp)
    assert err.value.error_name == "SameSealFingerprint"
    assert ledger_contract.organization(Account.create().address) is None


@pytest.mark.parametrize(
    "call, code",
    [
        (lambda c, a: c.anchor(a, "0x1234", 1, BatchKind.CERTIFICATES), "root_malformed"),
        (lambda c, a: c.anchor(a, "zz" * 32, 1, BatchKind.CERTIFICATES), "root_malformed"),
        (lambda c, a: c.anchor(a, bytes(32), 1, BatchKind.CERTIFICATES), "root_malformed"),
        (lambda c, a: c.anchor(a, os.urandom(32), 0, BatchKind.CERTIFICATES), "empty_batch"),
        (lambda c, a: c.verify(os.urandom(32), os.urandom(32), [b"short"]), "proof_element_malformed"),
        (lambda c, a: c.verify(os.urandom(32), os.urandom(32), "0x" + "00" * 32), "proof_malformed"),
        (lambda c, a: c.set_status(a, os.urandom(32), os.urandom(32), LeafStatus.REVOKED), "root_unknown"),
        (lambda c, a: c.set_status(a, os.urandom(32), os.urandom(32), 5), "status_unknown"),
        (lambda c, a: c.set_status(a, os.urandom(32), os.urandom(32), 42), "status_unknown"),
        (lambda c, a: c.set_status_many(a, [], LeafStatus.REVOKED), "empty_batch"),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(
    ledger_contract: LedgerContract, chain: ChainClient, issuer: LocalAccount, call, code: str
) -> None:
    block = chain.w3.eth.block_number
    with pytest.raises((BadInput, NotFound)) as err:
        call(ledger_contract, issuer)
    assert err.value.code == code and err.value.message
    assert chain.w3.eth.block_number == block
    assert chain.w3.eth.get_transaction_count(issuer.address) == 0


def test_status_change_on_another_issuers_root_is_refused_in_python(
    ledger_contract: LedgerContract, admin: LocalAccount, issuer: LocalAccount
) -> None:
    root = os.urandom(32)
    ledger_contract.anchor(issuer, root, 1, BatchKind.CERTIFICATES)
    other = register(ledger_contract, admin)
    with pytest.raises(Forbidden) as err:
        ledger_contract.set_status(other, root, os.urandom(32), LeafStatus.REVOKED)
    assert err.value.code == "not_root_issuer"


def test_one_sender_from_many_threads(ledger_contract: LedgerContract, issuer: LocalAccount) -> None:
    roots = [os.urandom(32) for _ in range(24)]
    errors: list[BaseException] = []

    def anchor(root: bytes) -> None:
        try:
            ledger_contract.anchor(issuer, root, 1, BatchKind.CERTIFICATES)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=anchor, args=(r,)) for r in roots]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(ledger_contract.anchor_of(r) is not None for r in roots)


@pytest.fixture(scope="module")
def interval_node(tmp_path_factory: pytest.TempPathFactory, chain_kind: str):
    """A node that mines on a timer: reverting transactions are mined with status 0, as on Besu."""
    url, close = start_test_chain(chain_kind, tmp_path_factory.mktemp(f"{chain_kind}-interval"), block_time=0.3)
    yield url
    close()


def test_mined_revert_and_confirmations(interval_node: str) -> None:
    client = ChainClient(interval_node, confirmations=2)
    admin = Account.create()
    contract, deployment = LedgerContract.deploy(client, admin)
    assert client.w3.eth.block_number >= deployment.block_number + 1

    outsider = Account.create()
    with pytest.raises(ChainRevert) as err:
        raw_send(contract, outsider, contract.contract.functions.anchor(os.urandom(32), 1, 1))
    assert err.value.error_name == "UnknownOrganization"
    # the transaction was mined (its nonce is used) and failed: the reason came from replaying it
    assert client.w3.eth.get_transaction_count(outsider.address) == 1



def _transfers(client: ChainClient, after: LocalAccount, count: int) -> None:
    """Once ``after`` has a mined transaction, mine ``count`` blocks that change state (Anvil prunes a state only
    when later blocks change it)."""
    sender = Account.create()
    while client.w3.eth.get_transaction_count(after.address) == 0:
        time.sleep(0.02)
    for nonce in range(count):
        signed = sender.sign_transaction({"to": Account.create().address, "value": 0, "gas": 21_000, "gasPrice": 0,
                                          "nonce": nonce, "chainId": client.chain_id})
        client.w3.eth.wait_for_transaction_receipt(client.w3.eth.send_raw_transaction(signed.raw_transaction))


def test_mined_revert_read_long_after_its_block(ledger_contract: LedgerContract, rpc_url: str) -> None:
    """Anvil keeps only the 16 newest states: 20 confirmations and 25 busy blocks after a mined revert, the state
    before its block is gone, so its reason is read on the latest state (not a bare "node refused")."""
    slow = LedgerContract(ChainClient(rpc_url, confirmations=20), ledger_contract.address)
    outsider = Account.create()
    busy = threading.Thread(target=_transfers, args=(slow.client, outsider, 25))
    busy.start()
    try:
        with pytest.raises(ChainRevert) as err:
            raw_send(slow, outsider, slow.contract.functions.anchor(os.urandom(32), 1, 1))
    finally:
        busy.join()
    assert err.value.error_name == "UnknownOrganization"
