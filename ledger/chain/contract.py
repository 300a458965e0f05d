"""The CertLedger contract from Python: deploy, register organizations, anchor, change status, read.

Every input is checked before anything is sent, so bad input costs no transaction; the contract
checks the same rules again for callers that bypass this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from eth_account.signers.base import BaseAccount
from eth_utils import keccak, to_checksum_address
from web3.contract import Contract

from ledger.chain.client import ChainClient, RevertDecoder
from ledger.chain.compiler import load_artifact
from ledger.core.errors import BadInput, NotFound
from ledger.core.statuses import LeafStatus

ZERO_ADDRESS = "0x" + "00" * 20


class OrgKind(IntEnum):
    DEPARTMENT = 1
    ASSOCIATION = 2
    AUDIT_WRITER = 3


class BatchKind(IntEnum):
    CERTIFICATES = 1
    REPORT_SUMMARIES = 2
    ACCESS_LOG = 3


BATCH_KIND_OF_ORG = {
    OrgKind.DEPARTMENT: BatchKind.CERTIFICATES,
    OrgKind.ASSOCIATION: BatchKind.REPORT_SUMMARIES,
    OrgKind.AUDIT_WRITER: BatchKind.ACCESS_LOG,
}

_HEX32 = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


def as_bytes32(value: bytes | str, what: str = "root") -> bytes:
    """Accept 32 raw bytes or 64 hex digits (with or without 0x); anything else is a clear error."""
    if isinstance(value, (bytes, bytearray)) and len(value) == 32:
        return bytes(value)
    if isinstance(value, str) and _HEX32.match(value):
        return bytes.fromhex(value[2:] if value.startswith("0x") else value)
    raise BadInput(
        f"{what}_malformed",
        f"{what} must be 32 bytes, written as 64 hexadecimal digits (optionally prefixed 0x); got {value!r:.80}",
    )


def as_proof(proof: Sequence[bytes | str]) -> list[bytes]:
    if isinstance(proof, (str, bytes)) or not isinstance(proof, Sequence):
        raise BadInput("proof_malformed", "a proof is a list of 32-byte sibling hashes")
    if len(proof) > 64:
        raise BadInput("proof_malformed", f"a proof has at most 64 siblings; got {len(proof)}")
    return [as_bytes32(p, "proof_element") for p in proof]


def uscc_hash(uscc: str) -> bytes:
    """What goes on chain for an organization's unified social credit code."""
    return keccak(text=uscc.strip().upper())


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    address: str
    block_number: int
    tx_hash: str

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Deployment:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class TxResult:
    tx_hash: str
    block_number: int
    block_time: int
    gas_used: int


@dataclass(frozen=True)
class AnchorInfo:
    """``anchorOf(issuer, root)``: what the issuer's anchor of a root recorded (it never changes)."""

    root: bytes
    issuer: str
    leaf_count: int
    kind: BatchKind
    block_number: int
    timestamp: int
    seal_epoch: int
    seal_fingerprint: bytes  # the issuer's seal current at anchoring; zero: no seal


@dataclass(frozen=True)
class OnChainProof:
    """``verify(issuer, root, leaf, proof)``: everything a verifier asks the chain about one leaf."""

    included: bool
    anchored: bool  # the issuer anchored the root (kind is not None)
    block_number: int
    timestamp: int
    seal_fingerprint: bytes
    seal_compromise_time: int  # 0: that seal is not revoked
    status: int  # 0 unless included


@dataclass(frozen=True)
class OrganizationInfo:
    address: str
    kind: OrgKind
    active: bool
    uscc_hash: bytes
    seal_epoch: int
    seal_fingerprint: bytes  # the current seal; zero: none
    seal_revoked: bool  # the current seal is revoked: the organization cannot anchor until a rotation


@dataclass(frozen=True)
class SealInfo:
    """``seal(fingerprint)``: whose seal certificate it is and when it was compromised (0: never)."""

    account: str
    epoch: int
    compromise_time: int


class LedgerContract:
    """A deployed CertLedger contract (v2: writes allowed by role, anchors keyed by issuer and root)."""

    def __init__(self, client: ChainClient, address: str, abi: list[dict[str, Any]] | None = None) -> None:
        self.client = client
        self.abi = abi or load_artifact()["abi"]
        self.address = to_checksum_address(address)
        self.contract: Contract = client.w3.eth.contract(address=self.address, abi=self.abi)
        self.decoder = RevertDecoder(self.abi)

    @classmethod
    def deploy(cls, client: ChainClient, admin: BaseAccount, *,
               admin_delay: int = 0) -> tuple[LedgerContract, Deployment]:
        """Deploy from ``admin``, the platform administrator; ``admin_delay`` is the seconds a new
        administrator must wait before accepting a transfer (two steps: begin, then accept)."""
        if not isinstance(admin_delay, int) or not 0 <= admin_delay < 2**48:
            raise BadInput("admin_delay_invalid", "the admin transfer delay is a number of seconds, 0 or more")
        artifact = load_artifact()
        factory = client.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        tx = factory.constructor(admin_delay, admin.address).build_transaction(
            {"from": admin.address, "gas": 0, "nonce": 0})
        tx = {"data": tx["data"], "value": 0}
        receipt = client.transact(admin, tx, RevertDecoder(artifact["abi"]))
        address = receipt["contractAddress"]
        deployment = Deployment(client.chain_id, address, receipt["blockNumber"], "0x" + bytes(receipt["transactionHash"]).hex())
        return cls(client, address, artifact["abi"]), deployment

    # ------------------------------------------------------------ writes

    def _send(self, account: BaseAccount, fn: Any, *, gas: int | None = None) -> TxResult:
        tx = {"to": self.address, "data": fn._encode_transaction_data(), "value": 0}
        receipt = self.client.transact(account, tx, self.decoder, gas=gas)
        block = self.client.call_rpc(lambda: self.client.w3.eth.get_block(receipt["blockNumber"]))
        return TxResult(
            "0x" + bytes(receipt["transactionHash"]).hex(), receipt["blockNumber"], block["timestamp"], receipt["gasUsed"]
        )

    def register_organization(
        self, admin: BaseAccount, account: str, kind: OrgKind, uscc: str, seal_fingerprint: bytes | str
    ) -> TxResult:
        """Register an account; ``seal_fingerprint`` zero for an organization that seals nothing."""
        fp = as_bytes32(seal_fingerprint, "seal_fingerprint")
        return self._send(
            admin,
            self.contract.functions.registerOrganization(to_checksum_address(account), int(OrgKind(kind)), uscc_hash(uscc), fp),
        )

    def rotate_seal(self, admin: BaseAccount, account: str, new_fingerprint: bytes | str) -> TxResult:
        fp = as_bytes32(new_fingerprint, "seal_fingerprint")
        return self._send(admin, self.contract.functions.rotateSeal(to_checksum_address(account), fp))

    def revoke_seal(self, admin: BaseAccount, account: str, fingerprint: bytes | str, compromise_time: int) -> TxResult:
        """Record a seal compromise on chain (Unix seconds; a recorded time may only move earlier)."""
        fp = as_bytes32(fingerprint, "seal_fingerprint")
        if not isinstance(compromise_time, int) or not 0 < compromise_time < 2**64:
            raise BadInput("compromise_time_invalid", "the compromise time is a positive Unix time in seconds")
        return self._send(admin, self.contract.functions.revokeSeal(to_checksum_address(account), fp, compromise_time))

    def deactivate(self, admin: BaseAccount, account: str) -> TxResult:
        return self._send(admin, self.contract.functions.deactivateOrganization(to_checksum_address(account)))

    def reactivate(self, admin: BaseAccount, account: str) -> TxResult:
        return self._send(admin, self.contract.functions.reactivateOrganization(to_checksum_address(account)))

    def anchor(self, issuer: BaseAccount, root: bytes | str, leaf_count: int, kind: BatchKind) -> TxResult:
        root_b = as_bytes32(root)
        if root_b == bytes(32):
            raise BadInput("root_malformed", "the zero root cannot be anchored")
        if not isinstance(leaf_count, int) or leaf_count <= 0:
            raise BadInput("empty_batch", "a batch must hold at least one leaf")
        if leaf_count >= 2**32:
            raise BadInput("batch_too_large", f"a batch holds at most {2**32 - 1} leaves; split it")
        return self._send(issuer, self.contract.functions.anchor(root_b, leaf_count, int(BatchKind(kind))))

    def set_status(
        self, issuer: BaseAccount, root: bytes | str, leaf: bytes | str, status: LeafStatus | int, reason: int = 0
    ) -> TxResult:
        return self.set_status_many(issuer, [(root, leaf)], status, reason)[0]

    def set_status_many(
        self,
        issuer: BaseAccount,
        pairs: Iterable[tuple[bytes | str, bytes | str]],
        status: LeafStatus | int,
        reason: int = 0,
        *,
        chunk_size: int = 1000,
    ) -> list[TxResult]:
        """Change the status of many (root, leaf) pairs under ``issuer``'s own anchors, ``chunk_size`` pairs
        per transaction: one ``setStatus`` for a single pair, else ``setStatusMany`` with the leaves grouped
        under their roots (each root once per transaction)."""
        code = self._status_code(status)
        if not 0 <= reason < 2**16:
            raise BadInput("reason_malformed", "a reason code is an integer from 0 to 65535")
        checked = sorted({(as_bytes32(r), as_bytes32(leaf, "leaf")) for r, leaf in pairs})
        if not checked:
            raise BadInput("empty_batch", "no certificates to change")
        for root in {r for r, _ in checked}:
            if self.anchor_of(issuer.address, root) is None:
                raise NotFound("root_unknown", f"{issuer.address} never anchored root 0x{root.hex()} on this contract; "
                               "only the account that anchored a root may change its statuses")
        results = []
        for start in range(0, len(checked), chunk_size):
            part = checked[start : start + chunk_size]
            if len(part) == 1:
                fn = self.contract.functions.setStatus(part[0][0], part[0][1], code, reason)
            else:
                roots: list[bytes] = []
                leaves: list[list[bytes]] = []
                for root, leaf in part:
                    if not roots or roots[-1] != root:
                        roots.append(root)
                        leaves.append([])
                    leaves[-1].append(leaf)
                fn = self.contract.functions.setStatusMany(roots, leaves, code, reason)
            results.append(self._send(issuer, fn))
        return results

    @staticmethod
    def _status_code(status: LeafStatus | int) -> int:
        try:
            return int(LeafStatus(int(status)))
        except ValueError:
            codes = ", ".join(f"{s.value} ({s.name.lower()})" for s in LeafStatus)
            raise BadInput("status_unknown", f"status {status!r} does not exist; use one of {codes}") from None

    # ------------------------------------------------------------ reads

    def _call(self, fn: Any) -> Any:
        return self.client.call_rpc(lambda: fn.call())

    def anchor_of(self, issuer: str, root: bytes | str) -> AnchorInfo | None:
        """``issuer``'s anchor of ``root``, or None if that account never anchored it."""
        root_b = as_bytes32(root)
        issuer = to_checksum_address(issuer)
        count, kind, block, timestamp, epoch, fp = self._call(self.contract.functions.anchorOf(issuer, root_b))
        if count == 0:
            return None
        return AnchorInfo(root_b, issuer, count, BatchKind(kind), block, timestamp, epoch, bytes(fp))

    def status_of(self, issuer: str, root: bytes | str, leaf: bytes | str) -> int:
        """The leaf's status under ``issuer``'s anchor of ``root`` (0 if it never anchored it)."""
        return self._call(self.contract.functions.statusOf(to_checksum_address(issuer), as_bytes32(root),
                                                           as_bytes32(leaf, "leaf")))

    def verify(self, issuer: str, root: bytes | str, leaf: bytes | str, proof: Sequence[bytes | str]) -> OnChainProof:
        included, kind, block, timestamp, fp, compromised, status = self._call(self.contract.functions.verify(
            to_checksum_address(issuer), as_bytes32(root), as_bytes32(leaf, "leaf"), as_proof(proof)))
        return OnChainProof(included, kind != 0, block, timestamp, bytes(fp), compromised, status)

    def organization(self, account: str) -> OrganizationInfo | None:
        kind, active, uscc_h, epoch, fp, revoked = self._call(
            self.contract.functions.organization(to_checksum_address(account)))
        if kind == 0:
            return None
        return OrganizationInfo(to_checksum_address(account), OrgKind(kind), active, bytes(uscc_h), epoch, bytes(fp),
                                revoked)

    def accounts_of(self, uscc_h: bytes) -> list[str]:
        """Every account ever registered for a credit-code hash, oldest first (their anchors stay valid)."""
        return [to_checksum_address(a) for a in self._call(self.contract.functions.accountsOf(uscc_h))]

    def seal(self, fingerprint: bytes) -> SealInfo | None:
        account, epoch, compromised = self._call(self.contract.functions.seal(as_bytes32(fingerprint, "seal_fingerprint")))
        if account == ZERO_ADDRESS:
            return None
        return SealInfo(to_checksum_address(account), epoch, compromised)
