"""Chain account keys: encrypted keystore JSON (the format geth and Besu use), or a key generated in a
PKCS#11 token (``signer.chain_key``) when one is configured, stored as ``pkcs11:<label>``.

Transactions are signed locally with these keys: a permissioned network's nodes hold no unlocked
accounts. The password comes from configuration (CERTLEDGER_KEY_PASSWORD), never from the database; a
token key never leaves the token.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from eth_account import Account
from eth_account.signers.base import BaseAccount
from eth_account.signers.local import LocalAccount

from ledger.core.errors import BadInput, Forbidden, ServiceUnavailable
from signer.chain_key import TokenAccount
from signer.pkcs11_keystore import TOKEN_ENV, Pkcs11Token

# geth's "light" scrypt parameters; for the local stack and tests, where keys guard no value.
_LIGHT_SCRYPT_N = 4096
TOKEN_PREFIX = "pkcs11:"
_cache: dict[tuple[str, str], LocalAccount] = {}
_token_accounts: dict[tuple[str, str], TokenAccount] = {}
_cache_lock = threading.Lock()


def new_keystore(password: str, *, light: bool = False) -> tuple[str, str]:
    """Create an account; return (address, keystore JSON). The private key never leaves encrypted."""
    account = Account.create()
    kwargs: dict[str, Any] = {"kdf": "scrypt"}
    if light:
        kwargs["iterations"] = _LIGHT_SCRYPT_N
    keystore = Account.encrypt(account.key, password, **kwargs)
    return account.address, json.dumps(keystore)


def unlock(keystore_json: str, password: str) -> LocalAccount:
    """Decrypt a keystore once per process (scrypt is deliberately slow)."""
    try:
        json.loads(keystore_json)["crypto"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BadInput("keystore_malformed", "the chain account keystore is not keystore JSON") from exc
    key = (keystore_json, hashlib.sha256(password.encode()).hexdigest())
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    try:
        account = Account.from_key(Account.decrypt(keystore_json, password))
    except ValueError as exc:
        raise Forbidden(
            "keystore_password_wrong", "cannot decrypt the chain account key: check CERTLEDGER_KEY_PASSWORD"
        ) from exc
    with _cache_lock:
        _cache[key] = account
    return account


def new_account(password: str, label: str, *, token: Pkcs11Token | None = None, light: bool = False) -> tuple[str, str]:
    """A new chain account: (address, what to store). In the token when one is configured (the key is made
    there and never leaves), else an encrypted keystore."""
    if token is None:
        return new_keystore(password, light=light)
    return TokenAccount.generate(token, label).address, TOKEN_PREFIX + label


def open_account(stored: str, password: str, *, token: Pkcs11Token | None = None) -> BaseAccount:
    """The account ``new_account`` stored: its token key, or its keystore decrypted once per process."""
    if not stored.startswith(TOKEN_PREFIX):
        return unlock(stored, password)
    if token is None:
        raise ServiceUnavailable("hsm_not_configured", f"this chain key lives in a PKCS#11 token ({stored}): set "
                                 f"{TOKEN_ENV} and its PIN (访问硬件密码模块所需的配置缺失)")
    key = (token.label, stored)
    with _cache_lock:
        account = _token_accounts.get(key)
        if account is None:
            account = _token_accounts[key] = TokenAccount.load(token, stored[len(TOKEN_PREFIX):])
    return account
