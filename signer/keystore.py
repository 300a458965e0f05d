"""Where seal private keys live: encrypted PKCS#8 behind a small interface an HSM could implement."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Protocol

from ledger.core.errors import BadInput, CertledgerError, NotFound

from .keys import PrivateKey, encrypted_pem, load_encrypted_pem

log = logging.getLogger(__name__)

PASSWORD_ENV = "CERTLEDGER_KEY_PASSWORD"
_KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class KeyStore(Protocol):
    def put(self, key_id: str, key: PrivateKey) -> None: ...

    def get(self, key_id: str) -> PrivateKey: ...


class FileKeyStore:
    """One ``<key_id>.pem`` per key, encrypted with the configured password, readable by the owner only."""

    def __init__(self, directory: str | os.PathLike[str], password: str | bytes | None = None) -> None:
        if password is None:
            password = os.environ.get(PASSWORD_ENV)
        if not password:
            raise CertledgerError("key_password_missing",
                                  f"no key-store password configured: set {PASSWORD_ENV}")
        self._password = password.encode() if isinstance(password, str) else password
        self._dir = Path(directory)
        self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    @property
    def directory(self) -> Path:
        return self._dir

    def _path(self, key_id: str) -> Path:
        if not _KEY_ID.match(key_id):
            raise BadInput("key_id_invalid", f"key id {key_id!r} must be letters, digits, '.', '_' or '-'")
        return self._dir / f"{key_id}.pem"

    def put(self, key_id: str, key: PrivateKey) -> None:
        path = self._path(key_id)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(encrypted_pem(key, self._password))
        os.replace(tmp, path)
        log.info("seal key stored", extra={"key_id": key_id})

    def get(self, key_id: str) -> PrivateKey:
        path = self._path(key_id)
        try:
            pem = path.read_bytes()
        except FileNotFoundError:
            raise NotFound("seal_key_not_found", f"no private key {key_id!r} in the key store {self._dir}") from None
        try:
            return load_encrypted_pem(pem, self._password)
        except ValueError as e:
            raise CertledgerError("key_password_wrong",
                                  f"cannot decrypt key {key_id!r}: check {PASSWORD_ENV}") from e
