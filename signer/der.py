"""Minimal DER writing for the hot sealing paths, where asn1crypto objects per record cost too much."""

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


def read(buf: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, end) of the element at ``pos``; single-byte tags, definite lengths only."""
    tag, n = buf[pos], buf[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if not 0 < k <= 4:
            raise ValueError("unsupported DER length")
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    end = pos + n
    if end > len(buf):
        raise ValueError("truncated DER element")
    return tag, pos, end


def children(buf: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, element start, content start, end) of each element between ``start`` and ``end``."""
    out = []
    while start < end:
        tag, cs, ce = read(buf, start)
        out.append((tag, start, cs, ce))
        start = ce
    if start != end:
        raise ValueError("DER element overruns its parent")
    return out


def parse_time(tag: int, text: bytes) -> datetime:
    """UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ), seconds precision, UTC only."""
    if tag == 0x17 and len(text) == 13:
        year = int(text[:2])
        year += 2000 if year < 50 else 1900
        rest = text[2:]
    elif tag == 0x18 and len(text) == 15:
        year, rest = int(text[:4]), text[4:]
    else:
        raise ValueError("unsupported time encoding")
    if rest[-1:] != b"Z":
        raise ValueError("time is not in UTC")
    return datetime(year, int(rest[0:2]), int(rest[2:4]), int(rest[4:6]), int(rest[6:8]), int(rest[8:10]),
                    tzinfo=timezone.utc)


def ecdsa_sig_value(r_s: bytes) -> bytes:
    """DER ECDSA-Sig-Value from the raw r||s (PKCS#11 CKM_ECDSA output), each half a minimal INTEGER."""
    half = len(r_s) // 2
    return seq(_unsigned_integer(r_s[:half]), _unsigned_integer(r_s[half:]))


def _unsigned_integer(value: bytes) -> bytes:
    value = value.lstrip(b"\x00") or b"\x00"
    return tlv(0x02, b"\x00" + value if value[0] & 0x80 else value)
