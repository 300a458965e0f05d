"""Seal keys: the ``SigningKey`` every sealing path uses, and file keys behind it.

A seal key may live in a file (``SoftwareKey``: NIST P-256 in ``cryptography``, SM2 in ``tongsuopy``,
which ``cryptography`` cannot load at all) or in a hardware token (``signer.pkcs11_keystore.TokenKey``);
record seals, PDF seals and the seal authority only ever call ``sign`` and read ``spki_der``.
"""

from __future__ import annotations

import hashlib
from typing import Literal, Protocol, Union

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from tongsuopy.crypto import hashes as sm_hashes
from tongsuopy.crypto import serialization as sm_serialization
from tongsuopy.crypto.asymciphers import ec as sm_ec

Algorithm = Literal["p256", "sm2"]
LibraryKey = Union[ec.EllipticCurvePrivateKey, sm_ec.EllipticCurvePrivateKey]

SM2_CURVE_OID = "1.2.156.10197.1.301"
SM2_WITH_SM3_OID = "1.2.156.10197.1.501"
SM2_USER_ID = b"1234567812345678"  # GM/T 0009 default; tongsuopy uses it implicitly

_SM2_SIG = sm_ec.ECDSA(sm_hashes.SM3())
_P256_PREHASHED = ec.ECDSA(Prehashed(hashes.SHA256()))  # hashlib + prehashed saves ~7 us per signature


class SigningKey(Protocol):
    """A seal private key wherever it lives; the private half never has to leave its home."""

    @property
    def algorithm(self) -> Algorithm: ...

    @property
    def spki_der(self) -> bytes:
        """SubjectPublicKeyInfo DER of the public half (what the seal certificate certifies)."""
        ...

    def sign(self, data: bytes) -> bytes:
        """DER ECDSA-Sig-Value over ``data``: ECDSA/SHA-256 for P-256, SM2/SM3 (default user ID) for SM2."""
        ...


class SoftwareKey:
    """A key held in this process (loaded from an encrypted file, or made for one)."""

    __slots__ = ("key", "algorithm", "spki_der")

    def __init__(self, key: LibraryKey) -> None:
        self.key = key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            self.algorithm: Algorithm = "p256"
            self.spki_der = key.public_key().public_bytes(serialization.Encoding.DER,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo)
        else:
            self.algorithm = "sm2"
            self.spki_der = key.public_key().public_bytes(sm_serialization.Encoding.DER,
                                                          sm_serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, data: bytes) -> bytes:
        if self.algorithm == "p256":
            return self.key.sign(hashlib.sha256(data).digest(), _P256_PREHASHED)
        return self.key.sign(data, _SM2_SIG)

    @classmethod
    def generate(cls, algorithm: Algorithm) -> SoftwareKey:
        if algorithm == "p256":
            return cls(ec.generate_private_key(ec.SECP256R1()))
        if algorithm == "sm2":
            return cls(sm_ec.generate_private_key(sm_ec.SM2()))
        raise ValueError(f"unknown seal algorithm {algorithm!r}; use 'p256' or 'sm2'")

    def encrypted_pem(self, password: bytes) -> bytes:
        """PKCS#8 PEM encrypted with the best scheme the owning library offers."""
        if self.algorithm == "p256":
            return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.BestAvailableEncryption(password))
        return self.key.private_bytes(sm_serialization.Encoding.PEM, sm_serialization.PrivateFormat.PKCS8,
                                      sm_serialization.BestAvailableEncryption(password))

    @classmethod
    def from_encrypted_pem(cls, pem: bytes, password: bytes) -> SoftwareKey:
        """Raises ValueError on a wrong password; SM2 keys (encrypted with SM4 by tongsuopy) fall through."""
        try:
            return cls(serialization.load_pem_private_key(pem, password))
        except (UnsupportedAlgorithm, ValueError):
            return cls(sm_serialization.load_pem_private_key(pem, password))


def load_public_key(spki_der: bytes):
    """A verifier object for a SubjectPublicKeyInfo, whichever library handles its curve."""
    try:
        return serialization.load_der_public_key(spki_der)
    except (UnsupportedAlgorithm, ValueError):
        return sm_serialization.load_der_public_key(spki_der)


def verify(public_key, signature: bytes, data: bytes) -> bool:
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, hashlib.sha256(data).digest(), _P256_PREHASHED)
        else:
            public_key.verify(signature, data, _SM2_SIG)
    except Exception:  # both libraries raise their own InvalidSignature; malformed DER raises ValueError
        return False
    return True
