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
kind and credit-code hash, fingerprint events up to a scanned block). The service knows every leaf's
status from the StatusChanged events, applied to a map of changed leaves at most ``status_max_age``
seconds before an answer: a first verification costs at most one ``anchorOf`` eth_call per batch root,
and a status change on chain shows within that age. The standalone verifier (``status_max_age`` 0)
asks ``verify(root, leaf, proof)`` for every verification.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import hashlib
import json
import logging
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eth_utils import event_abi_to_log_topic
from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import aliased
from web3.exceptions import BadFunctionCallOutput, ContractLogicError, Web3Exception

from ledger.verify.bundle import der_certificate, is_anchored, load_bundle, load_certificate, stored_bundle
from ledger.chain.client import ChainClient
from ledger.core.checks import Check, Status, verdict
from ledger.chain.contract import (
    BATCH_KIND_OF_ORG,
    Deployment,
    LeafStatus,
    LedgerContract,
    OrganizationInfo,
    OrgKind,
    uscc_hash,
)
from ledger.core.errors import BadInput, CertledgerError, NotFound
from ledger.core.identifiers import PREFIX, parse_identifier
from ledger.core.merkle import process_proof, split_proof
from ledger.core.record import CERTIFICATE_KIND, RECORD_KINDS, RecordKind, check_record, record_leaf
from ledger.storage.models import Batch, Certificate
from signer.pdf_seal import open_pdf
from signer.pdf_verify import verify_pdf as pdf_seal_checks
from signer.record_seal import seal_certificate_der
from signer.registry import SealRegistry
from signer.verify import SealVerifier

if TYPE_CHECKING:
    from ledger.app.library import Library

log = logging.getLogger(__name__)

REQUIRED = ("record_integrity", "merkle_proof", "anchor_on_chain", "anchor_issuer", "seal", "status",
            "validity_period")
CHINA_TIME = dt.timezone(dt.timedelta(hours=8))
SERVICE_STATUS_MAX_AGE = 1.0  # seconds a status read by the service may be reused
_STATUS_LOG_RANGE = 10_000  # blocks per eth_getLogs: JSON-RPC providers commonly cap ranges there
_VALID_RESULTS_LIMIT = 4096
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
                "certificate": dict(self.certificate)}


@dataclass(frozen=True)
class _Anchor:
    issuer: str
    block_number: int
    timestamp: int


class ChainReadNeeded(Exception):
    """An answer needs the chain node while ``ChainFacts.offline()`` forbids asking it (the API's event loop)."""


class ChainFacts:
    """Reads of one ledger contract, cached where the chain cannot change them; thread-safe.

    With ``status_max_age`` > 0 (the service) leaf statuses are not read per leaf: the StatusChanged events
    from ``start_block`` on are applied to a map of every leaf whose status ever changed (few), brought up to
    the chain head at most ``status_max_age`` seconds before an answer; a leaf of a root anchored up to the
    scanned block that has no event is 01 (valid). With 0 (the standalone verifier) every status is read."""

    def __init__(self, contract: LedgerContract, *, status_max_age: float = 0.0, start_block: int = 0) -> None:
        self.contract = contract
        self.status_max_age = status_max_age
        self._start_block = start_block
        self._anchors: dict[bytes, _Anchor] = {}
        self._changed: dict[tuple[bytes, bytes], int] = {}  # (root, leaf) -> status, for leaves not 01
        self._status_block: int | None = None  # StatusChanged events are applied up to this block
        self._status_checked = 0.0
        self._chain_id: int | None = None
        self._orgs: dict[str, OrganizationInfo] = {}
        self._fingerprints: dict[str, dict[bytes, int]] = {}  # account -> fingerprint -> first block
        self._scanned: dict[str, int] = {}  # account -> last block scanned for seal events
        self._lock = threading.Lock()
        self._anchor_lock = threading.Lock()
        self._looking = threading.Lock()  # held while a look at status events runs in the background
        self._offline = threading.local()
        events = {e["name"]: e for e in contract.abi if e.get("type") == "event"}
        self._seal_events = {event_abi_to_log_topic(events[n]): n for n in ("OrganizationRegistered", "SealRotated")}
        self._status_topic = _topic_hex(event_abi_to_log_topic(events["StatusChanged"]))

    @contextlib.contextmanager
    def offline(self) -> Iterator[None]:
        """In this thread, answer from what is known only: ChainReadNeeded wherever the chain node would be asked
        (or a look at status events is due, which starts in the background half a period early)."""
        self._offline.on = True
        try:
            yield
        finally:
            self._offline.on = False

    def _may_read(self) -> None:
        if getattr(self._offline, "on", False):
            raise ChainReadNeeded

    def chain_id(self) -> int:
        if self._chain_id is None:
            self._may_read()
            self._chain_id = self.contract.client.chain_id
        return self._chain_id

    def anchor_and_status(self, root: bytes, leaf: bytes, proof: list[bytes]) -> tuple[_Anchor | None, int]:
        """The root's anchor (None if not anchored) and the leaf's status code.

        The service answers from the anchor (one eth_call per root, cached: an anchor never changes) and the
        map of changed statuses; the standalone verifier asks ``verify(root, leaf, proof)`` every time."""
        if self.status_max_age <= 0:
            self._may_read()
            answer = self.contract.verify(root, leaf, proof)
            if answer.issuer is None:
                return None, answer.status
            anchor = self._anchors[root] = _Anchor(answer.issuer, answer.block_number, answer.timestamp)
            return anchor, answer.status
        self._keep_statuses_current()
        anchor = self._anchors.get(root) or self._read_anchor(root)
        if anchor is None:  # statuses can be set only under an anchored root
            return None, LeafStatus.VALID
        scanned = self._status_block
        if scanned is None or anchor.block_number > scanned:
            # anchored after the last look: its leaves' events, if any, come after the anchor; look up to it
            self._may_read()
            self._apply_status_events(covering=anchor.block_number)
            scanned = self._status_block
            if scanned is None or anchor.block_number > scanned:  # a node behind the one that answered
                return anchor, self.contract.status_of(root, leaf)
        return anchor, self._changed.get((root, leaf), LeafStatus.VALID)

    def _read_anchor(self, root: bytes) -> _Anchor | None:
        """The root's anchor from the chain, read once however many verifications of a new batch ask at once."""
        self._may_read()
        with self._anchor_lock:
            anchor = self._anchors.get(root)
            if anchor is None:
                info = self.contract.anchor_of(root)
                if info is None:
                    return None
                anchor = self._anchors[root] = _Anchor(info.issuer, info.block_number, info.timestamp)
            return anchor

    def forget_statuses(self) -> None:
        """Bring statuses up to the chain head before the next answer: this process has just changed some
        (ledger.issue.lifecycle) and its next verification shows them instead of waiting out ``status_max_age``."""
        self._status_checked = 0.0

    def _keep_statuses_current(self) -> None:
        """Apply the status events since the last look if it is older than ``status_max_age``; offline, start a
        look in the background from half the period on instead, and refuse once the period is over."""
        if not getattr(self._offline, "on", False):
            self._apply_status_events()
            return
        age = time.monotonic() - self._status_checked
        if age > self.status_max_age or self._status_block is None:
            raise ChainReadNeeded
        if age > self.status_max_age / 2:
            self._look_at_status_events_soon()

    def _look_at_status_events_soon(self) -> None:
        """Look at status events on a thread of its own (one at a time) half a period early, so that an offline
        caller seldom finds the look due and has to take the slower way."""
        if not self._looking.acquire(blocking=False):
            return

        def look() -> None:
            try:
                self._apply_status_events(self.status_max_age / 2)
            except Exception:  # noqa: BLE001 - the next verification looks again, in its own thread
                log.warning("status events not read", exc_info=True)
            finally:
                self._looking.release()

        threading.Thread(target=look, name="status-events", daemon=True).start()

    def _apply_status_events(self, max_age: float | None = None, *, covering: int | None = None) -> None:
        """Apply the StatusChanged events up to the chain head, if the last look is older than ``max_age``
        (default ``status_max_age``), or with ``covering``, if it did not reach that block. The first look
        reads them all from ``start_block``, in ranges."""
        max_age = self.status_max_age if max_age is None else max_age
        if self._statuses_reach(max_age, covering):
            return
        with self._lock:
            if self._statuses_reach(max_age, covering):
                return
            client = self.contract.client
            head = client.call_rpc(lambda: client.w3.eth.block_number)
            start = self._start_block if self._status_block is None else self._status_block + 1
            for first in range(start, head + 1, _STATUS_LOG_RANGE):
                query = {"address": self.contract.address, "fromBlock": first,
                         "toBlock": min(head, first + _STATUS_LOG_RANGE - 1), "topics": [self._status_topic]}
                for lg in client.call_rpc(lambda q=query: client.w3.eth.get_logs(q)):
                    pair, status = (bytes(lg["topics"][1]), bytes(lg["topics"][2])), bytes(lg["data"])[31]
                    if status == LeafStatus.VALID:
                        self._changed.pop(pair, None)
                    else:
                        self._changed[pair] = status
            # Every status change up to `head` is applied; later ones are caught next time.
            self._status_block = max(head, self._status_block or 0)
            self._status_checked = time.monotonic()

    def _statuses_reach(self, max_age: float, covering: int | None) -> bool:
        if covering is not None:
            return self._status_block is not None and self._status_block >= covering
        return time.monotonic() - self._status_checked <= max_age

    def organization(self, account: str) -> OrganizationInfo | None:
        """Registration of an account; its kind and credit-code hash never change once set."""
        info = self._orgs.get(account)
        if info is None:
            self._may_read()
            info = self.contract.organization(account)
            if info is not None:
                self._orgs[account] = info
        return info

    def fingerprint_block(self, account: str, fingerprint: bytes) -> int | None:
        """The block in which the platform registered ``fingerprint`` for ``account`` (at registration or a
        seal rotation), or None if it never did. Events are scanned once; later calls scan only new blocks."""
        known = self._fingerprints.get(account)
        if known is not None and fingerprint in known:
            return known[fingerprint]
        self._may_read()
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
        status_start_block: int = 0,
        successor: Callable[[str], str | None] | None = None,
    ) -> None:
        self.chain = ChainFacts(contract, status_max_age=status_max_age, start_block=status_start_block)
        self._registry = seal_registry
        self._trust_root = trust_root_der
        self._now = now
        self._successor = successor
        self._seal_verifiers: dict[bytes, tuple[SealRegistry, SealVerifier]] = {}
        self.valid_results: dict[str, _ValidResult] = {}  # see verify_identifier

    def today(self) -> dt.date:
        """The date in China, against which validity periods are judged."""
        return (self._now or dt.datetime.now(dt.UTC)).astimezone(CHINA_TIME).date()

    # ------------------------------------------------------------------ entry points

    def verify_bundle(self, bundle: Mapping[str, Any], document: bytes | None = None, *,
                      pdf: bool = False) -> VerificationResult:
        """All fragments for a bundle (``load_bundle`` shape); ``document`` is checked when given,
        and its PDF seal too when ``pdf``. A bundle whose root is None is issued but not yet anchored."""
        root = bytes.fromhex(bundle["root"][2:]) if bundle.get("root") else None
        return self.verify_parts(bundle, base64.b64decode(bundle["seal"]["der"]), bytes.fromhex(bundle["leaf"][2:]),
                                 root, [bytes.fromhex(p[2:]) for p in bundle.get("proof") or []], document, pdf=pdf)

    def verify_parts(self, bundle: Mapping[str, Any], seal: bytes, leaf: bytes, root: bytes | None,
                     proof: list[bytes], document: bytes | None = None, *, pdf: bool = False) -> VerificationResult:
        """``verify_bundle`` with the seal, leaf, root and proof already decoded; of ``bundle`` only the record,
        identifier, root, chain and (without a seal registry) trust entries are read."""
        record = bundle["record"]
        kind = _record_kind(record)
        department = record.get(kind.issuer_code_key) if isinstance(record, Mapping) else None

        checks: list[Check] = [self._record_integrity(record, leaf)]
        if root is None:
            pending = ("not_yet_anchored", "the certificate is issued but not yet anchored; verify again after "
                                           "the next anchoring batch")
            anchor, status_code = None, None
            checks += [Check("merkle_proof", Status.SKIPPED, *pending), Check("anchor_on_chain", Status.SKIPPED, *pending)]
        else:
            checks.append(self._merkle_proof(leaf, root, proof))
            anchor, status_code, anchored = self._anchor_on_chain(bundle, leaf, root, proof, kind)
            checks.append(anchored)
        checks.append(self._anchor_issuer(anchor, department, seal, checks[-1], kind))
        seal_verifier, root_source = self._seal_verifier(bundle)
        checks += self._seal(seal_verifier, root_source, record, seal, anchor, kind)
        checks.append(self._status(record, anchor, status_code))
        required = list(REQUIRED)
        if kind.dated:
            checks.append(self._validity(record))
        else:
            required.remove("validity_period")
        if document is not None or pdf:
            checks.append(self._document_digest(record, document, kind))
            required.append("document_digest")
            if pdf and document is not None:
                checks.append(self._document_seal(seal_verifier, document, department))
                required.append("document_seal")
        else:
            checks.append(Check("document_digest", Status.SKIPPED, "no_document",
                                "no document was given; pass the PDF to check it against the record"))
        result = VerificationResult(verdict(checks, required), checks,
                                    _summary(record, bundle, anchor, status_code, kind))
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

    def _anchor_on_chain(self, bundle: Mapping[str, Any], leaf: bytes, root: bytes, proof: list[bytes],
                         kind: RecordKind = CERTIFICATE_KIND) -> tuple[_Anchor | None, int | None, Check]:
        name = "anchor_on_chain"
        claimed = bundle.get("chain") or {}
        contract = self.chain.contract
        try:
            chain_id = self.chain.chain_id()
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

    def _anchor_issuer(self, anchor: _Anchor | None, department: Any, seal: bytes, anchored: Check,
                       kind: RecordKind = CERTIFICATE_KIND) -> Check:
        """``department``: the record's sealing organization's credit code (``kind.issuer_code_key``)."""
        name, role = "anchor_issuer", kind.anchored_by
        if anchor is None or anchored.status is not Status.VALID:
            return Check(name, Status.SKIPPED, f"no_{role}_anchor", f"the root has no {role} anchor to check")
        if not isinstance(department, str) or not department:
            return Check(name, Status.INVALID, f"no_{role}_code", f"the record names no {kind.issuer_code_key}")
        try:
            org = self.chain.organization(anchor.issuer)
            cert_der = seal_certificate_der(seal)
            fingerprint = hashlib.sha256(cert_der).digest()
            data = {"issuer": anchor.issuer, "seal_fingerprint": "0x" + fingerprint.hex()}
            if org is None or org.uscc_hash != _uscc_hash(department):
                return Check(name, Status.INVALID, f"{role}_mismatch",
                             f"the anchoring account {anchor.issuer} is not registered for {role} {department}",
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
        return Check(name, Status.VALID, f"{role}_and_seal_registered", "", data)

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
    def _seal(verifier: SealVerifier, root_source: str, record: Any, seal: bytes, anchor: _Anchor | None,
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


def _summary(record: Any, bundle: Mapping[str, Any], anchor: _Anchor | None, status: int | None,
             kind: RecordKind = CERTIFICATE_KIND) -> dict[str, Any]:
    """What a counter reads next to the verdict (from the record; chain facts from the chain)."""
    if not isinstance(record, Mapping):
        return {}
    out = {k: record.get(k) for k in kind.summary_keys}
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
        contract = lib.require_contract()
        verifier = Verifier(contract, lib.seal_registry, status_max_age=SERVICE_STATUS_MAX_AGE,
                            status_start_block=_deployment_block(lib, contract),
                            successor=lambda identifier: _successor(lib, identifier))
        _service_verifiers[lib] = verifier
    return verifier


def _deployment_block(lib: Library, contract: LedgerContract) -> int:
    """The block that deployed the contract, where its status events begin (0 when not recorded here)."""
    path = lib.settings.deployment_file
    if path.exists():
        deployment = Deployment.load(path)
        if deployment.address.lower() == contract.address.lower():
            return deployment.block_number
    return 0


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
    return item_bundle(lib, *load_certificate(lib, identifier))


def item_bundle(lib: Library, cert: Any, batch: Any | None) -> dict[str, Any]:
    """The bundle of a stored anchored item (a certificate or report summary row and its batch row), or
    its pending form (root None) while its batch is unanchored."""
    if is_anchored(cert, batch):
        return stored_bundle(lib, cert, batch)
    return {"identifier": cert.identifier, "record": json.loads(cert.record), "leaf": "0x" + cert.leaf.hex(),
            "seal": {"der": base64.b64encode(cert.record_seal).decode()}, "root": None, "proof": [], "chain": {}}


@dataclass(frozen=True)
class _ValidResult:
    """A VALID verification and everything it was computed from that can change."""

    row: tuple[Any, ...]
    registry: SealRegistry
    day: dt.date
    result: VerificationResult


_Batches = Batch.__table__
_Certificates = Certificate.__table__
# Every stored value a stored certificate's bundle is built from, as the driver returns them.
_ROW_INPUTS = (
    select(_Certificates.c.record, _Certificates.c.record_seal, _Certificates.c.leaf, _Certificates.c.proof,
           _Batches.c.status, _Batches.c.root, _Batches.c.tx_hash, _Batches.c.block_number, _Batches.c.block_time)
    .select_from(_Certificates.outerjoin(_Batches, _Certificates.c.batch_id == _Batches.c.id))
    .where(_Certificates.c.identifier == bindparam("identifier"))
)
_compiled_row_inputs: dict[Any, tuple[str, tuple[str, ...] | None]] = {}


class _OwnConnections(threading.local):
    def __init__(self) -> None:
        self.by_engine: weakref.WeakKeyDictionary[Engine, Any] = weakref.WeakKeyDictionary()


_own = _OwnConnections()


def _own_connection(engine: Engine) -> Any:
    """This thread's own driver connection, out of the pool and in autocommit: one round trip per read,
    where a pooled one adds a liveness ping and a rollback (PostgreSQL: ~270 against ~55 microseconds)."""
    conn = _own.by_engine.get(engine)
    if conn is None:
        fairy = engine.raw_connection()
        fairy.detach()
        conn = fairy.dbapi_connection
        conn.rollback()
        if engine.dialect.name == "postgresql":
            conn.autocommit = True  # SQLite connections already are (ledger.storage.engine)
        _own.by_engine[engine] = conn
    return conn


def _row_inputs(lib: Library, identifier: str, *, own_connection: bool = False) -> tuple[Any, ...] | None:
    """The stored inputs of a certificate's verification, read through a bare driver connection: on a
    remembered result this read is the whole cost, and SQLAlchemy's statement machinery cost several times it.
    ``own_connection``: through this thread's own connection (for the API's event loop, one thread)."""
    engine = lib.engine
    compiled = _compiled_row_inputs.get(engine.dialect)
    if compiled is None:
        c = _ROW_INPUTS.compile(dialect=engine.dialect)
        compiled = _compiled_row_inputs[engine.dialect] = (str(c), tuple(c.positiontup) if c.positional else None)
    sql, positions = compiled
    params: Any = (identifier,) * len(positions) if positions is not None else {"identifier": identifier}
    conn = _own_connection(engine) if own_connection else engine.raw_connection()
    try:
        cursor = conn.cursor()
        try:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        finally:
            cursor.close()
    except Exception:
        if own_connection:  # a broken connection is replaced on the next read
            _own.by_engine.pop(engine, None)
            with contextlib.suppress(Exception):
                conn.close()
        raise
    finally:
        if not own_connection:
            conn.close()
    return None if row is None else tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)


def _still_valid(verifier: Verifier, hit: _ValidResult, row: tuple[Any, ...] | None, registry: SealRegistry,
                 day: dt.date) -> bool:
    """Whether a remembered VALID result holds still: none of its inputs changed since, the stored row, the seal
    registry (revocations), the day, and the leaf's status on chain, read as a fresh verification reads it (so a
    status change counts within ``status_max_age``). The chain facts it also rests on (the anchor, the anchoring
    account's registration, seal fingerprints registered) cannot change once set."""
    if row != hit.row or registry is not hit.registry or day != hit.day:
        return False
    leaf, proof, root = row[2], row[3], row[5]
    try:
        status = verifier.chain.anchor_and_status(root, leaf, split_proof(proof))[1]
    except (CertledgerError, Web3Exception):
        return False  # a full verification reports it as a fragment
    return status == LeafStatus.VALID


def _verify_identifier(lib: Library, verifier: Verifier, identifier: str, *,
                       own_connection: bool = False) -> VerificationResult:
    # read before verifying: if anything changes meanwhile, the remembered result is not reused
    registry, day = lib.seal_registry(), verifier.today()
    row = _row_inputs(lib, identifier, own_connection=own_connection)
    hit = verifier.valid_results.get(identifier)
    if hit is not None and _still_valid(verifier, hit, row, registry, day):
        log.info("certificate verified", extra={"identifier": identifier, "verdict": hit.result.verdict.value})
        return hit.result
    chain_id = verifier.chain.chain_id()  # offline: known before the bundle is built, or ChainReadNeeded
    if row is None:  # unknown, or not as written: the stored bundle's reading refuses or finds it
        result = verifier.verify_bundle(_service_bundle(lib, identifier))
    else:
        result = _verify_row(verifier, identifier, row, chain_id)
    if result.verdict is Status.VALID and row is not None and result.certificate.get("identifier") == identifier:
        if len(verifier.valid_results) >= _VALID_RESULTS_LIMIT:
            verifier.valid_results.clear()
        verifier.valid_results[identifier] = _ValidResult(row, registry, day, result)
    return result


def _verify_row(verifier: Verifier, identifier: str, row: tuple[Any, ...], chain_id: int) -> VerificationResult:
    """Verify a stored certificate from its ``_row_inputs`` as from its stored bundle (``item_bundle``), without
    encoding the bundle only to decode it again."""
    record, seal, leaf, proof, batch_status, root, _tx_hash, block_number, _block_time = row
    bundle: dict[str, Any] = {"identifier": identifier, "record": json.loads(record), "root": None}
    if batch_status != "anchored" or proof is None:  # pending, as is_anchored judges it
        return verifier.verify_parts(bundle, seal, leaf, None, [])
    contract = verifier.chain.contract
    bundle |= {"root": "0x" + root.hex(),
               "chain": {"chain_id": chain_id, "contract": contract.address, "block_number": block_number}}
    return verifier.verify_parts(bundle, seal, leaf, root, split_proof(proof))


def verify_identifier(lib: Library, identifier: str) -> VerificationResult:
    """Verify a stored certificate by identifier (BadInput for a malformed one, NotFound for an unknown one).

    A VALID result is remembered per worker and returned again while its inputs are unchanged
    (``_still_valid``): counters verify the same certificates again and again, and the record hash, proof
    and seal checks would give the same answer. Only an identifier that verified VALID is remembered, so
    any other input is parsed and refused as before."""
    return _verify_identifier(lib, service_verifier(lib), identifier)


def verification_without_chain(lib: Library, identifier: str) -> VerificationResult | None:
    """``verify_identifier``'s answer if it can be had without asking the chain node, else None: for a caller
    that must not wait on the network (the API's event loop). Remembered results qualify, and so do first
    verifications of certificates under roots this worker has seen, while its status map is current
    (``ChainFacts.offline``). Reads the database only, through this thread's own connection."""
    verifier = service_verifier(lib)
    try:
        with verifier.chain.offline():
            return _verify_identifier(lib, verifier, identifier, own_connection=True)
    except ChainReadNeeded:
        return None


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
