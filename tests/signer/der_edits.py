"""Edits of DER for the tests: where the elements of an encoding sit, and BER re-encodings of it."""

from __future__ import annotations

from asn1crypto import parser


def _tlv(identifier: bytes, content: bytes, *, long_form: bool = False) -> bytes:
    n = len(content)
    if n < 0x80 and not long_form:
        return identifier + bytes([n]) + content
    size = n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")
    return identifier + bytes([0x80 | len(size)]) + size + content


def elements(der: bytes, start: int = 0) -> list[tuple[int, int, int, bool]]:
    """(start, header length, end, constructed) of the element at ``start`` and of every element inside it."""
    _, constructed, _, header, contents, _ = parser.parse(der[start:])
    end = start + len(header) + len(contents)
    out = [(start, len(header), end, bool(constructed))]
    if constructed:
        pos = start + len(header)
        while pos < end:
            inner = elements(der, pos)
            out += inner
            pos = inner[0][2]
    return out


def with_long_form_length(element: bytes, target: bytes) -> bytes:
    """``element`` re-encoded with ``target`` (one of its elements) given a non-minimal, long-form length; every
    enclosing length follows, so the result is valid BER but not DER."""
    _, constructed, _, header, contents, _ = parser.parse(element)
    if element == target:
        return _tlv(header[:1], contents, long_form=True)
    if constructed:
        parts, pos = [], 0
        while pos < len(contents):
            _, _, _, h, c, t = parser.parse(contents[pos:])
            parts.append(with_long_form_length(contents[pos:pos + len(h) + len(c) + len(t)], target))
            pos += len(h) + len(c) + len(t)
        contents = b"".join(parts)
    return _tlv(header[:1], contents)
