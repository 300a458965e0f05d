"""Does the chain hold what the database says was sent to it? Checked before anything is sent again.

A chain node that lost its state (Anvil killed with -9 between two writes of its state, a state file cut
short and set aside, a deleted state folder, a restarted Hardhat node) or a node of another chain would
take new anchors as if nothing had happened, while the database holds proofs and status changes the chain
no longer knows: a revoked certificate would verify as valid. So ``certledger up``, and its supervisor
after it restarts a node, check that the contract is there and that the newest recorded transactions
(anchored batches, status changes) resolve in the blocks the database recorded; when they do not,
nothing is sent and the error names what is missing and the fix (``chain_behind_database``).

Only the newest transactions are looked at (and, while they are missing, older ones): a node loses the
end of its chain, never the middle, and nothing is sent between the loss and this check.

The production workers (``certledger worker``, ``certledger indexer``) ask the same before every round through
:class:`ChainGuard`: the whole check first and after any failure, and in between a quick one of a few calls
(the node's own chain id, the contract's code, a head not behind the newest recorded block, the newest anchoring
transaction and status change in their blocks), which also catches a fresh node where the same admin key
deployed the contract again at the same address. The guard clears by itself once the right node is back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hexbytes import HexBytes
from sqlalchemy import select
from web3.exceptions import TransactionNotFound

from ledger.app.library import Library
from ledger.chain.contract import Deployment
from ledger.core.errors import ServiceUnavailable
from ledger.storage.models import Batch, CertificateEvent, LedgerDeployment

RECENT = 16  # newest transactions checked per kind even when they resolve
LISTED = 20  # lost transactions named in the message (all are in the details)
OPERATOR_FIX = ("修复：将 CERTLEDGER_RPC_URL 指回原链的节点，或恢复该节点的链数据；在此之前不发送任何交易。"
                "Fix: point CERTLEDGER_RPC_URL at a node of the original chain, or restore this node's chain data; "
                "nothing is sent until then.")


@dataclass(frozen=True)
class LostTransaction:
    what: str
    tx_hash: str
    block_number: int


def _recorded(lib: Library) -> Iterator[tuple[str, list[tuple[str, bytes, int]]]]:
    """Per kind, the recorded transactions newest first: (what, tx hash, block), one row per transaction."""
    with lib.sessions() as session:
        batches = session.execute(
            select(Batch.id, Batch.kind, Batch.leaf_count, Batch.tx_hash, Batch.block_number)
            .where(Batch.status == "anchored", Batch.tx_hash.is_not(None))
            .order_by(Batch.block_number.desc(), Batch.id.desc())
        ).all()
        events = session.execute(
            select(CertificateEvent.action, CertificateEvent.tx_hash, CertificateEvent.block_number)
            .where(CertificateEvent.tx_hash.is_not(None))
            .order_by(CertificateEvent.block_number.desc(), CertificateEvent.id.desc())
        ).all()
    yield "batches", [(f"batch {b.id} ({b.kind}, {b.leaf_count} leaves)", b.tx_hash, b.block_number) for b in batches]
    seen: dict[bytes, tuple[str, bytes, int]] = {}
    for e in events:
        seen.setdefault(bytes(e.tx_hash), (f"status change ({e.action})", e.tx_hash, e.block_number))
    yield "status changes", list(seen.values())


def _on_chain(lib: Library, tx_hash: bytes, block_number: int) -> bool:
    try:
        receipt = lib.chain.call_rpc(lambda: lib.chain.w3.eth.get_transaction_receipt(HexBytes(tx_hash)))
    except TransactionNotFound:
        return False
    return receipt["blockNumber"] == block_number and receipt["status"] == 1


def lost_transactions(lib: Library) -> list[LostTransaction]:
    """Recorded transactions the chain does not hold in the recorded block, newest first."""
    lost = []
    for _kind, rows in _recorded(lib):
        for checked, (what, tx_hash, block) in enumerate(rows, start=1):
            if not _on_chain(lib, tx_hash, block):
                lost.append(LostTransaction(what, "0x" + bytes(tx_hash).hex(), block))
            elif checked >= RECENT:
                break
    return lost


def _behind(lib: Library, summary: str, fix: str, **details: object) -> ServiceUnavailable:
    return ServiceUnavailable(
        "chain_behind_database",
        f"链节点缺少数据库已记录的上链数据，已停止发送交易（{summary}）。The chain node at {lib.settings.rpc_url} "
        f"lacks what the database records as sent to it ({summary}): it was replaced or lost its state, so nothing "
        f"more is sent to it. {fix}",
        **details,
    )


def check_chain(lib: Library, *, fix: str) -> None:
    """Raise ``chain_behind_database`` unless the contract and the newest recorded transactions are on chain.

    ``fix`` tells the reader what to do, in the words of the caller (the local stack or an operator).
    """
    contract = lib.contract
    if contract is None:
        return
    deployment = lib.settings.deployment_file
    recorded_id = Deployment.load(deployment).chain_id if deployment.exists() else lib.chain.chain_id
    if lib.chain.chain_id != recorded_id:
        raise _behind(lib, f"chain id {lib.chain.chain_id}, not {recorded_id} as {deployment} records", fix)
    if not lib.chain.call_rpc(lambda: lib.chain.w3.eth.get_code(contract.address)):
        raise _behind(lib, f"no contract at {contract.address}", fix, contract=contract.address)
    lost = lost_transactions(lib)
    if lost:
        named = "; ".join(f"{t.what}: {t.tx_hash} in block {t.block_number}" for t in lost[:LISTED])
        more = f"; and {len(lost) - LISTED} more" if len(lost) > LISTED else ""
        raise _behind(lib, f"{len(lost)} transactions missing: {named}{more}", fix,
                      lost=[t.__dict__ for t in lost])



class ChainGuard:
    """The check a worker makes before each round (see the module): whole at first and after a failure, quick
    in between."""

    def __init__(self, lib: Library, fix: str = OPERATOR_FIX) -> None:
        self.lib, self.fix = lib, fix
        self.verified = False

    def check(self) -> None:
        self.lib.require_contract()
        try:
            if self.verified:
                self._quick()
            else:
                check_chain(self.lib, fix=self.fix)
        except ServiceUnavailable:
            self.verified = False
            raise
        self.verified = True

    def _rpc(self, method: str, *params: object) -> object:
        chain = self.lib.chain
        answer = chain.call_rpc(lambda: chain.w3.provider.make_request(method, list(params)))  # type: ignore[arg-type]
        if "error" in answer:
            raise ServiceUnavailable("chain_error", f"the chain node answered {method} with {answer['error']}")
        return answer["result"]

    def _quick(self) -> None:
        lib, contract = self.lib, self.lib.require_contract()
        with lib.sessions() as session:
            recorded = session.scalar(select(LedgerDeployment.chain_id)
                                      .where(LedgerDeployment.address == contract.address))
            batch = session.execute(select(Batch.id, Batch.tx_hash, Batch.block_number)
                                    .where(Batch.status == "anchored", Batch.tx_hash.is_not(None))
                                    .order_by(Batch.id.desc()).limit(1)).first()
            event = session.execute(select(CertificateEvent.tx_hash, CertificateEvent.block_number)
                                    .where(CertificateEvent.tx_hash.is_not(None))
                                    .order_by(CertificateEvent.id.desc()).limit(1)).first()
        chain_id = int(str(self._rpc("eth_chainId")), 16)
        if recorded is not None and chain_id != recorded:
            raise _behind(lib, f"chain id {chain_id}, not {recorded} as the deployment records", self.fix)
        if not HexBytes(str(self._rpc("eth_getCode", contract.address, "latest"))):
            raise _behind(lib, f"no contract at {contract.address}", self.fix, contract=contract.address)
        head = int(str(self._rpc("eth_blockNumber")), 16)
        newest = ([(f"anchored batch {batch.id}", batch.tx_hash, batch.block_number)] if batch else []) + \
                 ([("status change", event.tx_hash, event.block_number)] if event else [])
        for what, tx_hash, block in newest:
            if head < block or not _on_chain(lib, bytes(tx_hash), block):
                raise _behind(lib, f"the newest {what}, 0x{bytes(tx_hash).hex()} in block {block}, is missing "
                              f"(head {head})", self.fix, tx_hash="0x" + bytes(tx_hash).hex(), block=block)
