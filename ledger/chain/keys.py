"""Chain account keys, kept only as encrypted keystore JSON (the format geth and Besu use).

Transactions are signed locally with these keys: a permissioned network's nodes hold no unlocked
accounts. The password comes from configuration (CERTLEDGER_KEY_PASSWORD), never from the database.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.core.errors import BadInput, Forbidden

# geth's "light" scrypt parameters; for the local stack and tests, where keys guard no value.
_LIGHT_SCRYPT_N = 4096
_cache: dict[tuple[str, str], LocalAccount] = {}
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
