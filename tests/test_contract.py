"""The ledger contract (v2) on real nodes (Anvil, Hardhat, and Anvil behind Besu's limits), through the Python
chain layer and around it: one test per rule of issue 10's contract review (each fails on the v1 contract), and
the rules v2 keeps."""

from __future__ import annotations

import os
import threading
import time

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from ledger.chain.client import ChainClient
from ledger.chain.contract import BatchKind, LedgerContract, OrgKind, uscc_hash
from ledger.core.errors import BadInput, ChainRevert, NotFound
from ledger.core.merkle import digest_leaf_hash
from ledger.core.statuses import LeafStatus
from tests.fixtures.chain import start_test_chain
from tests.fixtures.merkle import tree_with_proofs

pytestmark = pytest.mark.chains("anvil", "hardhat", "besu")

ISSUER_ROLE = keccak(text="ISSUER_ROLE")
DEFAULT_ADMIN_ROLE = bytes(32)
CODES = iter(f"1143010085195{n:04d}" for n in range(10_000))


def register(contract: LedgerContract, admin: LocalAccount, kind: OrgKind = OrgKind.DEPARTMENT, *,
             code: str | None = None, seal: bytes | None = None) -> LocalAccount:
    account = Account.create()
    contract.register_organization(admin, account.address, kind, code or next(CODES), seal or os.urandom(32))
    return account


def raw_send(contract: LedgerContract, account: LocalAccount, fn) -> None:
    """A transaction with fixed gas: no estimate, no Python check, only the contract decides."""
    contract._send(account, fn, gas=500_000)


def refused(contract: LedgerContract, account: LocalAccount, fn) -> str:
    """The name of the contract error that refuses ``fn`` sent by ``account``."""
    with pytest.raises(ChainRevert) as err:
        raw_send(contract, account, fn)
    return err.value.error_name


@pytest.fixture
def issuer(ledger_contract: LedgerContract, admin: LocalAccount) -> LocalAccount:
    return register(ledger_contract, admin)


def test_anchor_then_verify_a_merkle_proof_on_chain(ledger_contract: LedgerContract, issuer: LocalAccount) -> None:
    leaves = [digest_leaf_hash(os.urandom(32)) for _ in range(37)]
    tree, proofs = tree_with_proofs(leaves)
    tx = ledger_contract.anchor(issuer, tree.root, len(leaves), BatchKind.CERTIFICATES)
    assert tx.gas_used <= 50_336

    anchor = ledger_contract.anchor_of(issuer.address, tree.root)
    assert anchor is not None
    assert (anchor.issuer, anchor.leaf_count, anchor.kind, anchor.block_number, anchor.seal_epoch) == (
        issuer.address, 37, BatchKind.CERTIFICATES, tx.block_number, 1)
    for i in (0, 17, 36):
        result = ledger_contract.verify(issuer.address, tree.root, leaves[i], proofs[i])
        assert result.included and result.anchored and result.seal_fingerprint == anchor.seal_fingerprint
        assert (result.block_number, result.timestamp, result.status, result.seal_compromise_time) == (
            tx.block_number, tx.block_time, 1, 0)
    wrong = ledger_contract.verify(issuer.address, tree.root, leaves[0], proofs[1])
    assert not wrong.included and wrong.status == 0


def test_status_changes_and_transitions(ledger_contract: LedgerContract, issuer: LocalAccount) -> None:
    root, leaf = os.urandom(32), os.urandom(32)
    ledger_contract.anchor(issuer, root, 10, BatchKind.CERTIFICATES)
    assert ledger_contract.status_of(issuer.address, root, leaf) == LeafStatus.VALID

    tx = ledger_contract.set_status(issuer, root, leaf, LeafStatus.SUSPENDED, reason=12)
    assert tx.gas_used <= 52_399
    assert ledger_contract.status_of(issuer.address, root, leaf) == LeafStatus.SUSPENDED
    ledger_contract.set_status(issuer, root, leaf, LeafStatus.VALID)
    assert ledger_contract.status_of(issuer.address, root, leaf) == LeafStatus.VALID
    ledger_contract.set_status(issuer, root, leaf, LeafStatus.REVOKED)
    with pytest.raises(ChainRevert) as err:
        ledger_contract.set_status(issuer, root, leaf, LeafStatus.VALID)
    assert err.value.error_name == "StatusTransitionNotAllowed"

    other_root = os.urandom(32)
    ledger_contract.anchor(issuer, other_root, 10, BatchKind.CERTIFICATES)
    many = [(r, os.urandom(32)) for r in (root, other_root) for _ in range(25)]
    results = ledger_contract.set_status_many(issuer, many, LeafStatus.CANCELLED, reason=4)
    assert len(results) == 1 and results[0].gas_used / 50 <= 26_230
    assert {ledger_contract.status_of(issuer.address, r, leaf) for r, leaf in many} == {LeafStatus.CANCELLED}


def test_revoking_or_renouncing_the_role_stops_the_account(ledger_contract: LedgerContract, admin: LocalAccount,
                                                           issuer: LocalAccount) -> None:
    """Item 1: the role is the only write permission; v1 kept writing from the organization registry."""
    fns = ledger_contract.contract.functions
    root = os.urandom(32)
    ledger_contract.anchor(issuer, root, 2, BatchKind.CERTIFICATES)
    raw_send(ledger_contract, admin, fns.revokeRole(ISSUER_ROLE, issuer.address))
    for fn in (fns.anchor(os.urandom(32), 1, 1), fns.setStatus(root, os.urandom(32), 3, 0),
               fns.setStatusMany([root], [[os.urandom(32)]], 3, 0)):
        assert refused(ledger_contract, issuer, fn) == "OrganizationInactive"
    assert not ledger_contract.organization(issuer.address).active

    raw_send(ledger_contract, admin, fns.grantRole(ISSUER_ROLE, issuer.address))  # granting it back reactivates
    ledger_contract.anchor(issuer, os.urandom(32), 1, BatchKind.CERTIFICATES)
    raw_send(ledger_contract, issuer, fns.renounceRole(ISSUER_ROLE, issuer.address))
    assert refused(ledger_contract, issuer, fns.anchor(os.urandom(32), 1, 1)) == "OrganizationInactive"
    assert not ledger_contract.organization(issuer.address).active
    # the role goes only to a registered organization of its kind, so the two never disagree
    association = register(ledger_contract, admin, OrgKind.ASSOCIATION)
    for who in (Account.create().address, association.address):
        assert refused(ledger_contract, admin, fns.grantRole(ISSUER_ROLE, who)) == "RoleNotOfOrganizationKind"


def test_unknown_roots_have_status_none(ledger_contract: LedgerContract, admin: LocalAccount,
                                        issuer: LocalAccount) -> None:
    """Item 2: v1 answered 1 (valid) for a root never anchored."""
    root, leaf = os.urandom(32), os.urandom(32)
    assert ledger_contract.status_of(issuer.address, root, leaf) == 0
    answer = ledger_contract.verify(issuer.address, root, leaf, [])
    assert (answer.included, answer.anchored, answer.status) == (False, False, 0)
    other = register(ledger_contract, admin)
    ledger_contract.anchor(other, root, 1, BatchKind.CERTIFICATES)
    assert ledger_contract.status_of(other.address, root, leaf) == LeafStatus.VALID
    assert ledger_contract.status_of(issuer.address, root, leaf) == 0  # another's anchor is not this issuer's
    assert ledger_contract.anchor_of(issuer.address, root) is None


def test_the_zero_root_is_no_hole(ledger_contract: LedgerContract, issuer: LocalAccount, chain: ChainClient) -> None:
    """Item 3: v1's setStatusMany skipped the writer check for the zero root and emitted StatusChanged."""
    fns = ledger_contract.contract.functions
    zero, leaf = bytes(32), os.urandom(32)
    outsider = Account.create()
    assert refused(ledger_contract, outsider, fns.setStatusMany([zero], [[leaf]], 3, 0)) == "UnknownOrganization"
    assert refused(ledger_contract, issuer, fns.setStatusMany([zero], [[leaf]], 3, 0)) == "UnknownRoot"
    assert refused(ledger_contract, issuer, fns.setStatus(zero, leaf, 3, 0)) == "UnknownRoot"
    assert refused(ledger_contract, issuer, fns.anchor(zero, 1, 1)) == "ZeroRoot"
    assert ledger_contract.status_of(issuer.address, zero, leaf) == 0


def test_a_root_anchored_by_another_organization_blocks_nothing(ledger_contract: LedgerContract, admin: LocalAccount,
                                                               issuer: LocalAccount) -> None:
    """Item 4: in v1 roots were one global key, so a front-runner's anchor left the victim's batch stuck."""
    leaves = [digest_leaf_hash(os.urandom(32)) for _ in range(2)]
    tree, proofs = tree_with_proofs(leaves)
    front_runner = register(ledger_contract, admin)
    ledger_contract.anchor(front_runner, tree.root, 2, BatchKind.CERTIFICATES)  # seen in the mempool, sent first
    ledger_contract.anchor(issuer, tree.root, 2, BatchKind.CERTIFICATES)
    assert ledger_contract.anchor_of(issuer.address, tree.root).issuer == issuer.address
    ledger_contract.set_status(front_runner, tree.root, leaves[0], LeafStatus.REVOKED)  # on its own anchor only
    mine = ledger_contract.verify(issuer.address, tree.root, leaves[0], proofs[0])
    assert mine.included and mine.status == LeafStatus.VALID
    assert ledger_contract.status_of(front_runner.address, tree.root, leaves[0]) == LeafStatus.REVOKED


def test_admin_transfer_takes_two_steps_and_waits_the_delay(chain: ChainClient) -> None:
    """Item 5: v1 had one admin account and a one-step transfer."""
    admin, successor = Account.create(), Account.create()
    contract, _ = LedgerContract.deploy(chain, admin, admin_delay=2)
    fns = contract.contract.functions
    assert refused(contract, admin, fns.grantRole(DEFAULT_ADMIN_ROLE, successor.address)) == \
        "AccessControlEnforcedDefaultAdminRules"
    raw_send(contract, admin, fns.beginDefaultAdminTransfer(successor.address))
    assert refused(contract, successor, fns.acceptDefaultAdminTransfer()) == "AccessControlEnforcedDefaultAdminDelay"
    assert fns.defaultAdmin().call() == admin.address  # the admin stays until the successor accepts
    _, schedule = fns.pendingDefaultAdmin().call()
    time.sleep(max(0.0, schedule - time.time()) + 2.5)  # block times are whole seconds, up to ~1.5 s behind
    raw_send(contract, successor, fns.acceptDefaultAdminTransfer())
    assert fns.defaultAdmin().call() == successor.address
    assert not fns.hasRole(DEFAULT_ADMIN_ROLE, admin.address).call()
    with pytest.raises(BadInput):
        LedgerContract.deploy(chain, admin, admin_delay=-1)


def test_one_active_account_per_credit_code(ledger_contract: LedgerContract, admin: LocalAccount) -> None:
    """Item 6: v1 let the admin register a second account for a credit code that had one."""
    code = next(CODES)
    first = register(ledger_contract, admin, code=code)
    second = Account.create()
    fns = ledger_contract.contract.functions
    register_second = fns.registerOrganization(second.address, 1, uscc_hash(code), os.urandom(32))
    assert refused(ledger_contract, admin, register_second) == "CreditCodeHasActiveAccount"
    ledger_contract.deactivate(admin, first.address)  # replacing an account: deactivate the old one first
    raw_send(ledger_contract, admin, register_second)
    assert ledger_contract.accounts_of(uscc_hash(code)) == [first.address, second.address]
    assert refused(ledger_contract, admin, fns.reactivateOrganization(first.address)) == "CreditCodeHasActiveAccount"
    assert refused(ledger_contract, admin, fns.grantRole(ISSUER_ROLE, first.address)) == "CreditCodeHasActiveAccount"


def test_an_anchor_carries_the_seal_current_at_its_block(ledger_contract: LedgerContract, admin: LocalAccount) -> None:
    """Item 7: v1 accepted any fingerprint ever registered; v2 records the current one in each anchor."""
    seal_1, seal_2 = os.urandom(32), os.urandom(32)
    dept = register(ledger_contract, admin, seal=seal_1)
    r1, r2 = os.urandom(32), os.urandom(32)
    ledger_contract.anchor(dept, r1, 1, BatchKind.CERTIFICATES)
    ledger_contract.rotate_seal(admin, dept.address, seal_2)
    ledger_contract.anchor(dept, r2, 1, BatchKind.CERTIFICATES)
    assert (ledger_contract.anchor_of(dept.address, r1).seal_fingerprint, ledger_contract.anchor_of(dept.address, r1)
            .seal_epoch) == (seal_1, 1)
    assert (ledger_contract.anchor_of(dept.address, r2).seal_fingerprint, ledger_contract.anchor_of(dept.address, r2)
            .seal_epoch) == (seal_2, 2)
    org = ledger_contract.organization(dept.address)
    assert (org.seal_epoch, org.seal_fingerprint, org.seal_revoked) == (2, seal_2, False)
    for who in (dept, register(ledger_contract, admin)):  # a rotated-out seal never comes back, for anyone
        with pytest.raises(ChainRevert) as err:
            ledger_contract.rotate_seal(admin, who.address, seal_1)
        assert err.value.error_name == "SealAlreadyRegistered"


def test_revoking_a_seal_is_on_chain_and_stops_anchoring_until_rotation(ledger_contract: LedgerContract,
                                                                        admin: LocalAccount) -> None:
    """Seal revocation on chain (issue 10 item 2): v1 had no revokeSeal, so standalone verifiers never saw one."""
    seal_1 = os.urandom(32)
    dept = register(ledger_contract, admin, seal=seal_1)
    root = os.urandom(32)
    ledger_contract.anchor(dept, root, 1, BatchKind.CERTIFICATES)
    when = int(time.time())
    tx = ledger_contract.revoke_seal(admin, dept.address, seal_1, when)
    receipt = ledger_contract.client.w3.eth.get_transaction_receipt(tx.tx_hash)
    (event,) = ledger_contract.contract.events.SealRevoked().process_receipt(receipt)
    assert (event.args.account, event.args.fingerprint, event.args.compromiseTime) == (dept.address, seal_1, when)
    assert ledger_contract.seal(seal_1).compromise_time == when
    assert ledger_contract.verify(dept.address, root, root, []).seal_compromise_time == when
    assert ledger_contract.organization(dept.address).seal_revoked
    fns = ledger_contract.contract.functions
    assert refused(ledger_contract, dept, fns.anchor(os.urandom(32), 1, 1)) == "CurrentSealRevoked"
    ledger_contract.set_status(dept, root, root, LeafStatus.REVOKED)  # it still revokes what the seal sealed
    assert refused(ledger_contract, admin, fns.revokeSeal(dept.address, seal_1, when + 1)) == "SealAlreadyRevoked"
    ledger_contract.revoke_seal(admin, dept.address, seal_1, when - 60)  # an earlier time is accepted
    other = register(ledger_contract, admin)
    assert refused(ledger_contract, admin, fns.revokeSeal(other.address, seal_1, when)) == "SealNotOfOrganization"
    ledger_contract.rotate_seal(admin, dept.address, os.urandom(32))
    ledger_contract.anchor(dept, os.urandom(32), 1, BatchKind.CERTIFICATES)


def test_batch_kind_follows_the_organization_kind(ledger_contract: LedgerContract, admin: LocalAccount,
                                                 issuer: LocalAccount) -> None:
    fns = ledger_contract.contract.functions
    association = register(ledger_contract, admin, OrgKind.ASSOCIATION)
    assert refused(ledger_contract, issuer, fns.anchor(os.urandom(32), 1, 2)) == "BatchKindNotAllowed"
    assert refused(ledger_contract, association, fns.anchor(os.urandom(32), 1, 1)) == "BatchKindNotAllowed"
    ledger_contract.anchor(association, os.urandom(32), 1, BatchKind.REPORT_SUMMARIES)
    assert refused(ledger_contract, Account.create(), fns.anchor(os.urandom(32), 1, 1)) == "UnknownOrganization"
    assert refused(ledger_contract, issuer, fns.registerOrganization(Account.create().address, 1, os.urandom(32),
                                                                     os.urandom(32))) == \
        "AccessControlUnauthorizedAccount"


def test_an_issuer_anchors_a_root_once(ledger_contract: LedgerContract, issuer: LocalAccount) -> None:
    root = os.urandom(32)
    ledger_contract.anchor(issuer, root, 1, BatchKind.CERTIFICATES)
    with pytest.raises(ChainRevert) as err:
        ledger_contract.anchor(issuer, root, 1, BatchKind.CERTIFICATES)
    assert err.value.error_name == "RootAlreadyAnchored"


@pytest.mark.parametrize(
    "call, code",
    [
        (lambda c, a: c.anchor(a, "0x1234", 1, BatchKind.CERTIFICATES), "root_malformed"),
        (lambda c, a: c.anchor(a, "zz" * 32, 1, BatchKind.CERTIFICATES), "root_malformed"),
        (lambda c, a: c.anchor(a, bytes(32), 1, BatchKind.CERTIFICATES), "root_malformed"),
        (lambda c, a: c.anchor(a, os.urandom(32), 0, BatchKind.CERTIFICATES), "empty_batch"),
        (lambda c, a: c.verify(a.address, os.urandom(32), os.urandom(32), [b"short"]), "proof_element_malformed"),
        (lambda c, a: c.verify(a.address, os.urandom(32), os.urandom(32), "0x" + "00" * 32), "proof_malformed"),
        (lambda c, a: c.set_status(a, os.urandom(32), os.urandom(32), LeafStatus.REVOKED), "root_unknown"),
        (lambda c, a: c.set_status(a, os.urandom(32), os.urandom(32), 5), "status_unknown"),
        (lambda c, a: c.set_status(a, os.urandom(32), os.urandom(32), 42), "status_unknown"),
        (lambda c, a: c.set_status_many(a, [], LeafStatus.REVOKED), "empty_batch"),
        (lambda c, a: c.revoke_seal(a, a.address, os.urandom(32), 0), "compromise_time_invalid"),
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
    assert all(ledger_contract.anchor_of(issuer.address, r) is not None for r in roots)


def test_block_times_do_not_run_ahead_of_the_clock(ledger_contract: LedgerContract, issuer: LocalAccount) -> None:
    """A burst of blocks keeps the wall-clock second (Hardhat's allowBlocksWithSameTimestamp): without it each
    block is stamped a second after the previous one, and 40 blocks in a second run 39 s ahead."""
    ahead = []
    for _ in range(40):
        tx = ledger_contract.anchor(issuer, os.urandom(32), 1, BatchKind.CERTIFICATES)
        ahead.append(tx.block_time - time.time())
    assert max(ahead) <= 0.5, ahead


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
