"""Proof bundles (`certledger/bundle/1`): one certificate with everything needed to verify it from a chain node.

A bundle carries the record (with its salt), its seal, the leaf, the Merkle proof and root, where the
root was anchored, and the trust data (city root and seal certificate). The document itself is not
included, only its CID and digest. The format is documented in docs/proof-bundle.md; anyone with a
JSON-RPC endpoint can check a bundle without this service (``verify_bundle_standalone``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from asn1crypto import pem

from ledger.core.errors import BadInput, TooLarge
from signer.record_seal import seal_certificate_der, seal_format

if TYPE_CHECKING:
    pass

BUNDLE_FORMAT = "certledger/bundle/1"
PUBLIC_PROOF_FORMAT = "certledger/public-proof/1"
MAX_BUNDLE_BYTES = 1_000_000
MAX_PROOF_LENGTH = 64
SEAL_FORMATS = ("cms", "ses")

_HEX32 = re.compile(r"^0x[0-9a-f]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_TOP_KEYS = frozenset({
    "format", "identifier", "record", "seal", "leaf", "root", "proof", "chain", "trust", "document", "exported_at",
})
# A public proof (ledger.verify.public_proof): a bundle whose record and document are replaced by a public summary.
_PUBLIC_KEYS = _TOP_KEYS - {"record", "document"} | {"summary", "record_included"}



def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def pem_certificate(der: bytes) -> str:
    return pem.armor("CERTIFICATE", der).decode("ascii")


def _pem_der(text: str) -> bytes:
    """DER of one PEM certificate; ValueError saying why not."""
    try:
        kind, _, der = pem.unarmor(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError, AttributeError) as e:
        raise ValueError(f"is not a PEM certificate ({e})") from e
    if kind != "CERTIFICATE":
        raise ValueError(f"is a PEM {kind!r}, not a CERTIFICATE")
    return der


def der_certificate(text: str, what: str) -> bytes:
    """DER of a PEM certificate in a bundle; BadInput ``bundle_malformed`` naming ``what`` when it is not one."""
    try:
        return _pem_der(text)
    except ValueError as e:
        raise _malformed(what, str(e)) from None


def trusted_root_der(root_pem: str | bytes) -> bytes:
    """The city root a verifier is told to trust, from PEM."""
    try:
        return _pem_der(root_pem.decode("ascii", "replace") if isinstance(root_pem, bytes) else root_pem)
    except ValueError as e:
        raise BadInput("root_pem_malformed", f"the trusted city root {e}; give the city seal root certificate "
                                             "in PEM (-----BEGIN CERTIFICATE-----)") from None


def build_bundle(
    *,
    record: Mapping[str, Any],
    seal: bytes,
    leaf: bytes,
    root: bytes,
    proof: Sequence[bytes],
    chain_id: int,
    contract: str,
    tx_hash: bytes | None,
    block_number: int,
    anchored_at: dt.datetime,
    city_root_der: bytes,
    exported_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """A bundle from its parts (``export_bundle`` reads them from the database)."""
    file = record.get("file")
    return {
        "format": BUNDLE_FORMAT,
        "identifier": record["identifier"],
        "record": dict(record),
        "seal": {"format": seal_format(seal), "der": base64.b64encode(seal).decode("ascii")},
        "leaf": _hex(leaf),
        "root": _hex(root),
        "proof": [_hex(p) for p in proof],
        "chain": {
            "chain_id": chain_id,
            "contract": contract,
            "tx_hash": _hex(tx_hash) if tx_hash else None,
            "block_number": block_number,
            "anchored_at": anchored_at.astimezone(dt.UTC).isoformat(),
        },
        "trust": {
            "city_root_pem": pem_certificate(city_root_der),
            "seal_certificate_pem": pem_certificate(seal_certificate_der(seal)),
        },
        "document": {"cid": file["cid"], "sha256": file["sha256"]} if isinstance(file, Mapping) else None,
        "exported_at": (exported_at or dt.datetime.now(dt.UTC)).isoformat(),
    }


def _malformed(path: str, problem: str) -> BadInput:
    return BadInput("bundle_malformed", f"the proof bundle's {path} {problem}; see docs/proof-bundle.md", path=path)


def _require(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], path: str) -> Any:
    if key not in obj:
        raise _malformed(f"{path}{key}", "is missing")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise _malformed(f"{path}{key}", f"must be a {names}, not {type(value).__name__}")
    return value


def _hash32(obj: Mapping[str, Any], key: str, path: str = "") -> str:
    value = _require(obj, key, str, path)
    if not _HEX32.match(value):
        raise _malformed(f"{path}{key}", "must be 0x followed by 64 lower-case hex digits")
    return value


def _iso_time(obj: Mapping[str, Any], key: str, path: str) -> str:
    value = _require(obj, key, str, path)
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        raise _malformed(f"{path}{key}", f"is not an ISO 8601 time: {value!r}") from None
    return value


def _record_or_summary(data: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The record of a bundle, the public summary of a public proof."""
    if data["format"] == BUNDLE_FORMAT:
        return "record", _require(data, "record", dict, "")
    if data.get("record_included") is not False:
        raise _malformed("record_included", "must be false in a public proof")
    return "summary", _require(data, "summary", dict, "")


def load_bundle(data: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    """A bundle or a public proof from JSON text (or an already parsed object), checked field by field.

    Only the shape is checked here; whether it is true is what verification decides.
    """
    if isinstance(data, (str, bytes, bytearray)):
        if len(data) > MAX_BUNDLE_BYTES:
            raise TooLarge("bundle_too_large", f"a proof bundle is at most {MAX_BUNDLE_BYTES:,} bytes; this one is "
                                               f"{len(data):,}: it is not a certledger bundle")
        try:
            data = json.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise BadInput("bundle_malformed", f"the proof bundle is not valid JSON: {e}") from e
    if not isinstance(data, Mapping):
        raise BadInput("bundle_malformed", "a proof bundle is a JSON object; see docs/proof-bundle.md")
    if data.get("format") not in (BUNDLE_FORMAT, PUBLIC_PROOF_FORMAT):
        raise _malformed("format", f"is {data.get('format')!r}; this verifier reads {BUNDLE_FORMAT!r} and "
                                   f"{PUBLIC_PROOF_FORMAT!r}")
    unknown = sorted(set(data) - (_TOP_KEYS if data["format"] == BUNDLE_FORMAT else _PUBLIC_KEYS))
    if unknown:
        raise _malformed("top level", f"has unknown keys {unknown}")
    identifier = _require(data, "identifier", str, "")
    what, record = _record_or_summary(data)
    if record.get("identifier") != identifier:
        raise _malformed(f"{what}.identifier", f"is {record.get('identifier')!r}, not the bundle's {identifier!r}")
    seal = _require(data, "seal", dict, "")
    if _require(seal, "format", str, "seal.") not in SEAL_FORMATS:
        raise _malformed("seal.format", f"must be one of {list(SEAL_FORMATS)}")
    try:
        seal_der = base64.b64decode(_require(seal, "der", str, "seal."), validate=True)
    except (binascii.Error, ValueError):
        raise _malformed("seal.der", "is not base64") from None
    if seal_format(seal_der) != seal["format"]:
        raise _malformed("seal.format", f"says {seal['format']!r} but the seal is {seal_format(seal_der)!r}")
    _hash32(data, "leaf")
    _hash32(data, "root")
    proof = _require(data, "proof", list, "")
    if len(proof) > MAX_PROOF_LENGTH:
        raise _malformed("proof", f"has {len(proof)} elements; a proof has at most {MAX_PROOF_LENGTH}")
    for i, element in enumerate(proof):
        if not isinstance(element, str) or not _HEX32.match(element):
            raise _malformed(f"proof[{i}]", "must be 0x followed by 64 lower-case hex digits")
    chain = _require(data, "chain", dict, "")
    if _require(chain, "chain_id", int, "chain.") <= 0:
        raise _malformed("chain.chain_id", "must be a positive integer")
    if not _ADDRESS.match(_require(chain, "contract", str, "chain.")):
        raise _malformed("chain.contract", "must be a 0x-prefixed 20-byte address")
    if chain.get("tx_hash") is not None:
        _hash32(chain, "tx_hash", "chain.")
    if _require(chain, "block_number", int, "chain.") < 0:
        raise _malformed("chain.block_number", "must not be negative")
    _iso_time(chain, "anchored_at", "chain.")
    trust = _require(data, "trust", dict, "")
    der_certificate(_require(trust, "city_root_pem", str, "trust."), "trust.city_root_pem")
    der_certificate(_require(trust, "seal_certificate_pem", str, "trust."), "trust.seal_certificate_pem")
    document = data.get("document")
    if document is not None:
        if not isinstance(document, dict):
            raise _malformed("document", "must be an object with cid and sha256, or null")
        _require(document, "cid", str, "document.")
        if not re.fullmatch(r"[0-9a-f]{64}", _require(document, "sha256", str, "document.")):
            raise _malformed("document.sha256", "must be 64 lower-case hex digits")
    _iso_time(data, "exported_at", "")
    return dict(data)


