"""Where seal private keys live: encrypted PKCS#8 files, a PKCS#11 token, or both, behind one protocol.

``owner`` is the unified social credit code of the organisation a key belongs to (None for the
platform's own keys, such as the city root): file stores may open each organisation's keys with
that organisation's password, a token ignores it (its PIN guards every key in it).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from ledger.core.errors import BadInput, CertledgerError, NotFound

from .keys import Algorithm, SigningKey, SoftwareKey

log = logging.getLogger(__name__)

PASSWORD_ENV = "CERTLEDGER_KEY_PASSWORD"
PASSWORD_DIR_ENV = "CERTLEDGER_KEY_PASSWORD_DIR"
_KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

# An organisation's own key-store password by its credit code, or None to use the platform password.
OwnerPasswords = Callable[[str], "str | bytes | None"]


def check_key_id(key_id: str) -> str:
    if not isinstance(key_id, str) or not _KEY_ID.match(key_id):
        raise BadInput("key_id_invalid", f"key id {key_id!r} must be letters, digits, '.', '_' or '-'")
    return key_id


class KeyStore(Protocol):
    def generate(self, key_id: str, algorithm: Algorithm, *, owner: str | None = None) -> SigningKey:
        """A new key made where it will live (in a token: generated inside and never extractable)."""
        ...

    def put(self, key_id: str, key: SoftwareKey, *, owner: str | None = None) -> None:
        """Store a key made elsewhere (a token store refuses: see ``Pkcs11KeyStore.put``)."""
        ...

    def get(self, key_id: str, *, owner: str | None = None) -> SigningKey: ...


class DirectoryPasswords:
    """Per-organisation passwords as one file per credit code (``<directory>/<code>``, first line), the way
    secrets are mounted for a service; each organisation's custodian can change its own file."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def __call__(self, owner: str) -> str | None:
        path = self.directory / check_key_id(owner)
        try:
            text = path.read_text("utf-8").splitlines()
        except FileNotFoundError:
            return None
        return text[0] if text and text[0] else None


class FileKeyStore:
    """One ``<key_id>.pem`` per key (encrypted PKCS#8, readable by the owner only).

    A key is encrypted with its organisation's password when ``owner_passwords`` has one, else with the
    platform password (``CERTLEDGER_KEY_PASSWORD`` unless given), so one password opening every key stays
    the default. The store pickles by its configuration (document worker processes open it themselves).
    """

    def __init__(self, directory: str | os.PathLike[str], password: str | bytes | None = None, *,
                 owner_passwords: OwnerPasswords | None = None) -> None:
        if password is None:
            password = os.environ.get(PASSWORD_ENV)
        if not password:
            raise CertledgerError("key_password_missing",
                                  f"no key-store password configured: set {PASSWORD_ENV}")
        self._password = password.encode() if isinstance(password, str) else password
        self._owner_passwords = owner_passwords
        self._dir = Path(directory)
        self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    @classmethod
    def from_env(cls, directory: str | os.PathLike[str], env: Mapping[str, str] = os.environ) -> FileKeyStore:
        """``CERTLEDGER_KEY_PASSWORD``, and per-organisation passwords from ``CERTLEDGER_KEY_PASSWORD_DIR`` if set."""
        owner_dir = env.get(PASSWORD_DIR_ENV)
        return cls(directory, env.get(PASSWORD_ENV) or None,
                   owner_passwords=DirectoryPasswords(owner_dir) if owner_dir else None)

    @property
    def directory(self) -> Path:
        return self._dir

    def _path(self, key_id: str) -> Path:
        return self._dir / f"{check_key_id(key_id)}.pem"

    def _password_for(self, owner: str | None) -> tuple[bytes, str]:
        """(password, where it came from) for the error message."""
        if owner is not None and self._owner_passwords is not None:
            own = self._owner_passwords(owner)
            if own:
                return (own.encode() if isinstance(own, str) else own), f"the password of organisation {owner}"
        return self._password, PASSWORD_ENV

    def generate(self, key_id: str, algorithm: Algorithm, *, owner: str | None = None) -> SoftwareKey:
        key = SoftwareKey.generate(algorithm)
        self.put(key_id, key, owner=owner)
        return key

    def put(self, key_id: str, key: SoftwareKey, *, owner: str | None = None) -> None:
        path = self._path(key_id)
        password, _ = self._password_for(owner)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.encrypted_pem(password))
        os.replace(tmp, path)
        log.info("seal key stored", extra={"key_id": key_id, "owner": owner})

    def get(self, key_id: str, *, owner: str | None = None) -> SoftwareKey:
        path = self._path(key_id)
        try:
            pem = path.read_bytes()
        except FileNotFoundError:
            raise NotFound("seal_key_not_found", f"no private key {key_id!r} in the key store {self._dir}") from None
        password, source = self._password_for(owner)
        try:
            return SoftwareKey.from_encrypted_pem(pem, password)
        except ValueError as e:
            raise CertledgerError("key_password_wrong", f"cannot decrypt key {key_id!r}: check {source}") from e


