"""The CertLedger contract from Python: deploy, register organizations, anchor, change status, read.

Every input is checked before anything is sent, so bad input costs no transaction; the contract
checks the same rules again for callers that bypass this module.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any, Iterable, Sequence

from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3.contract import Contract

from ledger.chain.client import ChainClient, RevertDecoder
from ledger.chain.compiler import load_artifact
from ledger.core.errors import BadInput, Forbidden, NotFound
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
    root: bytes
    issuer: str
    leaf_count: int
    kind: BatchKind
    block_number: int
    timestamp: int


@dataclass(frozen=True)
class OnChainProof:
    included: bool
    issuer: str | None
    block_number: int
    timestamp: int
    status: int


@dataclass(frozen=True)
class OrganizationInfo:
    address: str
    org_id: int
    kind: OrgKind
    active: bool
    uscc_hash: bytes
    seal_fingerprint: bytes


class LedgerContract:
    """A deployed CertLedger contract."""

    def __init__(self, client: ChainClient, address: str, abi: list[dict[str, Any]] | None = None) -> None:
        self.client = client
        self.abi = abi or load_artifact()["abi"]
        self.address = to_checksum_address(address)
        self.contract: Contract = client.w3.eth.contract(address=self.address, abi=self.abi)
        self.decoder = RevertDecoder(self.abi)

    @classmethod
    def deploy(cls, client: ChainClient, admin: LocalAccount) -> tuple[LedgerContract, Deployment]:
        artifact = load_artifact()
        factory = client.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        tx = factory.constructor(admin.address).build_transaction({"from": admin.address, "gas": 0, "nonce": 0})
        tx = {"data": tx["data"], "value": 0}
        receipt = client.transact(admin, tx, RevertDecoder(artifact["abi"]))
        address = receipt["contractAddress"]
        deployment = Deployment(client.chain_id, address, receipt["blockNumber"], "0x" + bytes(receipt["transactionHash"]).hex())
        return cls(client, address, artifact["abi"]), deployment

    # ------------------------------------------------------------ writes

    def _send(self, account: LocalAccount, fn: Any, *, gas: int | None = None) -> TxResult:
        tx = {"to": self.address, "data": fn._encode_transaction_data(), "value": 0}
        receipt = self.client.transact(account, tx, self.decoder, gas=gas)
        block = self.client.w3.eth.get_block(receipt["blockNumber"])
        return TxResult(
            "0x" + bytes(receipt["transactionHash"]).hex(), receipt["blockNumber"], block["timestamp"], receipt["gasUsed"]
        )

    def register_organization(
        self, admin: LocalAccount, account: str, kind: OrgKind, uscc: str, seal_fingerprint: bytes | str
    ) -> TxResult:
        fp = as_bytes32(seal_fingerprint, "seal_fingerprint")
        return self._send(
            admin,
            self.contract.functions.registerOrganization(to_checksum_address(account), int(OrgKind(kind)), uscc_hash(uscc), fp),
        )

    def rotate_seal(self, admin: LocalAccount, account: str, new_fingerprint: bytes | str) -> TxResult:
        fp = as_bytes32(new_fingerprint, "seal_fingerprint")
        return self._send(admin, self.contract.functions.rotateSeal(to_checksum_address(account), fp))

    def deactivate(self, admin: LocalAccount, account: str) -> TxResult:
        return self._send(admin, self.contract.functions.deactivateOrganization(to_checksum_address(account)))

    def reactivate(self, admin: LocalAccount, account: str) -> TxResult:
        return self._send(admin, self.contract.functions.reactivateOrganization(to_checksum_address(account)))

    def anchor(self, issuer: LocalAccount, root: bytes | str, leaf_count: int, kind: BatchKind) -> TxResult:
        root_b = as_bytes32(root)
        if root_b == bytes(32):
            raise BadInput("root_malformed", "the zero root cannot be anchored")
        if not isinstance(leaf_count, int) or leaf_count <= 0:
            raise BadInput("empty_batch", "a batch must hold at least one leaf")
        if leaf_count >= 2**32:
            raise BadInput("batch_too_large", f"a batch holds at most {2**32 - 1} leaves; split it")
        return self._send(issuer, self.contract.functions.anchor(root_b, leaf_count, int(BatchKind(kind))))

    def set_status(
        self, issuer: LocalAccount, root: bytes | str, leaf: bytes | str, status: LeafStatus | int, reason: int = 0
    ) -> TxResult:
        return self.set_status_many(issuer, [(root, leaf)], status, reason)[0]

    def set_status_many(
        self,
        issuer: LocalAccount,
        pairs: Iterable[tuple[bytes | str, bytes | str]],
        status: LeafStatus | int,
        reason: int = 0,
        *,
        chunk_size: int = 1000,
    ) -> list[TxResult]:
        """Change the status of many (root, leaf) pairs in as few transactions as the block gas allows."""
        code = self._status_code(status)
        if not 0 <= reason < 2**16:
            raise BadInput("reason_malformed", "a reason code is an integer from 0 to 65535")
        checked = [(as_bytes32(r), as_bytes32(leaf, "leaf")) for r, leaf in pairs]
        if not checked:
            raise BadInput("empty_batch", "no certificates to change")
        for root in {r for r, _ in checked}:
            anchor = self.anchor_of(root)
            if anchor is None:
                raise NotFound("root_unknown", f"root 0x{root.hex()} is not anchored on this contract")
            if anchor.issuer != issuer.address:
                raise Forbidden(
                    "not_root_issuer",
                    f"root 0x{root.hex()} was anchored by {anchor.issuer}; only that account may change its statuses",
                )
        checked.sort()
        results = []
        for start in range(0, len(checked), chunk_size):
            part = checked[start : start + chunk_size]
            if len(part) == 1:
                fn = self.contract.functions.setStatus(part[0][0], part[0][1], code, reason)
            else:
                fn = self.contract.functions.setStatusMany([r for r, _ in part], [leaf for _, leaf in part], code, reason)
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

    def anchor_of(self, root: bytes | str) -> AnchorInfo | None:
        root_b = as_bytes32(root)
        issuer, leaf_count, kind, block_number, timestamp = self._call(self.contract.functions.anchorOf(root_b))
        if issuer == ZERO_ADDRESS:
            return None
        return AnchorInfo(root_b, issuer, leaf_count, BatchKind(kind), block_number, timestamp)

    def status_of(self, root: bytes | str, leaf: bytes | str) -> int:
        return self._call(self.contract.functions.statusOf(as_bytes32(root), as_bytes32(leaf, "leaf")))

    def verify(self, root: bytes | str, leaf: bytes | str, proof: Sequence[bytes | str]) -> OnChainProof:
        included, issuer, block_number, timestamp, status = self._call(
            self.contract.functions.verify(as_bytes32(root), as_bytes32(leaf, "leaf"), as_proof(proof))
        )
        return OnChainProof(included, None if issuer == ZERO_ADDRESS else issuer, block_number, timestamp, status)

    def organization(self, account: str) -> OrganizationInfo | None:
        org_id, kind, active, uscc_h, fp = self._call(self.contract.functions.organization(to_checksum_address(account)))
        if org_id == 0:
            return None
        return OrganizationInfo(to_checksum_address(account), org_id, OrgKind(kind), active, uscc_h, fp)
