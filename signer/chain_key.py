"""Organisation chain accounts whose secp256k1 key lives in a PKCS#11 token.

``TokenAccount`` is an ``eth_account`` account (``BaseAccount``): ``address`` and ``sign_transaction``
return what ``LocalAccount`` returns, so ``ledger.chain.client.ChainClient.transact`` sends its transactions
unchanged. The token signs the 32-byte hash with CKM_ECDSA (SoftHSM2 2.6 makes secp256k1 key pairs from
CKA_EC_PARAMS = OID 1.3.132.0.10); Ethereum wants more than ECDSA gives: s in the lower half of the
curve order (EIP-2) and the recovery id, found by recovering the public key with each candidate and
keeping the one that gives the token's key. Transactions are encoded by eth-account itself (its
``sign_transaction_dict``, handed a key object whose ``sign_msg_hash`` asks the token), so legacy,
EIP-2930, EIP-1559 and blob transactions come out exactly as eth-account would sign them. eth_keys recovers in pure
Python here (no coincurve), so a token transaction signs at ~50/s on one core (a LocalAccount ~110/s).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asn1crypto.keys import PublicKeyInfo
from eth_account._utils.signing import sign_message_hash, sign_transaction_dict
from eth_account.datastructures import SignedMessage, SignedTransaction
from eth_account.messages import SignableMessage, _hash_eip191_message
from eth_account.signers.base import BaseAccount
from eth_keys.datatypes import PublicKey, Signature
from eth_typing import ChecksumAddress, Hash32
from eth_utils import keccak
from hexbytes import HexBytes

from ledger.core.errors import BadInput, CertledgerError

from .keystore import check_key_id
from .pkcs11_keystore import SECP256K1_OID, Pkcs11Token, TokenKey, token_key

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_CHAIN_CURVES = {SECP256K1_OID: "secp256k1"}


class _TokenEthKey:
    """What eth-account's signing helpers need of a key: ``sign_msg_hash`` returning an eth_keys Signature."""

    def __init__(self, key: TokenKey, public_key: PublicKey) -> None:
        self._key = key
        self.public_key = public_key

    def sign_msg_hash(self, msg_hash: bytes) -> Signature:
        raw = self._key.sign_digest(bytes(msg_hash))
        r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        if s > SECP256K1_N // 2:  # EIP-2: only low s is valid in a transaction
            s = SECP256K1_N - s
        for v in (0, 1):
            signature = Signature(vrs=(v, r, s))
            if signature.recover_public_key_from_msg_hash(msg_hash) == self.public_key:
                return signature
        raise CertledgerError("hsm_signature_unrecoverable",
                              f"the token's signature with key {self._key.label!r} recovers to neither candidate "
                              "public key: the token did not sign with this key over secp256k1")


class TokenAccount(BaseAccount):
    """A chain account of an organisation, its key generated in and kept by a PKCS#11 token."""

    def __init__(self, key: TokenKey) -> None:
        point = PublicKeyInfo.load(key.spki_der)["public_key"].native  # uncompressed: 04 || x || y
        self._eth_key = _TokenEthKey(key, PublicKey(point[1:]))
        self._address = self._eth_key.public_key.to_checksum_address()

    @classmethod
    def generate(cls, token: Pkcs11Token, key_id: str) -> TokenAccount:
        """A new account: a secp256k1 key pair made in the token, labelled ``key_id``."""
        private, public = token.generate_ec_key_pair(check_key_id(key_id), SECP256K1_OID)
        return cls(TokenKey(key_id, "secp256k1", private, public))

    @classmethod
    def load(cls, token: Pkcs11Token, key_id: str) -> TokenAccount:
        return cls(token_key(token, check_key_id(key_id), _CHAIN_CURVES))

    @property
    def address(self) -> ChecksumAddress:
        return self._address

    def sign_transaction(self, transaction_dict: Mapping[str, Any], blobs: Any = None) -> SignedTransaction:
        """As ``LocalAccount.sign_transaction``: ``from``, if present, must be this account."""
        tx = dict(transaction_dict)
        sender = tx.pop("from", self._address)
        if str(sender).lower() != self._address.lower():
            raise BadInput("transaction_sender_mismatch",
                           f"the transaction is from {sender}, but this token key is account {self._address}")
        v, r, s, encoded = sign_transaction_dict(self._eth_key, tx, blobs=blobs)
        return SignedTransaction(raw_transaction=HexBytes(encoded), hash=HexBytes(keccak(encoded)), r=r, s=s, v=v)

    def unsafe_sign_hash(self, message_hash: Hash32) -> SignedMessage:
        msg_hash = HexBytes(message_hash)
        if len(msg_hash) != 32:
            raise ValueError("The message hash must be exactly 32-bytes")
        v, r, s, signature = sign_message_hash(self._eth_key, msg_hash)
        return SignedMessage(message_hash=msg_hash, r=r, s=s, v=v, signature=HexBytes(signature))

    def sign_message(self, signable_message: SignableMessage) -> SignedMessage:
        return self.unsafe_sign_hash(_hash_eip191_message(signable_message))
