"""Seal keys sealed in a PKCS#11 token (a hardware security module; SoftHSM2 locally and in tests).

Keys are generated inside the token (CKA_SENSITIVE, not CKA_EXTRACTABLE, so CKA_ALWAYS_SENSITIVE and
CKA_NEVER_EXTRACTABLE hold) and found again by CKA_LABEL = key id. SoftHSM2 2.6 offers CKM_ECDSA but not
CKM_ECDSA_SHA256, so data is hashed here (SHA-256) and the token signs the digest; its raw r||s is
encoded as a DER ECDSA-Sig-Value. SM2 keys stay in files: SoftHSM2 makes key pairs on the SM2 curve,
but it has no SM2 signature mechanism, and CKM_ECDSA on that curve is ECDSA, which no SM2 verifier
accepts.

One logged-in session per token and process is shared by every key and thread (python-pkcs11 serialises
operations on a session); closing a session would log out the others, so sessions stay open until the
process ends, and a forked child opens its own.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pkcs11
from asn1crypto.keys import ECDomainParameters
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11.exceptions import (
    MultipleObjectsReturned,
    NoSuchKey,
    NoSuchToken,
    PinIncorrect,
    PinLenRange,
    PinLocked,
    PKCS11Error,
)
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from ledger.core.errors import CertledgerError, Conflict, NotFound, ServiceUnavailable

from .der import ecdsa_sig_value
from .keys import Algorithm, SigningKey, SoftwareKey
from .keystore import FileKeyStore, KeyStore, check_key_id

log = logging.getLogger(__name__)

MODULE_ENV = "CERTLEDGER_PKCS11_MODULE"
TOKEN_ENV = "CERTLEDGER_PKCS11_TOKEN"
PIN_ENV = "CERTLEDGER_PKCS11_PIN"
DEFAULT_MODULE = "/usr/lib/softhsm/libsofthsm2.so"

P256_OID = "1.2.840.10045.3.1.7"
SECP256K1_OID = "1.3.132.0.10"
_SEAL_CURVES: dict[str, Algorithm] = {P256_OID: "p256"}


class Pkcs11Token:
    """A token by module and label, and the PIN that opens it; pickles by that configuration."""

    _sessions: dict[tuple[str, str], tuple[int, str, Any]] = {}  # (module, label) -> (pid, pin digest, session)
    _initialised: dict[str, int] = {}  # module -> the process that initialised it
    _lock = threading.Lock()

    def __init__(self, label: str, pin: str, module: str = DEFAULT_MODULE) -> None:
        if not label or not pin:
            raise CertledgerError("hsm_not_configured",
                                  f"a PKCS#11 token needs its label ({TOKEN_ENV}) and user PIN ({PIN_ENV})")
        self.module, self.label, self._pin = module, label, pin

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Pkcs11Token:
        return cls(env.get(TOKEN_ENV, ""), env.get(PIN_ENV, ""), env.get(MODULE_ENV) or DEFAULT_MODULE)

    def __getstate__(self) -> dict[str, str]:
        return {"module": self.module, "label": self.label, "_pin": self._pin}

    def __repr__(self) -> str:
        return f"Pkcs11Token(label={self.label!r}, module={self.module!r})"

    def session(self) -> Any:
        """This process's logged-in read-write session on the token."""
        key, pin_digest = (self.module, self.label), hashlib.sha256(self._pin.encode()).hexdigest()
        with self._lock:
            cached = self._sessions.get(key)
            if cached is not None and cached[0] == os.getpid():
                if cached[1] != pin_digest:
                    raise CertledgerError("hsm_pin_wrong", f"another PIN already opened token {self.label!r} "
                                                           "in this process; check CERTLEDGER_PKCS11_PIN")
                return cached[2]
            session = self._open()
            self._sessions[key] = (os.getpid(), pin_digest, session)
            return session

    def _open(self) -> Any:
        if not os.path.exists(self.module):
            raise ServiceUnavailable("hsm_module_missing",
                                     f"no PKCS#11 module at {self.module}: install softhsm2 (apt) or set {MODULE_ENV}")
        lib = pkcs11.lib(self.module)
        if self._initialised.setdefault(self.module, os.getpid()) != os.getpid():
            lib.reinitialize()  # a forked child inherits none of the parent's PKCS#11 state: initialise again
            self._initialised[self.module] = os.getpid()
        try:
            token = lib.get_token(token_label=self.label)
        except NoSuchToken:
            raise ServiceUnavailable("hsm_token_not_found",
                                     f"no PKCS#11 token labelled {self.label!r} in {self.module}: create it "
                                     f"(softhsm2-util --init-token --free --label {self.label}) or check "
                                     f"{TOKEN_ENV} and SOFTHSM2_CONF") from None
        try:
            return token.open(rw=True, user_pin=self._pin)
        except (PinIncorrect, PinLenRange):
            raise CertledgerError("hsm_pin_wrong", f"the token {self.label!r} refused the PIN: check {PIN_ENV}") from None
        except PinLocked:
            raise CertledgerError("hsm_pin_locked", f"the user PIN of token {self.label!r} is locked: the token's "
                                                    "security officer must unlock it") from None

    def find_key_pair(self, label: str) -> tuple[Any, Any]:
        """(private, public) key objects labelled ``label``."""
        session = self.session()
        try:
            return (session.get_key(ObjectClass.PRIVATE_KEY, KeyType.EC, label=label),
                    session.get_key(ObjectClass.PUBLIC_KEY, KeyType.EC, label=label))
        except NoSuchKey:
            raise NotFound("seal_key_not_found", f"no key pair {label!r} in token {self.label!r}") from None
        except MultipleObjectsReturned:
            raise Conflict("hsm_key_ambiguous", f"token {self.label!r} holds several keys labelled {label!r}; "
                                                "remove the extra ones with the token's tools") from None

    def generate_ec_key_pair(self, label: str, curve_oid: str) -> tuple[Any, Any]:
        """A key pair made inside the token that can only sign, whose private half never leaves it."""
        session = self.session()
        if any(True for _ in session.get_objects({Attribute.LABEL: label, Attribute.CLASS: ObjectClass.PRIVATE_KEY})):
            raise Conflict("seal_key_exists", f"token {self.label!r} already holds a key labelled {label!r}")
        params = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters(curve_oid)}, local=True)
        public, private = params.generate_keypair(
            store=True, label=label, id=label.encode(), capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
            private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.PRIVATE: True})
        return private, public


class TokenKey:
    """An EC private key inside a token: ``sign`` hashes with SHA-256 here and lets the token sign the digest."""

    __slots__ = ("label", "algorithm", "spki_der", "_private")

    def __init__(self, label: str, algorithm: str, private: Any, public: Any) -> None:
        self.label = label
        self.algorithm = algorithm
        self.spki_der = encode_ec_public_key(public)
        self._private = private

    def sign(self, data: bytes) -> bytes:
        return ecdsa_sig_value(self.sign_digest(hashlib.sha256(data).digest()))

    def sign_digest(self, digest: bytes) -> bytes:
        """Raw r||s of CKM_ECDSA over a digest computed by the caller."""
        try:
            return self._private.sign(digest, mechanism=Mechanism.ECDSA)
        except PKCS11Error as e:
            raise ServiceUnavailable("hsm_sign_failed", f"the token failed to sign with key {self.label!r}: "
                                                        f"{type(e).__name__} {e}") from e


def token_key(token: Pkcs11Token, label: str, curves: Mapping[str, str]) -> TokenKey:
    """The token's key pair ``label`` if its curve is one of ``curves`` (curve OID -> algorithm name)."""
    private, public = token.find_key_pair(label)
    curve = _curve_oid(public)
    if curve not in curves:
        raise CertledgerError("hsm_key_curve", f"key {label!r} in token {token.label!r} is on curve {curve}, "
                                               f"not one of {', '.join(sorted(curves))}")
    return TokenKey(label, curves[curve], private, public)


def _curve_oid(public: Any) -> str:
    return ECDomainParameters.load(public[Attribute.EC_PARAMS]).chosen.dotted


class Pkcs11KeyStore:
    """The ``KeyStore`` of P-256 seal keys in a token.

    ``put`` refuses keys made outside the token: a key that once lived in memory or in a file cannot be
    shown never to have left it (CKA_NEVER_EXTRACTABLE would be false). Moving to a token is done by
    rotating each seal (``SealAuthority.rotate_seal``): the new key is made in the token, and former
    seals keep verifying with their certificates.
    """

    algorithms = frozenset({"p256"})

    def __init__(self, token: Pkcs11Token) -> None:
        self.token = token
        self._keys: dict[str, TokenKey] = {}
        self._pid = os.getpid()

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Pkcs11KeyStore:
        """``CERTLEDGER_PKCS11_TOKEN`` (label), ``CERTLEDGER_PKCS11_PIN``, ``CERTLEDGER_PKCS11_MODULE``."""
        return cls(Pkcs11Token.from_env(env))

    def __getstate__(self) -> dict[str, Any]:
        return {"token": self.token, "_keys": {}, "_pid": -1}

    def generate(self, key_id: str, algorithm: Algorithm, *, owner: str | None = None) -> TokenKey:
        curve = next((oid for oid, name in _SEAL_CURVES.items() if name == algorithm), None)
        if curve is None:
            raise CertledgerError("hsm_algorithm_unsupported",
                                  f"the token holds P-256 seal keys only; {algorithm} keys stay in the file key store "
                                  "(SoftHSM2 has no SM2 signature mechanism)")
        private, public = self.token.generate_ec_key_pair(check_key_id(key_id), curve)
        key = self._keys[key_id] = TokenKey(key_id, algorithm, private, public)
        log.info("seal key generated in token", extra={"key_id": key_id, "owner": owner, "token": self.token.label})
        return key

    def put(self, key_id: str, key: SoftwareKey, *, owner: str | None = None) -> None:
        raise CertledgerError("hsm_import_refused",
                              f"key {key_id!r} was made outside token {self.token.label!r} and is not imported: "
                              "generate seal keys in the token (rotate the seal to move it there)")

    def get(self, key_id: str, *, owner: str | None = None) -> TokenKey:
        if self._pid != os.getpid():  # key objects belong to the parent's session
            self._keys, self._pid = {}, os.getpid()
        key = self._keys.get(key_id)
        if key is None:
            key = self._keys[key_id] = token_key(self.token, check_key_id(key_id), _SEAL_CURVES)
        return key


class TieredKeyStore:
    """A token for the algorithms it can sign with, files for the rest (SM2: no SM2 mechanism in SoftHSM2).

    ``get`` looks in the token first, then in the files, so keys made before the token was configured keep
    working until their seals are rotated.
    """

    def __init__(self, token: KeyStore, token_algorithms: frozenset[str], files: FileKeyStore) -> None:
        self.token = token
        self.token_algorithms = token_algorithms
        self.files = files

    @property
    def directory(self) -> Path:
        return self.files.directory

    def generate(self, key_id: str, algorithm: Algorithm, *, owner: str | None = None) -> SigningKey:
        store = self.token if algorithm in self.token_algorithms else self.files
        return store.generate(key_id, algorithm, owner=owner)

    def put(self, key_id: str, key: SoftwareKey, *, owner: str | None = None) -> None:
        self.files.put(key_id, key, owner=owner)

    def get(self, key_id: str, *, owner: str | None = None) -> SigningKey:
        try:
            return self.token.get(key_id, owner=owner)
        except NotFound:
            return self.files.get(key_id, owner=owner)


def keystore_from_env(directory: str | os.PathLike[str], env: Mapping[str, str] = os.environ) -> FileKeyStore | TieredKeyStore:
    """The seal key store the environment configures: files in ``directory`` (``FileKeyStore.from_env``), and
    when ``CERTLEDGER_PKCS11_TOKEN`` is set a PKCS#11 token in front of them for P-256 keys."""
    files = FileKeyStore.from_env(directory, env)
    if not env.get(TOKEN_ENV):
        return files
    token = Pkcs11KeyStore.from_env(env)
    return TieredKeyStore(token, token.algorithms, files)
