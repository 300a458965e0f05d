"""Minimal DER writing for the hot sealing paths, where asn1crypto objects per record cost too much.

Only for writing: untrusted seals are read strictly with asn1crypto (``seal_reader``)."""

from __future__ import annotations

from datetime import datetime, timezone


def tlv(tag: int, content: bytes) -> bytes:
    """One DER element: tag byte, definite length, content."""
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + content


def seq(*parts: bytes) -> bytes:
    return tlv(0x30, b"".join(parts))


def cms_time(t: datetime) -> bytes:
    """RFC 5652 Time: UTCTime up to 2049, GeneralizedTime from 2050 on."""
    t = t.astimezone(timezone.utc)
    if 1950 <= t.year < 2050:
        return tlv(0x17, t.strftime("%y%m%d%H%M%SZ").encode())
    return generalized_time(t)


def generalized_time(t: datetime) -> bytes:
    return tlv(0x18, t.astimezone(timezone.utc).strftime("%Y%m%d%H%M%SZ").encode())


def ecdsa_sig_value(r_s: bytes) -> bytes:
    """DER ECDSA-Sig-Value from the raw r||s (PKCS#11 CKM_ECDSA output), each half a minimal INTEGER."""
    half = len(r_s) // 2
    return seq(_unsigned_integer(r_s[:half]), _unsigned_integer(r_s[half:]))


def _unsigned_integer(value: bytes) -> bytes:
    value = value.lstrip(b"\x00") or b"\x00"
    return tlv(0x02, b"\x00" + value if value[0] & 0x80 else value)
