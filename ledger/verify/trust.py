"""The trust list (`certledger/trust/1`): what a verifier must trust, outside any bundle.

A bundle names its chain, its contract and its city root itself, so on its own it proves nothing: anyone can
deploy a look-alike contract, make a "city root" and seal a forged record under it. The trust list is the
platform's statement of what is genuine: the chain id, every CertLedger deployment (address and the block it was
deployed in; a redeploy adds one, so bundles of an earlier one keep verifying), the city seal roots and the
platform's audit-writer account (the anchorer of access-log entries) and, when the administrator added some, the
credential issuers of other cities whose W3C VCs the counters accept (``issuers``: DID, name, pinned DID document,
the URL prefix their status lists may be fetched from). It is sealed by the city root: a detached
CMS SignedData (ECDSA P-256/SHA-256, the root certificate embedded) over the RFC 8785 canonical JSON of the list
without its ``seal`` member, so a copy can be checked offline (``openssl cms -verify``, docs/proof-bundle.md).

The seal proves the list is the root's; that the root is the city's is checked once, out of band: compare its
SHA-256 (``seal_roots[].sha256``) with the one the city publishes, or pin it with ``--root``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from eth_utils import to_checksum_address

from ledger.core.checks import Status
from ledger.core.errors import BadInput, TooLarge
from ledger.verify.bundle import pem_certificate, trusted_root_der
from signer.certificates import describe_certificate
from signer.keys import SigningKey
from signer.record_seal import Sealer
from signer.registry import SealRegistry
from signer.verify import SealVerifier

TRUST_FORMAT = "certledger/trust/1"
TRUST_FILE_ENV = "CERTLEDGER_TRUST_FILE"  # the trust list `certledger verify` reads without --trust
MAX_TRUST_BYTES = 200_000
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_BODY_KEYS = frozenset({"format", "issued_at", "chain_id", "deployments", "seal_roots", "audit_writer", "issuers"})
# What the trust list's seal must pass (signer.verify.CHECKS less seal_signer_matches: a root names no department).
_SEAL_CHECKS = ("seal_intact", "seal_chain", "seal_certificate_valid")


@dataclass(frozen=True)
class TrustedDeployment:
    address: str  # EIP-55
    from_block: int
    tx_hash: str | None = None


@dataclass(frozen=True)
class ForeignIssuer:
    """Another city's issuer: its DID document is pinned here, so checking its credentials needs no network."""

    did: str
    name: str
    did_document: Mapping[str, Any] = field(hash=False)  # compared, not hashed (a dict): trust lists key caches
    status_url_prefix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"did": self.did, "name": self.name, "did_document": dict(self.did_document),
                "status_url_prefix": self.status_url_prefix}


@dataclass(frozen=True)
class TrustList:
    """What a verifier trusts: one chain, its genuine deployments, the seal roots, the audit writer."""

    chain_id: int
    deployments: tuple[TrustedDeployment, ...]
    seal_roots: tuple[bytes, ...]  # DER; the first P-256 one seals the list
    audit_writer: str | None = None
    issued_at: str | None = None
    issuers: tuple[ForeignIssuer, ...] = ()

    def issuer(self, did: str) -> ForeignIssuer | None:
        return next((i for i in self.issuers if i.did == did), None)

    @cached_property
    def _contracts(self) -> frozenset[str]:
        """The deployments' addresses, lower case: every verification asks about its contract (twice)."""
        return frozenset(d.address.lower() for d in self.deployments)

    def trusts_contract(self, address: str) -> bool:
        return address.lower() in self._contracts

    def deployment(self, address: str) -> TrustedDeployment | None:
        return next((d for d in self.deployments if d.address.lower() == address.lower()), None)

    def body(self) -> dict[str, Any]:
        """The list as JSON, without its seal: what the city root signs (as RFC 8785 bytes)."""
        roots = []
        for der in self.seal_roots:
            roots.append({"algorithm": describe_certificate(der).algorithm, "sha256": hashlib.sha256(der).hexdigest(),
                          "certificate_pem": pem_certificate(der)})
        body = {
            "format": TRUST_FORMAT,
            "issued_at": self.issued_at or dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "chain_id": self.chain_id,
            "deployments": [{"address": d.address, "from_block": d.from_block, "tx_hash": d.tx_hash}
                            for d in self.deployments],
            "seal_roots": roots,
            "audit_writer": self.audit_writer,
        }
        if self.issuers:  # absent when there are none: lists sealed before foreign issuers existed read the same
            body["issuers"] = [i.to_dict() for i in self.issuers]
        return body

    def sealing_root(self) -> bytes:
        """The root whose key seals the list: the first P-256 one."""
        for der in self.seal_roots:
            if describe_certificate(der).algorithm == "p256":
                return der
        raise BadInput("trust_list_malformed", "信任列表没有 P-256 根证书 / the trust list has no P-256 seal root to "
                       "check its seal with")


def no_trust_list() -> BadInput:
    """Why nothing is verified without a trust list, and how to get one."""
    return BadInput("trust_list_missing", "没有信任列表，无法验证 / no trust list, so nothing to verify against: get the "
                    "platform's with `curl -o trust.json https://<platform>/public/trust` (operators: certledger "
                    "trust export) and pass --trust trust.json, or set CERTLEDGER_TRUST_FILE")


def seal_trust_list(body: Mapping[str, Any], root_key: SigningKey, root_der: bytes) -> dict[str, Any]:
    """The trust list document: ``body`` and the city root's detached CMS seal over its canonical JSON."""
    seal = Sealer(root_key, root_der).seal_records([dict(body)])[0]
    return {**body, "seal": {"format": "cms", "der": base64.b64encode(seal).decode("ascii")}}


def _malformed(problem: str) -> BadInput:
    return BadInput("trust_list_malformed", f"信任列表格式错误 / the trust list {problem}; see docs/proof-bundle.md")


def _deployments(items: Any) -> tuple[TrustedDeployment, ...]:
    if not isinstance(items, list) or not items:
        raise _malformed("names no deployment")
    out = []
    for d in items:
        if not isinstance(d, Mapping) or not isinstance(d.get("address"), str) or not _ADDRESS.match(d["address"]):
            raise _malformed("has a deployment without a 0x address")
        if isinstance(d.get("from_block"), bool) or not isinstance(d.get("from_block"), int) or d["from_block"] < 0:
            raise _malformed(f"deployment {d['address']} has no from_block")
        out.append(TrustedDeployment(to_checksum_address(d["address"]), d["from_block"], d.get("tx_hash")))
    return tuple(out)


def _roots(items: Any) -> tuple[bytes, ...]:
    if not isinstance(items, list) or not items:
        raise _malformed("names no seal root")
    roots = []
    for r in items:
        if not isinstance(r, Mapping) or not isinstance(r.get("certificate_pem"), str):
            raise _malformed("has a seal root without certificate_pem")
        der = trusted_root_der(r["certificate_pem"])
        if r.get("sha256") != hashlib.sha256(der).hexdigest():
            raise _malformed("has a seal root whose sha256 is not its certificate's")
        roots.append(der)
    return tuple(roots)


def _issuers(items: Any) -> tuple[ForeignIssuer, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise _malformed("has issuers that are not a list")
    out = []
    for i in items:
        if (not isinstance(i, Mapping) or not isinstance(i.get("did"), str) or not isinstance(i.get("name"), str)
                or not isinstance(i.get("did_document"), Mapping)):
            raise _malformed("has an issuer without did, name and did_document")
        prefix = i.get("status_url_prefix")
        if prefix is not None and not isinstance(prefix, str):
            raise _malformed(f"has issuer {i['did']} with a status_url_prefix that is not a string")
        out.append(ForeignIssuer(i["did"], i["name"], dict(i["did_document"]), prefix))
    return tuple(out)


def _parse(data: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(data, (str, bytes, bytearray)):
        if len(data) > MAX_TRUST_BYTES:
            raise TooLarge("trust_list_too_large", f"a trust list is at most {MAX_TRUST_BYTES:,} bytes")
        try:
            data = json.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise _malformed(f"is not JSON ({e})") from None
    if not isinstance(data, Mapping) or data.get("format") != TRUST_FORMAT:
        raise _malformed(f"is not a {TRUST_FORMAT} document")
    unknown = sorted(set(data) - _BODY_KEYS - {"seal"})
    if unknown:
        raise _malformed(f"has unknown keys {unknown}")
    return dict(data)


def load_trust_list(data: str | bytes | Mapping[str, Any], *, root_pem: str | bytes | None = None) -> TrustList:
    """A trust list from its JSON, after checking its seal (BadInput ``trust_list_seal_invalid`` otherwise).

    ``root_pem``, when given, is the city root the caller already trusts: the list must be sealed by it."""
    doc = _parse(data)
    if isinstance(doc.get("chain_id"), bool) or not isinstance(doc.get("chain_id"), int) or doc["chain_id"] <= 0:
        raise _malformed("has no positive chain_id")
    writer = doc.get("audit_writer")
    if writer is not None and (not isinstance(writer, str) or not _ADDRESS.match(writer)):
        raise _malformed("has an audit_writer that is not an address")
    trust = TrustList(doc["chain_id"], _deployments(doc.get("deployments")), _roots(doc.get("seal_roots")),
                      writer and to_checksum_address(writer), doc.get("issued_at"), _issuers(doc.get("issuers")))
    sealing_root = trust.sealing_root()
    if root_pem is not None and trusted_root_der(root_pem) != sealing_root:
        raise BadInput("trust_list_untrusted_root", "信任列表不是由您信任的城市根证书签发的 / the trust list is sealed by "
                       f"a root other than the one you trust (its root has SHA-256 {hashlib.sha256(sealing_root).hexdigest()})")
    _check_seal(doc, sealing_root)
    return trust


def _check_seal(doc: Mapping[str, Any], root_der: bytes) -> None:
    seal = doc.get("seal")
    if not isinstance(seal, Mapping) or seal.get("format") != "cms" or not isinstance(seal.get("der"), str):
        raise BadInput("trust_list_seal_invalid", "信任列表未签章 / the trust list carries no seal "
                       '({"format": "cms", "der": base64}); get a sealed copy from the platform')
    try:
        seal_der = base64.b64decode(seal["der"], validate=True)
    except (binascii.Error, ValueError):
        raise BadInput("trust_list_seal_invalid", "the trust list's seal is not base64") from None
    body = {k: v for k, v in doc.items() if k != "seal"}
    try:
        checks = SealVerifier(SealRegistry(root_der=root_der)).verify_record(body, seal_der,
                                                                              issuer_code_key="certledger:none")
    except BadInput as e:
        raise BadInput("trust_list_seal_invalid", f"信任列表签章无效 / the trust list's seal is invalid: {e.message}") from None
    failed = next((c for c in checks if c.name in _SEAL_CHECKS and c.status is not Status.VALID), None)
    if failed is not None:
        raise BadInput("trust_list_seal_invalid", f"信任列表签章无效 / the trust list's seal fails {failed.name} "
                       f"({failed.reason}): the list was changed or not sealed by its city root")
