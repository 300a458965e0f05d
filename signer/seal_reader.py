"""Reading untrusted record seals strictly: DER only, the signer's certificate by its identifier, content types.

A seal is parsed with asn1crypto (``strict=True``) and must re-encode to the very same bytes
(``dump(force=True)``), so non-minimal lengths, indefinite lengths, unsorted SET OF and trailing bytes
are refused. A CMS seal must be our profile of RFC 5652: SignedData of one SignerInfo, detached
``id-data`` content, the signer's certificate found by its SignerIdentifier (issuerAndSerialNumber or
subjectKeyIdentifier, with the versions RFC 5652 requires of each), signed attributes exactly
content-type (= eContentType), signing-time and message-digest, no unsigned attributes or CRLs. A
GB/T 38540 seal must be an ``SES_Signature`` of version 4 without time stamp or extensions.

Parsing costs ~1 ms a CMS seal, so the first seal of each *frame* is parsed in full and the frame (its
bytes outside the signing time, the digest and the signature, which a sealer repeats) is remembered with
the places of those three fields. A later seal with the very same frame is DER exactly when its time is a
well-formed time (checked here): the digest and signature are free octets of fixed length, and the order of
the signed attributes is decided by their types, which lie in the frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from asn1crypto import algos, cms, core, parser, x509

from ledger.core.errors import BadInput

from .keys import SM2_WITH_SM3_OID
from .ses import SESSignature

OID_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")
_SHA256 = {algos.DigestAlgorithm({"algorithm": "sha256"}).dump(),  # parameters NULL or absent (RFC 5754)
           bytes.fromhex("300b0609608648016503040201")}
_ECDSA_SHA256 = algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}).dump()  # parameters absent (RFC 5758)
_SEAL_ATTRIBUTES = ("content_type", "signing_time", "message_digest")
_DIGEST_LENGTH = 32
_MAX_FRAMES = 256
_UTC_TIME = re.compile(rb"[0-9]{12}Z\Z")
_GENERALIZED_TIME = re.compile(rb"[0-9]{14}Z\Z")
_PARSE_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)


class SealRejected(Exception):
    """The seal is not one we read: ``reason`` names why (a check reason), ``message`` says it to a person."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Frame:
    """What seals that share one frame share: format, signer certificate and where the varying fields sit."""

    format: str  # "cms" or "ses"
    certificate: bytes
    algorithm_ok: bool  # ECDSA/SHA-256 (CMS) or SM2/SM3 (SES) as this profile signs
    eseal: bytes | None  # the SESeal a GB/T 38540 seal carries
    time: tuple[int, int, int]  # tag, content start, end
    digest: tuple[int, int]
    signed: tuple[int, int]  # what the signature covers: CMS signed attributes ([0], read as SET), SES TBS_Sign
    signature: tuple[int, int]
    prefix: bytes  # the seal up to the time's content
    middle: bytes  # between time and digest
    tail: bytes  # between digest and signature

    def matches(self, seal: bytes) -> bool:
        return (seal.startswith(self.prefix) and seal[self.time[2]:self.digest[0]] == self.middle
                and seal[self.digest[1]:self.signature[0]] == self.tail)

    def read(self, seal: bytes) -> ReadSeal:
        tag, t0, t1 = self.time
        s0, s1 = self.signed
        signed = b"\x31" + seal[s0 + 1:s1] if self.format == "cms" else seal[s0:s1]
        return ReadSeal(self, parse_time(tag, seal[t0:t1]), seal[self.digest[0]:self.digest[1]],
                        seal[self.signature[0]:self.signature[1]], signed)


@dataclass(frozen=True)
class ReadSeal:
    frame: Frame
    signing_time: datetime
    digest: bytes  # SHA-256 (CMS) or SM3 (SES) of the canonical record, as the seal claims
    signature: bytes
    signed: bytes


_frames: dict[int, list[Frame]] = {}  # by seal length; shared by every verifier of the process


def seal_format(seal: bytes) -> str:
    """"cms" for a detached CMS SignedData (P-256), "ses" for a GB/T 38540 SES_Signature (SM2)."""
    return "cms" if OID_SIGNED_DATA in seal[:16] else "ses"


def read_seal(seal: Any) -> ReadSeal:
    """The seal's fields, or SealRejected naming what is wrong with it."""
    if not isinstance(seal, (bytes, bytearray)) or len(seal) < 16 or seal[0] != 0x30:
        raise SealRejected("seal_malformed", "the seal is not DER: expected a CMS SignedData or a GB/T 38540 "
                                             "SES_Signature")
    seal = bytes(seal)
    for frame in _frames.get(len(seal), ()):
        if frame.matches(seal):
            return frame.read(seal)
    try:
        frame = _cms_frame(seal) if seal_format(seal) == "cms" else _ses_frame(seal)
        read = frame.read(seal)
    except SealRejected:
        raise
    except _PARSE_ERRORS as e:
        raise SealRejected("seal_malformed", f"the seal cannot be parsed as a CMS SignedData or a GB/T 38540 "
                                             f"SES_Signature: {e}") from e
    if frame.time[2] <= frame.digest[0] and frame.digest[1] <= frame.signature[0] and frame.signature[1] == len(seal):
        if sum(map(len, _frames.values())) >= _MAX_FRAMES:
            _frames.clear()
        _frames.setdefault(len(seal), []).append(frame)
    return read


def seal_certificate_der(seal: bytes) -> bytes:
    """The signer's certificate a record seal carries (what the platform registered on chain, by SHA-256)."""
    try:
        return read_seal(seal).frame.certificate
    except SealRejected as e:
        raise BadInput(e.reason, f"no seal certificate can be read from the seal: {e.message}") from e


def parse_time(tag: int, text: bytes) -> datetime:
    """UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ): DER, to the second, in UTC."""
    if tag == 0x17 and _UTC_TIME.match(text):
        year = int(text[:2])
        year += 2000 if year < 50 else 1900
        rest = text[2:]
    elif tag == 0x18 and _GENERALIZED_TIME.match(text):
        year, rest = int(text[:4]), text[4:]
    else:
        raise SealRejected("seal_malformed", "the seal's signing time is not a UTC time to the second")
    try:
        return datetime(year, int(rest[0:2]), int(rest[2:4]), int(rest[4:6]), int(rest[6:8]), int(rest[8:10]),
                        tzinfo=timezone.utc)
    except ValueError:
        raise SealRejected("seal_malformed", f"the seal's signing time {text.decode()} is not a date") from None


def strict_der(cls: type[core.Asn1Value], der: bytes) -> Any:
    """``der`` parsed as ``cls``, or SealRejected if it is not DER: re-encoding must give the same bytes (SET
    order, values), and every length must be minimal (re-encoding keeps the bytes of ANY values as they are)."""
    value = cls.load(der, strict=True)
    _require_der(der, [value])
    return value


def _require_der(der: bytes, parts: list[core.Asn1Value]) -> None:
    """Every length in ``der`` minimal and definite, and each of ``parts`` (parsed from it) re-encodes to itself."""
    if not _minimal_lengths(der, 0, len(der)) or any(p.dump() != p.dump(force=True) for p in parts):
        raise SealRejected("seal_not_der", "the seal is BER but not DER (a length, a SET order or a value is not "
                                           "encoded the one way DER allows)")


def _holds_only_its_fields(value: core.Asn1Value) -> bool:
    """The value's content is exactly its fields' (or elements') encodings, nothing after them."""
    children = [value[name] for name, _, _ in value._fields] if isinstance(value, core.Sequence) else list(value)
    return len(value.contents) == sum(len(child.dump()) for child in children)


def _minimal_lengths(der: bytes, start: int, end: int) -> bool:
    """Every element from ``start`` to ``end``, and inside each constructed one, has a minimal definite length."""
    while start < end:
        _, constructed, _, header, contents, trailer = parser.parse(der[start:end])
        n = len(contents)
        size = b"" if n < 0x80 else n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([n]) if n < 0x80 else bytes([0x80 | len(size)]) + size
        if trailer or not header.endswith(length) or len(header) != _tag_length(header) + len(length):
            return False
        body = start + len(header)
        if constructed and not _minimal_lengths(der, body, body + n):
            return False
        start = body + n
    return True


def _tag_length(header: bytes) -> int:
    if header[0] & 0x1F != 0x1F:
        return 1
    i = 1
    while header[i] & 0x80:
        i += 1
    return i + 1


def _content_start(value: core.Asn1Value, start: int) -> int:
    return start + len(value.dump()) - len(value.contents)


def _child_start(parent: core.Asn1Value, start: int, index: int) -> int:
    """Where the ``index``-th child of a parsed, DER-exact value begins, ``start`` being where the parent does."""
    pos = _content_start(parent, start)
    for i in range(index):
        pos += len(parent[i].dump())
    return pos


def _span(seal: bytes, value: core.Asn1Value, start: int) -> tuple[int, int]:
    """(content start, end) of ``value`` found at ``start``; checked, as every offset here is."""
    encoded = value.dump()
    if not seal.startswith(encoded, start):
        raise SealRejected("seal_malformed", "the seal's structure could not be located")
    return _content_start(value, start), start + len(encoded)


def _frame(seal: bytes, fmt: str, certificate: bytes, algorithm_ok: bool, eseal: bytes | None,
           time: tuple[int, int, int], digest: tuple[int, int], signed: tuple[int, int],
           signature: tuple[int, int]) -> Frame:
    return Frame(fmt, certificate, algorithm_ok, eseal, time, digest, signed, signature, seal[:time[1]],
                 seal[time[2]:digest[0]], seal[digest[1]:signature[0]])


def read_signed_data(der: bytes, *, whole: bool = True) -> tuple[cms.ContentInfo, cms.SignerInfo, bytes]:
    """(ContentInfo, its one SignerInfo, the signer's certificate) of a detached id-data CMS that is DER, or
    SealRejected: what record seals and PDF seals have in common.

    ``whole=False`` re-encodes everything but the signed attributes, which the signature covers byte for byte:
    with pyHanko's attribute definitions loaded, asn1crypto re-encodes a PAdES signed attribute set in time
    exponential in its depth (~1.4 s)."""
    info = cms.ContentInfo.load(der, strict=True)
    if whole:
        _require_der(der, [info])
    if info["content_type"].native != "signed_data":
        raise SealRejected("content_type_invalid", "the seal's ContentInfo is not id-signedData")
    sd = info["content"]
    eci = sd["encap_content_info"]
    if eci["content_type"].native != "data":
        raise SealRejected("content_type_invalid", "a seal signs id-data content, this one signs "
                                                   f"{eci['content_type'].dotted}")
    if not isinstance(eci["content"], core.Void):
        raise SealRejected("seal_malformed", "a seal is detached: it must not carry what it seals")
    if len(sd["signer_infos"]) != 1:
        raise SealRejected("seal_malformed", f"a seal has one signer, this one {len(sd['signer_infos'])}")
    if not isinstance(sd["crls"], core.Void):
        raise SealRejected("seal_malformed", "a seal carries no revocation lists")
    si = sd["signer_infos"][0]
    sid = si["sid"]
    expected = {"issuer_and_serial_number": "v1", "subject_key_identifier": "v3"}[sid.name]
    if si["version"].native != expected or sd["version"].native != expected:
        raise SealRejected("seal_malformed", f"a signer identified by {sid.name} needs SignedData and SignerInfo "
                                             f"version {expected} (RFC 5652)")
    if [a.dump() for a in sd["digest_algorithms"]] != [si["digest_algorithm"].dump()]:
        raise SealRejected("seal_malformed", "the SignedData's digest algorithms are not its signer's")
    if not whole:
        certificates, attributes = [c.dump() for c in sd["certificates"]], [a.dump() for a in si["signed_attrs"]]
        _require_der(der, [info["content_type"], sd["version"], sd["digest_algorithms"], sd["encap_content_info"],
                           *sd["certificates"], si["version"], sid, si["digest_algorithm"],
                           si["signature_algorithm"], si["signature"], si["unsigned_attrs"]])
        if certificates != sorted(certificates) or attributes != sorted(attributes) or \
                not all(map(_holds_only_its_fields, (info, sd, sd["signer_infos"], si))):
            raise SealRejected("seal_not_der", "the seal's certificates or signed attributes are not in DER order, "
                                               "or a structure holds more than its fields")
    return info, si, signer_certificate(sd, sid)


def _cms_frame(seal: bytes) -> Frame:
    info, si, certificate = read_signed_data(seal)
    sd = info["content"]
    eci = sd["encap_content_info"]
    if not isinstance(si["unsigned_attrs"], core.Void):
        raise SealRejected("seal_malformed", "a record seal has no unsigned attributes")
    attrs = si["signed_attrs"]
    values: dict[str, tuple[int, Any]] = {}
    for i, attr in enumerate(attrs):
        name = attr["type"].native
        if name not in _SEAL_ATTRIBUTES or name in values or len(attr["values"]) != 1:
            raise SealRejected("seal_malformed", "a record seal's signed attributes are exactly one content-type, "
                                                 f"signing-time and message-digest value each (not {name})")
        values[name] = (i, attr["values"][0])
    if len(values) != len(_SEAL_ATTRIBUTES):
        raise SealRejected("seal_malformed", "the seal lacks the signed attribute "
                                             f"{(set(_SEAL_ATTRIBUTES) - set(values)).pop()}")
    if values["content_type"][1].native != eci["content_type"].native:
        raise SealRejected("content_type_invalid", "the signed content-type attribute differs from the content type")
    if len(values["message_digest"][1].native) != _DIGEST_LENGTH:
        raise SealRejected("seal_malformed", "the message digest is not a SHA-256 digest")
    algorithm_ok = si["digest_algorithm"].dump() in _SHA256 and si["signature_algorithm"].dump() == _ECDSA_SHA256

    sd_start = _child_start(info, 0, 1)
    _span(seal, sd, sd_start)
    si_start = _child_start(sd["signer_infos"], _child_start(sd, sd_start, 5), 0)
    attrs_start = _child_start(si, si_start, 3)
    signed = (attrs_start, _span(seal, attrs, attrs_start)[1])
    found = {}
    for name in ("signing_time", "message_digest"):
        index, value = values[name]
        attr = attrs[index]
        start = _child_start(attr["values"], _child_start(attr, _child_start(attrs, attrs_start, index), 1), 0)
        found[name] = (seal[start], *_span(seal, value.chosen if name == "signing_time" else value, start))
    signature = _span(seal, si["signature"], _child_start(si, si_start, 5))
    return _frame(seal, "cms", certificate, algorithm_ok, None, found["signing_time"], found["message_digest"][1:],
                  signed, signature)


def signer_certificate(sd: cms.SignedData, sid: cms.SignerIdentifier) -> bytes:
    """The one embedded certificate the SignerIdentifier names (issuer and serial, or subject key id)."""
    matches = set()
    for choice in sd["certificates"] if not isinstance(sd["certificates"], core.Void) else ():
        if choice.name != "certificate":
            continue
        cert: x509.Certificate = choice.chosen
        if sid.name == "issuer_and_serial_number":
            named = sid.chosen
            if cert.serial_number == named["serial_number"].native and cert.issuer == named["issuer"]:
                matches.add(cert.dump())
        elif cert.key_identifier is not None and cert.key_identifier == sid.chosen.native:
            matches.add(cert.dump())
    if len(matches) != 1:
        raise SealRejected("signer_certificate_missing",
                           "the seal does not carry the certificate its signer identifier names" if not matches else
                           "the seal carries several certificates for its one signer")
    return matches.pop()


def _ses_frame(seal: bytes) -> Frame:
    sig = strict_der(SESSignature, seal)
    tbs = sig["to_sign"]
    if tbs["version"].native != 4 or not isinstance(tbs["ext_datas"], core.Void):
        raise SealRejected("seal_malformed", "a GB/T 38540 record seal is a version 4 TBS_Sign without extensions")
    if not isinstance(sig["time_stamp"], core.Void):
        raise SealRejected("seal_malformed", "a record seal carries no time stamp")
    for name, value in (("dataHash", tbs["data_hash"]), ("signature", sig["signature"])):
        if not value.contents or value.contents[0] != 0:
            raise SealRejected("seal_malformed", f"the seal's {name} is not a whole number of bytes")
    if len(tbs["data_hash"].contents) != _DIGEST_LENGTH + 1:
        raise SealRejected("seal_malformed", "the seal's dataHash is not an SM3 digest")
    tbs_start = _child_start(sig, 0, 0)
    _, tbs_end = _span(seal, tbs, tbs_start)
    time_start = _child_start(tbs, tbs_start, 2)
    time = _span(seal, tbs["time_info"], time_start)
    digest = _span(seal, tbs["data_hash"], _child_start(tbs, tbs_start, 3))
    signature = _span(seal, sig["signature"], _child_start(sig, 0, 3))
    return _frame(seal, "ses", sig["cert"].native, sig["signature_alg_id"].dotted == SM2_WITH_SM3_OID,
                  tbs["eseal"].dump(), (seal[time_start], *time), (digest[0] + 1, digest[1]), (tbs_start, tbs_end),
                  (signature[0] + 1, signature[1]))
