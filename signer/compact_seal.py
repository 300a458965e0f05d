"""Record seals as a database stores them: without what every seal of one seal certificate repeats.

A record seal carries its seal certificate (and an SM2 seal its SESeal, picture and all): about 850 of a CMS
seal's ~990 bytes are the same in every seal of one certificate, and the seal registry
(``ledger.storage.seals``) keeps that certificate once. :func:`compact_seal` keeps only what varies per
record, the certificate's serial, the signing time, the record digest and the signature; :func:`expand_seal`
rebuilds the very same DER from them with the registry, through the encoder the sealer made it with
(``SealEncoder``). A seal that this encoding would not rebuild byte for byte is stored whole, as is, so what is
served (bundles, VCs, proof exports) is always the seal as it was made.

Stored form: one byte for the encoding (1 CMS/P-256, 2 SES/SM2), the serial's length and big-endian bytes, the
signing time in seconds since 1970 (5 bytes), the 32-byte digest, the signature. A seal stored beside the record
it seals leaves the digest out (the encoding byte has ``_OF_RECORD`` set): it is the record's own digest (SHA-256,
or SM3 for SM2), computed back from the record when the seal is rebuilt; a record changed since gives another
digest, and the signature no longer matches. A whole seal is DER, so it starts with 0x30 and is never taken for a
compact one.
"""

from __future__ import annotations

from datetime import datetime, timezone
from collections.abc import Sequence
from functools import lru_cache

from ledger.core.errors import BadInput

from .record_seal import SealEncoder, Sealer
from .registry import SealRegistry
from .seal_reader import SealRejected, read_seal

_FORMS = {"p256": 1, "sm2": 2}
_OF_RECORD = 0x80  # set in the encoding byte: the digest is left out, the record's own
_TIME_LEN = 5
_DIGEST_LEN = 32


@lru_cache(maxsize=256)
def _encoder(cert_der: bytes, eseal_der: bytes | None) -> SealEncoder:
    return SealEncoder(cert_der, eseal_der)


def compact_seal(seal: bytes, record: bytes | None = None) -> bytes:
    """What a row stores of a record seal (the seal whole if it cannot be rebuilt exactly from less); given the
    canonical ``record`` it seals, which the row stores beside it, without the record's digest."""
    seal = bytes(seal)
    try:
        read = read_seal(seal)
        encoder = _encoder(read.frame.certificate, read.frame.eseal)
    except (SealRejected, BadInput):
        return seal
    seconds = int(read.signing_time.timestamp())
    if (not 0 <= seconds < 1 << (8 * _TIME_LEN) or len(read.digest) != _DIGEST_LEN
            or encoder.encode(encoder.at(read.signing_time), read.digest, read.signature) != seal):
        return seal
    own = record is not None and encoder.digest(record) == read.digest
    return _pack(encoder.algorithm, encoder.certificate.serial, seconds, None if own else read.digest, read.signature)


def _pack(algorithm: str, serial: int, seconds: int, digest: bytes | None, signature: bytes) -> bytes:
    """The stored form; ``digest`` None: left out, the record's own."""
    serial_bytes = serial.to_bytes((serial.bit_length() + 7) // 8, "big")
    form = _FORMS[algorithm] | (_OF_RECORD if digest is None else 0)
    return (bytes((form, len(serial_bytes))) + serial_bytes + seconds.to_bytes(_TIME_LEN, "big")
            + (digest or b"") + signature)


def seal_compact(sealer: Sealer, records: Sequence[bytes], signing_time: datetime | None = None) -> list[bytes]:
    """Seal canonical records and return what rows storing each beside its record keep: :func:`compact_seal` of
    each seal with its record, made from the seal's parts (reading every seal back cost a third of sealing it)."""
    at, parts = sealer.seal_parts(records, signing_time)
    seconds = int(at.timestamp())
    if at.microsecond or not 0 <= seconds < 1 << (8 * _TIME_LEN):
        return [compact_seal(s, r) for s, r in
                zip(sealer.seal_records(records, signing_time, canonical=True), records, strict=True)]
    algorithm, serial = sealer.algorithm, sealer.certificate.serial
    return [_pack(algorithm, serial, seconds, None, signature) for _digest, signature in parts]


def expand_seal(stored: bytes, registry: SealRegistry, record: bytes | None = None) -> bytes:
    """The record seal, byte for byte as it was made, from what :func:`compact_seal` stored and, when it left the
    digest out, the canonical ``record`` stored beside it (ValueError without it); NotFound
    ``seal_certificate_not_found`` if the registry lacks its certificate."""
    stored = bytes(stored)
    if stored[:1] == b"\x30":
        return stored
    form, n = stored[0], stored[1]
    serial = int.from_bytes(stored[2:2 + n], "big")
    info = registry.certificate(serial)
    encoder = _encoder(info.der, registry.eseals.get(serial))
    if _FORMS[encoder.algorithm] != form & ~_OF_RECORD:
        raise ValueError(f"a stored seal of encoding {form} names the {encoder.algorithm} seal certificate {serial:x}")
    at = 2 + n
    signing_time = datetime.fromtimestamp(int.from_bytes(stored[at:at + _TIME_LEN], "big"), timezone.utc)
    at += _TIME_LEN
    if form & _OF_RECORD:
        if record is None:
            raise ValueError("this stored seal left its record's digest out: rebuilding it needs the record")
        return encoder.encode(encoder.at(signing_time), encoder.digest(record), stored[at:])
    return encoder.encode(encoder.at(signing_time), stored[at:at + _DIGEST_LEN], stored[at + _DIGEST_LEN:])
