"""Envelope encryption of documents that hold personal data, before they leave the service.

Each document gets its own random AES-256 key (DEK); the document is sealed with AES-256-GCM
and the DEK is wrapped (AES key wrap, RFC 3394) by the platform key (KEK). The two halves go to
different places so IPFS never sees plaintext or keys:

* the envelope (magic, version, nonce, ciphertext + tag) is what is stored in IPFS;
* the key info (``{"v", "kid", "wdek"}``, JSON-ready) is stored in the database record.

The certificate identifier is GCM associated data, so an envelope moved to another record does
not open. The key id names the KEK, so KEKs can rotate: old KEKs stay loadable as retired keys, and
every document opens under the key its key info names.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap,
    aes_key_wrap,
)

from ledger.core.errors import BadInput, Conflict, ServiceUnavailable

log = logging.getLogger(__name__)

KEY_ENV = "CERTLEDGER_DOCUMENT_KEY"
KEY_FILE = "document-kek.key"
RETIRED_KEY_GLOB = "document-kek-*.key"

_MAGIC = b"CLE"
_VERSION = 1
_HEADER = _MAGIC + bytes([_VERSION])
_NONCE_LEN = 12
_TAG_LEN = 16


@dataclass(frozen=True)
class Kek:
    """A 32-byte platform key; its id is derived from it, so it cannot be mislabelled."""

    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) != 32:
            raise BadInput("bad_document_key", f"a document key must be 32 bytes, got {len(self.key)}")

    @property
    def key_id(self) -> str:
        return hashlib.sha256(b"certledger-kek-id\0" + self.key).hexdigest()[:16]


class KeyRing:
    """The active KEK (used to seal) and retired ones (still accepted to open)."""

    def __init__(self, active: Kek, retired: Iterable[Kek] = ()) -> None:
        self.active = active
        self._by_id = {k.key_id: k for k in retired}
        self._by_id[active.key_id] = active

    def get(self, key_id: str) -> Kek:
        try:
            return self._by_id[key_id]
        except KeyError:
            raise ServiceUnavailable(
                "document_key_missing",
                f"the document key {key_id} is not loaded; add it (base64) to {KEY_ENV} after the active key, "
                f"or restore it as {RETIRED_KEY_GLOB.replace('*', key_id)} in the data directory",
                key_id=key_id,
            ) from None


class Sealed(NamedTuple):
    envelope: bytes  # stored in IPFS
    key_info: dict[str, Any]  # stored in the database record


def _aad(certificate_id: str) -> bytes:
    return _HEADER + certificate_id.encode("utf-8")


def _tampered(certificate_id: str, what: str) -> Conflict:
    return Conflict(
        "document_tampered",
        f"the stored document of {certificate_id} does not open: {what}; it was altered, belongs to "
        "another record, or the record's key info was changed. Restore it from a trusted copy.",
        certificate_id=certificate_id,
    )


def seal(plaintext: bytes, kek: Kek, certificate_id: str) -> Sealed:
    """Encrypt ``plaintext`` under a fresh DEK bound to ``certificate_id``; wrap the DEK with ``kek``."""
    dek = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(_NONCE_LEN)
    ciphertext = AESGCM(dek).encrypt(nonce, plaintext, _aad(certificate_id))
    key_info = {
        "v": _VERSION,
        "kid": kek.key_id,
        "wdek": base64.b64encode(aes_key_wrap(kek.key, dek)).decode("ascii"),
    }
    return Sealed(_HEADER + nonce + ciphertext, key_info)


def _unwrap(key_info: Mapping[str, Any], keyring: KeyRing, certificate_id: str) -> bytes:
    if not isinstance(key_info, Mapping) or key_info.get("v") != _VERSION or not isinstance(key_info.get("kid"), str):
        raise BadInput(
            "bad_key_info",
            f"key info {key_info!r} is not a version-{_VERSION} document key record "
            '({"v": 1, "kid": ..., "wdek": ...}) as seal() returns',
        )
    kek = keyring.get(key_info["kid"])
    try:
        return aes_key_unwrap(kek.key, base64.b64decode(key_info.get("wdek", ""), validate=True))
    except (InvalidUnwrap, ValueError, binascii.Error):
        raise _tampered(certificate_id, "the wrapped document key does not unwrap") from None


def unseal(envelope: bytes, key_info: Mapping[str, Any], keyring: KeyRing, certificate_id: str) -> bytes:
    """The plaintext of ``envelope``; raises ``document_tampered`` if anything was changed or swapped."""
    dek = _unwrap(key_info, keyring, certificate_id)
    if len(envelope) < len(_HEADER) + _NONCE_LEN + _TAG_LEN or not envelope.startswith(_MAGIC):
        raise _tampered(certificate_id, "it is not a certledger envelope")
    if envelope[len(_MAGIC)] != _VERSION:
        raise _tampered(certificate_id, f"unknown envelope version {envelope[len(_MAGIC)]}")
    nonce = envelope[len(_HEADER) : len(_HEADER) + _NONCE_LEN]
    try:
        return AESGCM(dek).decrypt(nonce, envelope[len(_HEADER) + _NONCE_LEN :], _aad(certificate_id))
    except InvalidTag:
        raise _tampered(certificate_id, "authentication failed") from None


def _decode_env_key(value: str) -> Kek:
    try:
        return Kek(base64.b64decode(value.strip(), validate=True))
    except (binascii.Error, BadInput):
        raise BadInput(
            "bad_document_key",
            f"{KEY_ENV} must hold base64 32-byte keys, comma-separated, active first "
            '(make one with: python -c "import os,base64;print(base64.b64encode(os.urandom(32)).decode())")',
        ) from None


def _read_key_file(path: Path) -> Kek:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ServiceUnavailable(
            "document_key_exposed",
            f"{path} is readable by other users (mode {stat.filemode(mode)}); run: chmod 600 {path}",
        )
    key = path.read_bytes()
    if len(key) != 32:
        raise ServiceUnavailable("bad_document_key", f"{path} must hold exactly 32 bytes, it holds {len(key)}")
    return Kek(key)


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process created it first; use theirs
    with os.fdopen(fd, "wb") as f:
        f.write(os.urandom(32))
    log.info("document_key_created", extra={"path": str(path)})


def load_keyring(data_dir: Path, environ: Mapping[str, str] = os.environ) -> KeyRing:
    """KEKs from ``CERTLEDGER_DOCUMENT_KEY`` if set, else from the key file (created on first use)."""
    if environ.get(KEY_ENV, "").strip(" ,"):
        keys = [_decode_env_key(v) for v in environ[KEY_ENV].split(",") if v.strip()]
        return KeyRing(keys[0], keys[1:])
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        _create_key_file(path)
    retired = [_read_key_file(p) for p in sorted(Path(data_dir).glob(RETIRED_KEY_GLOB))]
    return KeyRing(_read_key_file(path), retired)
