"""Certificate verification, the counters' core: named fragments over a proof bundle, one verdict.

Each fragment checks one link, so a failure names what was tampered with:

- ``record_integrity``: the record hashes (RFC 8785, SHA-256, standard leaf) to the bundle's leaf;
- ``merkle_proof``: the proof leads from that leaf to the bundle's root;
- ``anchor_on_chain``: the root is anchored on the ledger contract, by an account registered as a
  department (the contract lets only an active issuer anchor, so an anchor implies one then);
- ``anchor_issuer``: that account's on-chain credit-code hash is the record's issuing department, and
  the record seal's certificate is one the platform registered on chain for that account;
- ``seal``: the record seal (signer checks, also listed one by one: seal_intact, seal_chain,
  seal_certificate_valid, seal_signer_matches), judged at the anchor's block time;
- ``status``: the leaf's status on chain is 01 (valid);
- ``validity_period``: today (China time) lies within valid_from .. valid_until;
- ``document_digest`` (and ``document_seal`` for a PDF): the document at hand is the one sealed.

Chain reads are cached where the chain cannot change them (an anchor once set, an organization's
kind and credit-code hash, fingerprint events up to a scanned block); statuses are cached for at
most ``status_max_age`` seconds after a change on chain (0 for the standalone verifier: always read).
A cache miss costs one ``verify(root, leaf, proof)`` eth_call, which answers anchor, inclusion and
status together.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import logging
import re
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eth_utils import event_abi_to_log_topic
from sqlalchemy import select
from sqlalchemy.orm import aliased
from web3.exceptions import BadFunctionCallOutput, ContractLogicError, Web3Exception

from ledger.bundle import der_certificate, is_anchored, load_bundle, load_certificate, stored_bundle
from ledger.chain import ChainClient
from ledger.checks import Check, Status, verdict
from ledger.contract import LeafStatus, LedgerContract, OrganizationInfo, OrgKind, uscc_hash
from ledger.errors import BadInput, CertledgerError, NotFound
from ledger.identifiers import PREFIX, parse_identifier
from ledger.merkle import process_proof
from ledger.record import check_record, record_leaf
from ledger.records import Certificate
from signer.pdf_seal import open_pdf
from signer.pdf_verify import verify_pdf as pdf_seal_checks
from signer.record_seal import seal_certificate_der
from signer.registry import SealRegistry
from signer.verify import SealVerifier

if TYPE_CHECKING:
    from ledger.library import Library

log = logging.getLogger(__name__)

REQUIRED = ("record_integrity", "merkle_proof", "anchor_on_chain", "anchor_issuer", "seal", "status",
            "validity_period")
CHINA_TIME = dt.timezone(dt.timedelta(hours=8))
SERVICE_STATUS_MAX_AGE = 1.0  # seconds a status read by the service may be reused
_STATUS_CACHE_LIMIT = 200_000
_IDENTIFIER_IN_TEXT = re.compile(re.escape(PREFIX) + r"\.[0-9A-Z]{21}\.[0-9A-Z]{18}\.\d{11}\.\d{3}\.[0-9A-Z]")


@dataclass(frozen=True)
class VerificationResult:
    verdict: Status
    checks: list[Check]
    certificate: dict[str, Any] = field(default_factory=dict)

    def check(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict.value, "checks": [c.to_dict() for c in self.checks],
                "certificate": self.certificate}


@dataclass(frozen=True)
class _Anchor:
    issuer: str
    block_number: int
    timestamp: int


class ChainFacts:
    """Reads of one ledger contract, cached where the chain cannot change them; thread-safe."""

    def __init__(self, contract: LedgerContract, *, status_max_age: float = 0.0) -> None:
        self.contract = contract
        self.status_max_age = status_max_age
        self._anchors: dict[bytes, _Anchor] = {}
        self._statuses: dict[tuple[bytes, bytes], int] = {}
        self._status_block: int | None = None  # StatusChanged events are applied up to this block
        self._status_checked = 0.0
        self._orgs: dict[str, OrganizationInfo] = {}
        self._fingerprints: dict[str, dict[bytes, int]] = {}  # account -> fingerprint -> first block
        self._scanned: dict[str, int] = {}  # account -> last block scanned for seal events
        self._lock = threading.Lock()
        events = {e["name"]: e for e in contract.abi if e.get("type") == "event"}
        self._seal_events = {event_abi_to_log_topic(events[n]): n for n in ("OrganizationRegistered", "SealRotated")}
        self._status_topic = _topic_hex(event_abi_to_log_topic(events["StatusChanged"]))

    def anchor_and_status(self, root: bytes, leaf: bytes, proof: list[bytes]) -> tuple[_Anchor | None, int]:
        """The root's anchor (None if not anchored) and the leaf's status code.

        With ``status_max_age`` > 0 statuses are cached, and the StatusChanged events since the last look
        drop changed entries at most ``status_max_age`` seconds after the change: one eth_getLogs per
        period for all certificates, instead of one eth_call per verification."""
        anchor = self._anchors.get(root)
        if self.status_max_age > 0:
            self._apply_status_events()
            cached = self._statuses.get((root, leaf)) if anchor is not None else None
            if cached is not None:
                return anchor, cached
        scanned = self._status_block
        answer = self.contract.verify(root, leaf, proof)
        if answer.issuer is None:
            return None, answer.status
        anchor = _Anchor(answer.issuer, answer.block_number, answer.timestamp)
        self._anchors[root] = anchor
        # Cached only if no event scan ran meanwhile: the answer may predate the block that scan reached.
        if self.status_max_age > 0 and scanned == self._status_block:
            if len(self._statuses) >= _STATUS_CACHE_LIMIT:
                self._statuses.clear()
            self._statuses[(root, leaf)] = answer.status
        return anchor, answer.status

    def _apply_status_events(self) -> None:
        if time.monotonic() - self._status_checked <= self.status_max_age:
            return
        with self._lock:
            if time.monotonic() - self._status_checked <= self.status_max_age:
                return
            client = self.contract.client
            head = client.call_rpc(lambda: client.w3.eth.block_number)
            if self._status_block is not None and head > self._status_block:
                logs = client.call_rpc(lambda: client.w3.eth.get_logs(
                    {"address": self.contract.address, "fromBlock": self._status_block + 1, "toBlock": head,
                     "topics": [self._status_topic]}))
                for lg in logs:
                    self._statuses.pop((bytes(lg["topics"][1]), bytes(lg["topics"][2])), None)
            # Statuses read from now on are at least as new as `head`; later changes are caught next time.
            self._status_block = max(head, self._status_block or 0)
            self._status_checked = time.monotonic()

    def organization(self, account: str) -> OrganizationInfo | None:
        """Registration of an account; its kind and credit-code hash never change once set."""
        info = self._orgs.get(account)
        if info is None:
            info = self.contract.organization(account)
            if info is not None:
                self._orgs[account] = info
        return info

    def fingerprint_block(self, account: str, fingerprint: bytes) -> int | None:
        """The block in which the platform registered ``fingerprint`` for ``account`` (at registration or a
        seal rotation), or None if it never did. Events are scanned once; later calls scan only new blocks."""
        with self._lock:
            known = self._fingerprints.setdefault(account, {})
            if fingerprint in known:
                return known[fingerprint]
            client = self.contract.client
            head = client.call_rpc(lambda: client.w3.eth.block_number)
            start = self._scanned.get(account, -1) + 1
            if start <= head:
                topics = [list(map(_topic_hex, self._seal_events)), "0x" + "00" * 12 + account[2:].lower()]
                logs = client.call_rpc(lambda: client.w3.eth.get_logs(
                    {"address": self.contract.address, "fromBlock": start, "toBlock": head, "topics": topics}))
                for lg in logs:
                    name = self._seal_events[bytes(lg["topics"][0])]
                    args = getattr(self.contract.contract.events, name)().process_log(lg)["args"]
                    fp = args["sealFingerprint"] if name == "OrganizationRegistered" else args["newFingerprint"]
                    known.setdefault(bytes(fp), lg["blockNumber"])
                self._scanned[account] = head
            return known.get(fingerprint)


_uscc_hash = functools.lru_cache(maxsize=4096)(uscc_hash)


def _topic_hex(topic: bytes) -> str:
    return "0x" + topic.hex()


def _seal_failure(checks: list[Check]) -> Check | None:
    return next((c for c in checks if c.status is not Status.VALID), None)


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) and value else None


class Verifier:
    """Verifies bundles against one ledger contract; the service and the standalone verifier share it.

    ``seal_registry`` is the platform's trust data (a registry, or a function returning the current one:
    revocations then apply); without it the seal is checked against ``trust_root_der`` or, failing that,
    the bundle's own city root. ``successor`` names the current version of a superseded certificate.
    """

    def __init__(
        self,
        contract: LedgerContract,
        seal_registry: SealRegistry | Callable[[], SealRegistry] | None = None,
        trust_root_der: bytes | None = None,
        *,
        now: dt.datetime | None = None,
        status_max_age: float = 0.0,
        successor: Callable[[str], str | None] | None = None,
    ) -> None:
        self.chain = ChainFacts(contract, status_max_age=status_max_age)
        self._registry = seal_registry
        self._trust_root = trust_root_der
        self._now = now
        self._successor = successor
        self._seal_verifiers: dict[bytes, tuple[SealRegistry, SealVerifier]] = {}

    # ------------------------------------------------------------------ entry points

    def verify_bundle(self, bundle: Mapping[str, Any], document: bytes | None = None, *,
                      pdf: bool = False) -> VerificationResult:
        """All fragments for a bundle (``load_bundle`` shape); ``document`` is checked when given,
        and its PDF seal too when ``pdf``. A bundle whose root is None is issued but not yet anchored."""
        record = bundle["record"]
        seal = base64.b64decode(bundle["seal"]["der"])
        leaf = bytes.fromhex(bundle["leaf"][2:])
        root = bytes.fromhex(bundle["root"][2:]) if bundle.get("root") else None
        proof = [bytes.fromhex(p[2:]) for p in bundle.get("proof") or []]
        department = record.get("issuing_department_code") if isinstance(record, Mapping) else None

        checks: list[Check] = [self._record_integrity(record, leaf)]
        if root is None:
            pending = ("not_yet_anchored", "the certificate is issued but not yet anchored; verify again after "
                                           "the next anchoring batch")
            anchor, status_code = None, None
            checks += [Check("merkle_proof", Status.SKIPPED, *pending), Check("anchor_on_chain", Status.SKIPPED, *pending)]
        else:
            checks.append(self._merkle_proof(leaf, root, proof))
            anchor, status_code, anchored = self._anchor_on_chain(bundle, leaf, root, proof)
            checks.append(anchored)
        checks.append(self._anchor_issuer(anchor, department, seal, checks[-1]))
        seal_verifier, root_source = self._seal_verifier(bundle)
        checks += self._seal(seal_verifier, root_source, record, seal, anchor)
        checks.append(self._status(record, anchor, status_code))
        checks.append(self._validity(record))
        required = list(REQUIRED)
        if document is not None or pdf:
            checks.append(self._document_digest(record, document))
            required.append("document_digest")
            if pdf and document is not None:
                checks.append(self._document_seal(seal_verifier, document, department))
                required.append("document_seal")
        else:
            checks.append(Check("document_digest", Status.SKIPPED, "no_document",
                                "no document was given; pass the PDF to check it against the record"))
        result = VerificationResult(verdict(checks, required), checks, _summary(record, bundle, anchor, status_code))
        log.info("certificate verified", extra={"identifier": bundle.get("identifier"),
                                                "verdict": result.verdict.value})
        return result

    # ------------------------------------------------------------------ fragments

    @staticmethod
    def _record_integrity(record: Any, leaf: bytes) -> Check:
        try:
            check_record(record)
            computed = record_leaf(record)
        except BadInput as e:
            return Check("record_integrity", Status.INVALID, e.code, e.message)
        data = {"leaf": "0x" + computed.hex()}
        if computed != leaf:
            return Check("record_integrity", Status.INVALID, "leaf_mismatch",
                         "the record differs from the one that was anchored: its hash is not the bundle's leaf", data)
        return Check("record_integrity", Status.VALID, "leaf_matches", "", data)

    @staticmethod
    def _merkle_proof(leaf: bytes, root: bytes, proof: list[bytes]) -> Check:
        reached = process_proof(leaf, proof)
        data = {"root": "0x" + root.hex(), "length": len(proof)}
        if reached != root:
            data["reached"] = "0x" + reached.hex()
            return Check("merkle_proof", Status.INVALID, "proof_mismatch",
                         "the proof does not lead from the leaf to the root: it belongs to another leaf or root", data)
        return Check("merkle_proof", Status.VALID, "proof_reaches_root", "", data)

    def _anchor_on_chain(self, bundle: Mapping[str, Any], leaf: bytes, root: bytes,
                         proof: list[bytes]) -> tuple[_Anchor | None, int | None, Check]:
        name = "anchor_on_chain"
        claimed = bundle.get("chain") or {}
        contract = self.chain.contract
        try:
            chain_id = contract.client.chain_id
            if claimed.get("chain_id") not in (None, chain_id):
                return None, None, Check(name, Status.INVALID, "wrong_chain",
                                         f"the bundle was anchored on chain {claimed['chain_id']}, but this node serves "
                                         f"chain {chain_id}: use an RPC endpoint of that chain")
            if claimed.get("contract") and claimed["contract"].lower() != contract.address.lower():
                return None, None, Check(name, Status.INVALID, "wrong_contract",
                                         f"the bundle names the ledger contract {claimed['contract']}, this verifier "
                                         f"reads {contract.address}")
            anchor, status = self.chain.anchor_and_status(root, leaf, proof)
            org = self.chain.organization(anchor.issuer) if anchor else None
        except CertledgerError as e:
            return None, None, Check(name, Status.ERROR, e.code, e.message)
        except (BadFunctionCallOutput, ContractLogicError) as e:
            return None, None, Check(name, Status.INVALID, "contract_not_found",
                                     f"no CertLedger contract answers at {contract.address} on chain {chain_id}: {e}")
        except Web3Exception as e:
            return None, None, Check(name, Status.ERROR, "chain_error", f"the chain node failed to answer: {e}")
        if anchor is None:
            return None, None, Check(name, Status.INVALID, "root_not_anchored",
                                     f"the root 0x{root.hex()} was never anchored on the ledger contract")
        data = {"issuer": anchor.issuer, "block_number": anchor.block_number,
                "anchored_at": _utc(anchor.timestamp).isoformat(), "chain_id": chain_id}
        if org is None or org.kind is not OrgKind.DEPARTMENT:
            kind = org.kind.name.lower() if org else "unregistered"
            return anchor, status, Check(name, Status.INVALID, "issuer_not_department",
                                         f"the root was anchored by {anchor.issuer}, an account registered as "
                                         f"{kind}, not an issuing department", data)
        if claimed.get("block_number") not in (None, anchor.block_number):
            return anchor, status, Check(name, Status.INVALID, "anchor_mismatch",
                                         f"the bundle says block {claimed['block_number']}, the chain anchored the "
                                         f"root in block {anchor.block_number}", data)
        return anchor, status, Check(name, Status.VALID, "anchored_by_department", "", data)

    def _anchor_issuer(self, anchor: _Anchor | None, department: Any, seal: bytes, anchored: Check) -> Check:
        name = "anchor_issuer"
        if anchor is None or anchored.status is not Status.VALID:
            return Check(name, Status.SKIPPED, "no_department_anchor", "the root has no department anchor to check")
        if not isinstance(department, str) or not department:
            return Check(name, Status.INVALID, "no_department_code", "the record names no issuing department code")
        try:
            org = self.chain.organization(anchor.issuer)
            cert_der = seal_certificate_der(seal)
            fingerprint = hashlib.sha256(cert_der).digest()
            data = {"issuer": anchor.issuer, "seal_fingerprint": "0x" + fingerprint.hex()}
            if org is None or org.uscc_hash != _uscc_hash(department):
                return Check(name, Status.INVALID, "department_mismatch",
                             f"the anchoring account {anchor.issuer} is not registered for department {department}",
                             data)
            block = self.chain.fingerprint_block(anchor.issuer, fingerprint)
        except BadInput as e:
            return Check(name, Status.INVALID, e.code, e.message)
        except CertledgerError as e:
            return Check(name, Status.ERROR, e.code, e.message)
        except Web3Exception as e:
            return Check(name, Status.ERROR, "chain_error", f"the chain node failed to answer: {e}")
        if block is None:
            return Check(name, Status.INVALID, "seal_not_registered",
                         f"the record's seal certificate was never registered on chain for {anchor.issuer}", data)
        data["registered_block"] = block
        return Check(name, Status.VALID, "department_and_seal_registered", "", data)

    def _seal_verifier(self, bundle: Mapping[str, Any]) -> tuple[SealVerifier, str]:
        """A cached SealVerifier for the trust data in force: the registry, a given root, or the bundle's."""
        if self._registry is not None:
            registry = self._registry() if callable(self._registry) else self._registry
            cached = self._seal_verifiers.get(registry.root_der)
            if cached is None or cached[0] is not registry:
                cached = self._seal_verifiers[registry.root_der] = (registry, SealVerifier(registry))
            return cached[1], "registry"
        if self._trust_root is not None:
            root_der, source = self._trust_root, "trusted_root"
        else:
            root_der, source = der_certificate(bundle["trust"]["city_root_pem"], "trust.city_root_pem"), "bundle"
        cached = self._seal_verifiers.get(root_der)
        if cached is None:
            registry = SealRegistry(root_der=root_der)
            cached = self._seal_verifiers[root_der] = (registry, SealVerifier(registry))
        return cached[1], source

    @staticmethod
    def _seal(verifier: SealVerifier, root_source: str, record: Any, seal: bytes, anchor: _Anchor | None) -> list[Check]:
        anchored_at = _utc(anchor.timestamp) if anchor else None
        try:
            checks = verifier.verify_record(dict(record), seal, anchored_at=anchored_at)
        except BadInput as e:
            return [Check("seal", Status.INVALID, e.code, e.message, {"trust_root": root_source})]
        failed = _seal_failure(checks)
        data = {"trust_root": root_source, "checks": [c.name for c in checks]}
        if failed is None:
            summary = Check("seal", Status.VALID, "seal_valid", "", data)
        else:
            summary = Check("seal", Status.INVALID, failed.reason, f"{failed.name}: {failed.message}", data)
        return [summary, *checks]

    def _status(self, record: Any, anchor: _Anchor | None, code: int | None) -> Check:
        if anchor is None or code is None:
            return Check("status", Status.SKIPPED, "no_anchor", "a status exists only for an anchored leaf")
        data = {"code": f"{code:02d}"}
        if code == LeafStatus.VALID:
            return Check("status", Status.VALID, "valid", "", data)
        try:
            name = LeafStatus(code).name.lower()
        except ValueError:
            name = "unknown"
        message = f"the certificate's status on chain is {code:02d} ({name})"
        if code == LeafStatus.SUPERSEDED and self._successor is not None:
            current = self._successor(str(record.get("identifier")))
            if current:
                data["current_version"] = current
                message += f"; the current version is {current}"
        return Check("status", Status.INVALID, name, message, data)

    def _validity(self, record: Any) -> Check:
        name = "validity_period"
        today = (self._now or dt.datetime.now(dt.UTC)).astimezone(CHINA_TIME).date()
        try:
            start, end = _date(record.get("valid_from")), _date(record.get("valid_until"))
        except (ValueError, AttributeError):
            return Check(name, Status.INVALID, "dates_malformed", "the record's validity dates are not ISO dates")
        data = {"today": today.isoformat(), "valid_from": start and start.isoformat(),
                "valid_until": end and end.isoformat()}
        if start is not None and today < start:
            return Check(name, Status.INVALID, "not_yet_valid", f"the certificate is valid from {start}", data)
        if end is not None and today > end:
            return Check(name, Status.INVALID, "expired", f"the certificate expired after {end}", data)
        return Check(name, Status.VALID, "within_validity" if end else "long_term", "", data)

    @staticmethod
    def _document_digest(record: Any, document: bytes | None) -> Check:
        name = "document_digest"
        file = record.get("file") if isinstance(record, Mapping) else None
        if document is None:
            return Check(name, Status.SKIPPED, "no_document", "no document was given")
        digest = hashlib.sha256(document).hexdigest()
        if not isinstance(file, Mapping) or not file.get("sha256"):
            return Check(name, Status.INVALID, "record_has_no_document",
                         "the record was issued without a document, so no document can belong to it")
        data = {"sha256": digest, "expected": file["sha256"]}
        if digest != file["sha256"]:
            return Check(name, Status.INVALID, "digest_mismatch",
                         "this document is not the one issued with the certificate (its SHA-256 differs)", data)
        return Check(name, Status.VALID, "digest_matches", "", data)

    @staticmethod
    def _document_seal(verifier: SealVerifier, pdf: bytes, department: Any) -> Check:
        try:
            checks = pdf_seal_checks(verifier, pdf, issuer_code=department if isinstance(department, str) else None)
        except BadInput as e:
            return Check("document_seal", Status.INVALID, e.code, e.message)
        data = {"checks": [c.to_dict() for c in checks]}
        failed = _seal_failure(checks)
        if failed is None:
            return Check("document_seal", Status.VALID, "seal_valid", "", data)
        return Check("document_seal", Status.INVALID, failed.reason, f"{failed.name}: {failed.message}", data)


def _utc(timestamp: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC)


def _summary(record: Any, bundle: Mapping[str, Any], anchor: _Anchor | None, status: int | None) -> dict[str, Any]:
    """What a counter reads next to the verdict (from the record; chain facts from the chain)."""
    if not isinstance(record, Mapping):
        return {}
    keys = ("identifier", "name", "number", "version", "type_code", "issuing_department", "issuing_department_code",
            "issue_date", "valid_from", "valid_until", "holder", "service_item")
    out = {k: record.get(k) for k in keys}
    out["status"] = f"{status:02d}" if status is not None else None
    out["root"] = bundle.get("root")
    if anchor is not None:
        out["anchored_at"] = _utc(anchor.timestamp).isoformat()
        out["block_number"] = anchor.block_number
        out["issuer_account"] = anchor.issuer
    return out


# ---------------------------------------------------------------------- standalone


_rpc_verifiers: dict[tuple[str, str, bytes | None], Verifier] = {}


def verifier_for_rpc(rpc_url: str, contract_address: str, trust_root_der: bytes | None = None) -> Verifier:
    """A verifier that needs only a chain node (no database, no API), reused per endpoint and contract."""
    key = (rpc_url, contract_address.lower(), trust_root_der)
    verifier = _rpc_verifiers.get(key)
    if verifier is None:
        verifier = Verifier(LedgerContract(ChainClient(rpc_url), contract_address), None, trust_root_der)
        _rpc_verifiers[key] = verifier
    return verifier


# ---------------------------------------------------------------------- service (library)


_service_verifiers: weakref.WeakKeyDictionary[Any, Verifier] = weakref.WeakKeyDictionary()


def service_verifier(lib: Library) -> Verifier:
    """The library's verifier: its contract and seal registry (revocations apply), statuses cached briefly."""
    verifier = _service_verifiers.get(lib)
    if verifier is None:
        verifier = Verifier(lib.require_contract(), lib.seal_registry, status_max_age=SERVICE_STATUS_MAX_AGE,
                            successor=lambda identifier: _successor(lib, identifier))
        _service_verifiers[lib] = verifier
    return verifier


def _successor(lib: Library, identifier: str) -> str | None:
    """The identifier of the newest version that supersedes ``identifier``, following renewals."""
    newer = aliased(Certificate)
    with lib.sessions() as session:
        current = None
        for _ in range(1000):
            nxt = session.scalar(select(newer.identifier).join(Certificate, newer.supersedes_id == Certificate.id)
                                 .where(Certificate.identifier == identifier))
            if nxt is None:
                return current
            current = identifier = nxt
    return current


def _service_bundle(lib: Library, identifier: str) -> dict[str, Any]:
    """The bundle of a stored certificate, or its pending form (root None) while its batch is unanchored."""
    cert, batch = load_certificate(lib, identifier)
    if is_anchored(cert, batch):
        return stored_bundle(lib, cert, batch)
    return {"identifier": cert.identifier, "record": json.loads(cert.record), "leaf": "0x" + cert.leaf.hex(),
            "seal": {"der": base64.b64encode(cert.record_seal).decode()}, "root": None, "proof": [], "chain": {}}


def verify_identifier(lib: Library, identifier: str) -> VerificationResult:
    """Verify a stored certificate by identifier (BadInput for a malformed one, NotFound for an unknown one)."""
    return service_verifier(lib).verify_bundle(_service_bundle(lib, identifier))


def verify_bundle(lib: Library, bundle: Mapping[str, Any] | str | bytes,
                  document: bytes | None = None) -> VerificationResult:
    """Verify a bundle someone presents, against the library's contract and trust data."""
    return service_verifier(lib).verify_bundle(load_bundle(bundle), document)


def pdf_identifier(pdf: bytes) -> str | None:
    """The certificate identifier a rendered PDF names in its document information (title)."""
    reader = open_pdf(pdf)
    info = reader.trailer_view.get("/Info")
    if info is None:
        return None
    info = info.get_object()
    for key in ("/CertledgerIdentifier", "/Title", "/Subject", "/Keywords"):
        value = info.get(key)
        match = _IDENTIFIER_IN_TEXT.search(str(value)) if value is not None else None
        if match:
            return match.group(0)
    return None


def verify_pdf(lib: Library, pdf: bytes) -> VerificationResult:
    """Verify a sealed certificate PDF: find its certificate (by the identifier it names, else by its digest),
    then every fragment plus the document's digest and PDF seal."""
    identifier = pdf_identifier(pdf)
    if identifier is not None:
        parse_identifier(identifier)
    else:
        digest = hashlib.sha256(pdf).digest()
        with lib.sessions() as session:
            identifier = session.scalar(select(Certificate.identifier).where(Certificate.document_digest == digest)
                                        .limit(1))
        if identifier is None:
            raise NotFound("pdf_certificate_unknown",
                           "this PDF names no certificate identifier and matches no issued document; "
                           "verify by the identifier printed on it instead")
    return service_verifier(lib).verify_bundle(_service_bundle(lib, identifier), pdf, pdf=True)
