"""The verification fragments: one named check per link, one verdict derived from them.

Each fragment checks one link, so a failure names what was tampered with:

- ``record_integrity``: the record hashes (RFC 8785, SHA-256, standard leaf) to the bundle's leaf;
- ``merkle_proof``: the proof leads from that leaf to the bundle's root;
- ``anchor_on_chain``: the bundle's chain and contract are on the trust list, and the root is anchored on that
  contract by one of the accounts registered for the record's issuing department (``accountsOf`` its credit-code
  hash), registered as a department (the contract lets only an active issuer anchor, so an anchor implies one then);
- ``anchor_issuer``: that account's on-chain credit-code hash is the record's issuing department, and the record
  seal's certificate is the seal the account had on chain when it anchored the root (``anchorOf``'s fingerprint);
- ``seal``: the record seal (signer checks, also listed one by one: seal_intact, seal_chain against the trusted
  city roots, seal_certificate_valid, seal_signer_matches), judged at the anchor's block time against the seal's
  compromise time on chain;
- ``status``: the leaf's status on chain is 01 (valid);
- ``validity_period``: today (China time) lies within valid_from .. valid_until;
- ``document_digest`` (and ``document_seal`` for a PDF): the document at hand is the one sealed.

The service and the standalone verifier share the :class:`Verifier`; they differ in where trust comes from.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import x509
from web3.exceptions import BadFunctionCallOutput, ContractLogicError, Web3Exception

from ledger.chain.contract import BATCH_KIND_OF_ORG, LedgerContract, OrgKind, uscc_hash
from ledger.core.checks import Check, Status, verdict
from ledger.core.errors import BadInput, CertledgerError
from ledger.core.merkle import process_proof
from ledger.core.record import (
    CERTIFICATE_KIND,
    RECORD_KINDS,
    RecordKind,
    check_record,
    record_leaf,
)
from ledger.core.statuses import LeafStatus, shown_status, today_china
from ledger.verify.chain_facts import Anchor, ChainFacts, LeafStatuses
from ledger.verify.trust import TrustList
from signer.certificates import describe_certificate
from signer.pdf_verify import verify_pdf as pdf_seal_checks
from signer.record_seal import seal_certificate_der
from signer.registry import SealRegistry
from signer.verify import SealVerifier

log = logging.getLogger(__name__)


REQUIRED = ("record_integrity", "merkle_proof", "anchor_on_chain", "anchor_issuer", "seal", "status",
            "validity_period")


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
                "certificate": dict(self.certificate)}


_uscc_hash = functools.lru_cache(maxsize=4096)(uscc_hash)


@functools.lru_cache(maxsize=64)
def _subject(cert_der: bytes) -> bytes:
    """A (root) certificate's subject name, DER: what a certificate it issued names as its issuer."""
    return x509.Certificate.load(cert_der).subject.dump()


def _seal_failure(checks: list[Check]) -> Check | None:
    return next((c for c in checks if c.status is not Status.VALID), None)


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) and value else None


class Verifier:
    """Verifies bundles against one ledger contract; the service and the standalone verifier share it.

    ``trust`` is what the verifier trusts outside any bundle: a bundle of another chain or contract is refused
    (``untrusted_chain``, ``untrusted_contract``) and seal certificates must chain to its seal roots.
    ``seal_registry`` is the platform's seal data (a registry, or a function returning the current one), used
    instead of the trust list's roots by the service. The chain's seal compromise times apply to either.
    ``successor`` names the current version of a superseded certificate.
    """

    def __init__(
        self,
        contract: LedgerContract,
        seal_registry: SealRegistry | Callable[[], SealRegistry] | None = None,
        trust: TrustList | None = None,
        *,
        now: dt.datetime | None = None,
        status_max_age: float = 0.0,
        status_start_block: int = 0,
        leaf_statuses: LeafStatuses | None = None,
        successor: Callable[[str], str | None] | None = None,
    ) -> None:
        self.chain = ChainFacts(contract, status_max_age=status_max_age, start_block=status_start_block,
                                leaf_statuses=leaf_statuses)
        self._registry = seal_registry
        self.trust = trust
        self._now = now
        self._successor = successor
        self._seal_verifiers: dict[bytes, tuple[SealRegistry, SealVerifier]] = {}
        self.valid_results: dict[str, Any] = {}  # ledger.verify.remembered keeps VALID results here

    def today(self) -> dt.date:
        """The date in China, against which validity periods are judged."""
        return today_china(self._now)

    # ------------------------------------------------------------------ entry points

    def verify_bundle(self, bundle: Mapping[str, Any], document: bytes | None = None, *,
                      pdf: bool = False) -> VerificationResult:
        """All fragments for a bundle (``load_bundle`` shape); ``document`` is checked when given,
        and its PDF seal too when ``pdf``. A bundle whose root is None is issued but not yet anchored."""
        root = bytes.fromhex(bundle["root"][2:]) if bundle.get("root") else None
        return self.verify_parts(bundle, base64.b64decode(bundle["seal"]["der"]), bytes.fromhex(bundle["leaf"][2:]),
                                 root, [bytes.fromhex(p[2:]) for p in bundle.get("proof") or []], document, pdf=pdf)

    def verify_parts(self, bundle: Mapping[str, Any], seal: bytes, leaf: bytes, root: bytes | None,
                     proof: list[bytes], document: bytes | None = None, *, pdf: bool = False,
                     anchorer: str | None = None) -> VerificationResult:
        """``verify_bundle`` with the seal, leaf, root and proof already decoded; of ``bundle`` only the record,
        identifier, root, chain and (without a seal registry) trust entries are read. ``anchorer``: the account
        that must have anchored an unsealed record (the platform's audit writer, for an access-log entry)."""
        record = bundle["record"]
        kind = _record_kind(record)
        checks: list[Check] = [self._record_integrity(record, leaf)]
        if root is None:
            pending = ("not_yet_anchored", "the certificate is issued but not yet anchored; verify again after "
                                           "the next anchoring batch")
            anchor, status_code = None, None
            checks += [Check("merkle_proof", Status.SKIPPED, *pending), Check("anchor_on_chain", Status.SKIPPED, *pending)]
        else:
            checks.append(self._merkle_proof(leaf, root, proof))
            anchor, status_code, anchored = self._anchor_on_chain(bundle, leaf, root, proof, kind, anchorer)
            checks.append(anchored)
        required = list(REQUIRED[:4])
        if not kind.sealed:
            checks.append(self._anchor_account(anchor, checks[-1], kind, anchorer))
        else:
            required += ["seal", "status"]
            checks += self._sealed_checks(bundle, record, seal, anchor, status_code, checks[-1], kind)
            if kind.dated:
                checks.append(self._validity(record))
                required.append("validity_period")
            checks += self._document_checks(bundle, record, document, pdf, kind, required)
        result = VerificationResult(verdict(checks, required), checks,
                                    _summary(record, bundle, anchor, status_code, kind, self.today()))
        log.info("certificate verified", extra={"identifier": bundle.get("identifier"),
                                                "verdict": result.verdict.value})
        return result

    def _sealed_checks(self, bundle: Mapping[str, Any], record: Any, seal: bytes, anchor: Anchor | None,
                       status_code: int | None, anchored: Check, kind: RecordKind) -> list[Check]:
        """anchor_issuer, the seal (summary and its checks one by one) and the status, for a sealed record."""
        department = record.get(kind.issuer_code_key) if isinstance(record, Mapping) else None
        checks = [self._anchor_issuer(anchor, department, seal, anchored, kind)]
        seal_verifier, root_source = self._seal_verifier(seal)
        self._apply_compromise(seal_verifier.registry, seal, anchor)
        checks += self._seal(seal_verifier, root_source, record, seal, anchor, kind)
        checks.append(self._status(record, anchor, status_code))
        return checks

    def _document_checks(self, bundle: Mapping[str, Any], record: Any, document: bytes | None, pdf: bool,
                         kind: RecordKind, required: list[str]) -> list[Check]:
        """document_digest (and document_seal for a PDF); adds what becomes required to ``required``."""
        if document is None and not pdf:
            return [Check("document_digest", Status.SKIPPED, "no_document",
                          "no document was given; pass the PDF to check it against the record")]
        checks = [self._document_digest(record, document, kind)]
        required.append("document_digest")
        if pdf and document is not None:
            department = record.get(kind.issuer_code_key) if isinstance(record, Mapping) else None
            checks.append(self._document_seal(self._seal_verifier(None)[0], document, department))
            required.append("document_seal")
        return checks

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

    def _untrusted(self, claimed: Mapping[str, Any], chain_id: int | None = None) -> Check | None:
        """anchor_on_chain refused before the chain is asked: the bundle's chain or contract (or the node's chain)
        is not one the trust list names. None when trusted, or when this verifier has no trust list."""
        trust = self.trust
        if trust is None:
            return None
        for source, value in (("bundle", claimed.get("chain_id")), ("node", chain_id)):
            if value is not None and value != trust.chain_id:
                return Check("anchor_on_chain", Status.INVALID, "untrusted_chain",
                             f"不受信任的链 / the {source} names chain {value}, but the trust list trusts chain "
                             f"{trust.chain_id} only", {"chain_id": value, "trusted_chain_id": trust.chain_id})
        for address in (claimed.get("contract"), self.chain.contract.address):
            if isinstance(address, str) and not trust.trusts_contract(address):
                return Check("anchor_on_chain", Status.INVALID, "untrusted_contract",
                             f"不受信任的合约 / the ledger contract {address} is not one of the platform's deployments "
                             "on the trust list: a look-alike contract proves nothing",
                             {"contract": address, "trusted": [d.address for d in trust.deployments]})
        return None

    def _issuers(self, record: Any, kind: RecordKind, anchorer: str | None) -> list[str]:
        """The accounts under which to look for the root: the one the verifier was told, the trust list's audit
        writer for an access-log entry, else every account registered for the record's organization."""
        if anchorer is not None:
            return [anchorer]
        if kind.issuer_code_key is None:
            return [self.trust.audit_writer] if self.trust is not None and self.trust.audit_writer else []
        code = record.get(kind.issuer_code_key) if isinstance(record, Mapping) else None
        return self.chain.accounts(_uscc_hash(code)) if isinstance(code, str) and code else []

    def _anchor_on_chain(self, bundle: Mapping[str, Any], leaf: bytes, root: bytes, proof: list[bytes],
                         kind: RecordKind, anchorer: str | None) -> tuple[Anchor | None, int | None, Check]:
        name = "anchor_on_chain"
        claimed = bundle.get("chain") or {}
        contract = self.chain.contract
        refused = self._untrusted(claimed)
        if refused is not None:
            return None, None, refused
        try:
            chain_id = self.chain.chain_id()
            refused = self._untrusted(claimed, chain_id)
            if refused is not None:
                return None, None, refused
            if claimed.get("chain_id") not in (None, chain_id):
                return None, None, Check(name, Status.INVALID, "wrong_chain",
                                         f"the bundle was anchored on chain {claimed['chain_id']}, but this node serves "
                                         f"chain {chain_id}: use an RPC endpoint of that chain")
            if claimed.get("contract") and claimed["contract"].lower() != contract.address.lower():
                return None, None, Check(name, Status.INVALID, "wrong_contract",
                                         f"the bundle names the ledger contract {claimed['contract']}, this verifier "
                                         f"reads {contract.address}")
            issuers = self._issuers(bundle["record"], kind, anchorer)
            anchor, status = self.chain.anchor_and_status(issuers, root, leaf, proof)
            if anchor is None and anchorer is None and issuers and self.chain.status_max_age > 0:
                anchor, status = self.chain.anchor_and_status(  # an account registered since the cache was read
                    self.chain.accounts(_uscc_hash(bundle["record"][kind.issuer_code_key]), fresh=True), root, leaf,
                    proof)
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
                                     f"the root 0x{root.hex()} was never anchored on the ledger contract by an account "
                                     f"of the record's {kind.anchored_by} ({len(issuers)} registered)")
        data = {"issuer": anchor.issuer, "block_number": anchor.block_number,
                "anchored_at": _utc(anchor.timestamp).isoformat(), "chain_id": chain_id}
        expected = OrgKind[kind.anchored_by.upper()]
        data["batch_kind"] = BATCH_KIND_OF_ORG[expected].name
        if org is None or org.kind is not expected:
            registered = org.kind.name.lower() if org else "unregistered"
            return anchor, status, Check(name, Status.INVALID, f"issuer_not_{kind.anchored_by}",
                                         f"the root was anchored by {anchor.issuer}, an account registered as "
                                         f"{registered}; only an account registered as {kind.anchored_by} "
                                         f"anchors {data['batch_kind']}", data)
        if claimed.get("block_number") not in (None, anchor.block_number):
            return anchor, status, Check(name, Status.INVALID, "anchor_mismatch",
                                         f"the bundle says block {claimed['block_number']}, the chain anchored the "
                                         f"root in block {anchor.block_number}", data)
        return anchor, status, Check(name, Status.VALID, f"anchored_by_{kind.anchored_by}", "", data)

    def _anchor_issuer(self, anchor: Anchor | None, department: Any, seal: bytes, anchored: Check,
                       kind: RecordKind = CERTIFICATE_KIND) -> Check:
        """``department``: the record's sealing organization's credit code (``kind.issuer_code_key``)."""
        name, role = "anchor_issuer", kind.anchored_by
        if anchor is None or anchored.status is not Status.VALID:
            return Check(name, Status.SKIPPED, f"no_{role}_anchor", f"the root has no {role} anchor to check")
        if not isinstance(department, str) or not department:
            return Check(name, Status.INVALID, f"no_{role}_code", f"the record names no {kind.issuer_code_key}")
        try:
            org = self.chain.organization(anchor.issuer)
            fingerprint = hashlib.sha256(seal_certificate_der(seal)).digest()
        except BadInput as e:
            return Check(name, Status.INVALID, e.code, e.message)
        except CertledgerError as e:
            return Check(name, Status.ERROR, e.code, e.message)
        except Web3Exception as e:
            return Check(name, Status.ERROR, "chain_error", f"the chain node failed to answer: {e}")
        data = {"issuer": anchor.issuer, "seal_fingerprint": "0x" + fingerprint.hex(),
                "anchor_seal_fingerprint": "0x" + anchor.seal_fingerprint.hex()}
        if org is None or org.uscc_hash != _uscc_hash(department):
            return Check(name, Status.INVALID, f"{role}_mismatch",
                         f"the anchoring account {anchor.issuer} is not registered for {role} {department}", data)
        if fingerprint != anchor.seal_fingerprint:
            return Check(name, Status.INVALID, "seal_not_current",
                         f"印章与上链时的印章不符 / the record's seal certificate is not the seal {anchor.issuer} had on "
                         "chain when it anchored the root (a rotated-out or never registered seal anchors nothing)", data)
        return Check(name, Status.VALID, f"{role}_and_seal_registered", "", data)

    @staticmethod
    def _anchor_account(anchor: Anchor | None, anchored: Check, kind: RecordKind, anchorer: str | None) -> Check:
        """anchor_issuer of an unsealed record: the anchoring account is the one the verifier was told (or the
        trust list's audit writer, which anchor_on_chain looked under)."""
        name, role = "anchor_issuer", kind.anchored_by
        if anchor is None or anchored.status is not Status.VALID:
            return Check(name, Status.SKIPPED, f"no_{role}_anchor", f"the root has no {role} anchor to check")
        data = {"account": anchor.issuer}
        if anchorer is not None and anchor.issuer.lower() != anchorer.lower():
            return Check(name, Status.INVALID, f"not_{role}",
                         f"the root was anchored by {anchor.issuer}, not by the platform's {role} {anchorer}", data)
        return Check(name, Status.VALID, role, "", data)

    def _seal_verifier(self, seal: bytes | None) -> tuple[SealVerifier, str]:
        """A cached SealVerifier for the trust data in force: the service's registry, else the trust list's root
        that issued the seal's certificate (its first root when none did: seal_chain then says so)."""
        if self._registry is not None:
            registry = self._registry() if callable(self._registry) else self._registry
            cached = self._seal_verifiers.get(registry.root_der)
            if cached is None or cached[0] is not registry:
                cached = self._seal_verifiers[registry.root_der] = (registry, SealVerifier(registry))
            return cached[1], "registry"
        if self.trust is None:
            raise BadInput("trust_list_missing", "没有信任列表 / this verifier has no trust list to check seals with")
        root_der = self.trust.seal_roots[0]
        if seal is not None:
            try:
                issuer = describe_certificate(seal_certificate_der(seal)).issuer_der
                root_der = next((r for r in self.trust.seal_roots if _subject(r) == issuer), root_der)
            except BadInput:
                pass  # the seal fragment reports the malformed seal
        cached = self._seal_verifiers.get(root_der)
        if cached is None:
            registry = SealRegistry(root_der=root_der)
            cached = self._seal_verifiers[root_der] = (registry, SealVerifier(registry))
        return cached[1], "trust_list"

    def _apply_compromise(self, registry: SealRegistry, seal: bytes, anchor: Anchor | None) -> None:
        """The chain's compromise time of the anchor's seal, when the record was sealed with it, counts for
        seal_certificate_valid (the earlier of the chain's and the registry's, as a compromise time only moves
        earlier)."""
        if anchor is None:
            return
        when = self.chain.compromise_time(anchor.seal_fingerprint)
        if not when:
            return
        try:
            cert = seal_certificate_der(seal)
        except BadInput:
            return
        if hashlib.sha256(cert).digest() != anchor.seal_fingerprint:
            return
        serial, at = describe_certificate(cert).serial, _utc(when)
        known = registry.revocations.get(serial)
        if known is None or at < known:
            registry.revocations[serial] = at

    @staticmethod
    def _seal(verifier: SealVerifier, root_source: str, record: Any, seal: bytes, anchor: Anchor | None,
              kind: RecordKind = CERTIFICATE_KIND) -> list[Check]:
        anchored_at = _utc(anchor.timestamp) if anchor else None
        try:
            checks = verifier.verify_record(dict(record), seal, anchored_at=anchored_at,
                                            issuer_code_key=kind.issuer_code_key)
        except BadInput as e:
            return [Check("seal", Status.INVALID, e.code, e.message, {"trust_root": root_source})]
        failed = _seal_failure(checks)
        data = {"trust_root": root_source, "checks": [c.name for c in checks]}
        if failed is None:
            summary = Check("seal", Status.VALID, "seal_valid", "", data)
        else:
            summary = Check("seal", Status.INVALID, failed.reason, f"{failed.name}: {failed.message}", data)
        return [summary, *checks]

    def _status(self, record: Any, anchor: Anchor | None, code: int | None) -> Check:
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
        today = self.today()
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
    def _document_digest(record: Any, document: bytes | None, kind: RecordKind = CERTIFICATE_KIND) -> Check:
        name = "document_digest"
        expected = kind.document_sha256(record) if isinstance(record, Mapping) else None
        if document is None:
            return Check(name, Status.SKIPPED, "no_document", "no document was given")
        digest = hashlib.sha256(document).hexdigest()
        if not isinstance(expected, str) or not expected:
            return Check(name, Status.INVALID, "record_has_no_document",
                         "the record was issued without a document, so no document can belong to it")
        data = {"sha256": digest, "expected": expected}
        if digest != expected:
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


def _record_kind(record: Any) -> RecordKind:
    """The record's kind by its format; certificate for anything unknown (record_integrity refuses it)."""
    fmt = record.get("format") if isinstance(record, Mapping) else None
    return RECORD_KINDS.get(fmt, CERTIFICATE_KIND) if isinstance(fmt, str) else CERTIFICATE_KIND


def _summary(record: Any, bundle: Mapping[str, Any], anchor: Anchor | None, status: int | None,
             kind: RecordKind, today: dt.date) -> dict[str, Any]:
    """What a counter reads next to the verdict (from the record; chain facts from the chain); the status as shown
    everywhere (``shown_status``: 05 once a valid certificate's period is over)."""
    if not isinstance(record, Mapping):
        return {}
    out = {k: record.get(k) for k in kind.summary_keys}
    out["status"] = None if status is None else f"{status:02d}"
    with contextlib.suppress(ValueError, AttributeError):  # malformed dates: validity_period says so
        out["status"] = out["status"] and shown_status(out["status"], _date(record.get("valid_until")), today)
    out["root"] = bundle.get("root")
    if anchor is not None:
        out["anchored_at"] = _utc(anchor.timestamp).isoformat()
        out["block_number"] = anchor.block_number
        out["issuer_account"] = anchor.issuer
    return out
