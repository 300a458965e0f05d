"""Seal key algorithms: NIST P-256 keys live in ``cryptography``, SM2 keys in ``tongsuopy``.

``cryptography`` cannot load SM2 keys at all, so every place that touches a key goes through here.
"""

from __future__ import annotations

import hashlib
from typing import Literal, Union

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from tongsuopy.crypto import hashes as sm_hashes
from tongsuopy.crypto import serialization as sm_serialization
from tongsuopy.crypto.asymciphers import ec as sm_ec

Algorithm = Literal["p256", "sm2"]
PrivateKey = Union[ec.EllipticCurvePrivateKey, sm_ec.EllipticCurvePrivateKey]

SM2_CURVE_OID = "1.2.156.10197.1.301"
SM2_WITH_SM3_OID = "1.2.156.10197.1.501"
SM2_USER_ID = b"1234567812345678"  # GM/T 0009 default; tongsuopy uses it implicitly

_SM2_SIG = sm_ec.ECDSA(sm_hashes.SM3())
_P256_PREHASHED = ec.ECDSA(Prehashed(hashes.SHA256()))  # hashlib + prehashed saves ~7 us per signature


def generate_key(algorithm: Algorithm) -> PrivateKey:
    if algorithm == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "sm2":
        return sm_ec.generate_private_key(sm_ec.SM2())
    raise ValueError(f"unknown seal algorithm {algorithm!r}; use 'p256' or 'sm2'")


def key_algorithm(key: PrivateKey) -> Algorithm:
    return "p256" if isinstance(key, ec.EllipticCurvePrivateKey) else "sm2"


def public_key_der(key: PrivateKey) -> bytes:
    """SubjectPublicKeyInfo DER of the key's public half."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    return key.public_key().public_bytes(sm_serialization.Encoding.DER,
                                         sm_serialization.PublicFormat.SubjectPublicKeyInfo)


def sign(key: PrivateKey, data: bytes) -> bytes:
    """DER ECDSA-Sig-Value: ECDSA/SHA-256 for P-256, SM2/SM3 with the default user ID for SM2."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(hashlib.sha256(data).digest(), _P256_PREHASHED)
    return key.sign(data, _SM2_SIG)


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


def encrypted_pem(key: PrivateKey, password: bytes) -> bytes:
    """PKCS#8 PEM encrypted with the best scheme the owning library offers."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.BestAvailableEncryption(password))
    return key.private_bytes(sm_serialization.Encoding.PEM, sm_serialization.PrivateFormat.PKCS8,
                             sm_serialization.BestAvailableEncryption(password))


def load_encrypted_pem(pem: bytes, password: bytes) -> PrivateKey:
    """Raises ValueError on a wrong password; SM2 keys (encrypted with SM4 by tongsuopy) fall through."""
    try:
        return serialization.load_pem_private_key(pem, password)
    except (UnsupportedAlgorithm, ValueError):
        return sm_serialization.load_pem_private_key(pem, password)
