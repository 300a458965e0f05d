"""Chain accounts whose secp256k1 key is in a SoftHSM2 token: signatures eth-account recovers, transactions
a real chain node mines."""

import os

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.typed_transactions import TypedTransaction
from pkcs11 import Attribute

from ledger.chain.contract import BatchKind, LedgerContract, OrgKind
from ledger.core.errors import BadInput, CertledgerError
from signer.chain_key import SECP256K1_N, TokenAccount
from signer.pkcs11_keystore import Pkcs11Token

pytestmark = pytest.mark.chains("anvil", "hardhat", "besu")

CHAIN_ID = 31337
EIP1559 = {"to": "0x09616C3d61b3331fc4109a9E41a8BDB7d9776609", "value": 5, "gas": 21000, "maxFeePerGas": 2_000_000_000,
           "maxPriorityFeePerGas": 1_000_000_000, "nonce": 7, "chainId": CHAIN_ID, "data": "0x616263"}
LEGACY = {"to": "0x09616C3d61b3331fc4109a9E41a8BDB7d9776609", "value": 5, "gas": 21000, "gasPrice": 1_000_000_000,
          "nonce": 7, "chainId": CHAIN_ID}


@pytest.fixture(scope="module")
def token(softhsm) -> Pkcs11Token:
    return Pkcs11Token.from_env(softhsm)


@pytest.fixture(scope="module")
def account(token) -> TokenAccount:
    return TokenAccount.generate(token, "chain-test-org")


def test_secp256k1_key_is_made_in_the_token(token, account) -> None:
    private, public = token.find_key_pair("chain-test-org")
    assert public[Attribute.EC_PARAMS] == bytes.fromhex("06052b8104000a")  # namedCurve secp256k1
    assert private[Attribute.NEVER_EXTRACTABLE] and not private[Attribute.EXTRACTABLE]
    assert TokenAccount.load(token, "chain-test-org").address == account.address
    with pytest.raises(CertledgerError) as e:
        TokenAccount.generate(token, "chain-test-org")
    assert e.value.code == "seal_key_exists"


@pytest.mark.parametrize("tx", [EIP1559, LEGACY, {k: v for k, v in LEGACY.items() if k != "chainId"}],
                         ids=["eip1559", "legacy-eip155", "legacy-pre-eip155"])
def test_transactions_recover_to_the_token_address(account, tx) -> None:
    recovery_ids = set()
    for nonce in range(24):  # both recovery ids turn up; every s is in the lower half
        signed = account.sign_transaction({**tx, "nonce": nonce, "from": account.address})
        assert Account.recover_transaction(signed.raw_transaction) == account.address
        assert 0 < signed.s <= SECP256K1_N // 2
        recovery_ids.add(signed.v if "maxFeePerGas" in tx else (signed.v - 35 - 2 * CHAIN_ID if "chainId" in tx
                                                                  else signed.v - 27))
    assert recovery_ids == {0, 1}
    if "maxFeePerGas" in tx:
        decoded = TypedTransaction.from_bytes(signed.raw_transaction).as_dict()
        assert decoded["maxFeePerGas"] == tx["maxFeePerGas"] and decoded["chainId"] == CHAIN_ID


def test_messages_and_refusals(account, token) -> None:
    signed = account.sign_message(encode_defunct(text="城市电子证照"))
    assert Account.recover_message(encode_defunct(text="城市电子证照"), signature=signed.signature) == account.address
    with pytest.raises(BadInput) as e:
        account.sign_transaction({**EIP1559, "from": Account.create().address})
    assert e.value.code == "transaction_sender_mismatch"
    seal_key = "p256-not-for-chain"
    token.generate_ec_key_pair(seal_key, "1.2.840.10045.3.1.7")
    with pytest.raises(CertledgerError) as e:
        TokenAccount.load(token, seal_key)
    assert e.value.code == "hsm_key_curve"


def test_token_accounts_deploy_register_and_anchor_on_chain(chain, chain_kind: str, token) -> None:
    """ChainClient.transact takes a TokenAccount where it takes a LocalAccount: the contract's admin and an
    organisation both live in the token, and their transactions are mined."""
    admin = TokenAccount.generate(token, f"chain-test-admin-{chain_kind}")
    department = TokenAccount.generate(token, f"chain-test-department-{chain_kind}")
    contract, deployment = LedgerContract.deploy(chain, admin)
    assert chain.w3.eth.get_transaction(deployment.tx_hash)["from"] == admin.address
    contract.register_organization(admin, department.address, OrgKind.DEPARTMENT, "11430000006122244L", os.urandom(32))
    root = os.urandom(32)
    anchored = contract.anchor(department, root, 3, BatchKind.CERTIFICATES)
    assert chain.w3.eth.get_transaction_receipt(anchored.tx_hash)["status"] == 1
    assert contract.anchor_of(department.address, root).issuer == department.address
    # a legacy transaction, signed by the token and sent raw
    nonce = chain.w3.eth.get_transaction_count(department.address)
    signed = department.sign_transaction({"to": admin.address, "value": 0, "gas": 21000, "gasPrice": 0,
                                          "nonce": nonce, "chainId": chain.chain_id})
    receipt = chain.w3.eth.wait_for_transaction_receipt(chain.w3.eth.send_raw_transaction(signed.raw_transaction))
    assert receipt["status"] == 1 and receipt["from"] == department.address
