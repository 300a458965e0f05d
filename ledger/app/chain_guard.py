"""Is the chain node still the chain this platform anchored into? Asked before a worker sends or indexes.

A node that was replaced (a fresh node on the same address), restarted without its state, or pointed at
another network answers JSON-RPC as before and would take new anchors as if nothing had happened, while the
database holds proofs of anchors that chain does not have: verification of every earlier certificate would
fail, and the new anchors would live on a chain nobody trusts. So before each round a worker checks, in a few
calls, that the node is the chain the database knows:

- its chain id is the recorded deployment's;
- the contract has code at its address (a fresh chain has none);
- its head is not behind the newest block the database recorded a transaction in;
- the newest recorded anchoring transaction and status change resolve, in their recorded blocks (a fresh
  chain where the same admin key deployed the contract again has code at the same address: only this
  tells it apart).

Every check compares the node with what the database recorded, so a chain rebuilt with every recorded
transaction in its block (the local Hardhat node replayed from its journal, a node restored from a backup of its
data) passes, whatever its block hashes. A failed check raises ``chain_replaced`` (ServiceUnavailable) saying what
is missing; the worker sends nothing and checks again later, so it goes on by itself once the right node is back.
"""

from __future__ import annotations

from typing import Any

from hexbytes import HexBytes
from sqlalchemy import select
from web3.exceptions import TransactionNotFound

from ledger.app.library import Library
from ledger.core.errors import ServiceUnavailable
from ledger.storage.models import Batch, CertificateEvent, LedgerDeployment

FIX = ("修复：将 CERTLEDGER_RPC_URL 指回原链的节点，或恢复该节点的链数据；在此之前不会上链任何内容。"
       "Fix: point CERTLEDGER_RPC_URL at a node of the original chain, or restore this node's chain data; "
       "nothing is sent until then.")


def _replaced(lib: Library, what: str, **details: Any) -> ServiceUnavailable:
    return ServiceUnavailable(
        "chain_replaced",
        f"链节点与数据库记录的链不一致（{what}）。The chain node at {lib.settings.rpc_url} is not the chain the "
        f"database records ({what}): it was replaced, lost its state or belongs to another network. {FIX}",
        **details,
    )


class ChainGuard:
    """The checks of the module, over one Library."""

    def __init__(self, lib: Library) -> None:
        self.lib = lib

    def _rpc(self, method: str, *params: Any) -> Any:
        chain = self.lib.chain
        answer = chain.call_rpc(lambda: chain.w3.provider.make_request(method, list(params)))  # type: ignore[arg-type]
        if "error" in answer:
            raise ServiceUnavailable("chain_error", f"the chain node answered {method} with {answer['error']}")
        return answer["result"]

    def check(self) -> None:
        """Raise ``chain_replaced`` unless the node is the recorded chain (see the module)."""
        lib = self.lib
        contract = lib.require_contract()
        self._check_chain_id(contract.address)
        if not HexBytes(self._rpc("eth_getCode", contract.address, "latest")):
            raise _replaced(lib, f"no contract at {contract.address}", contract=contract.address)
        head = int(self._rpc("eth_blockNumber"), 16)
        for what, tx_hash, block in self._newest_recorded():
            if head < block:
                raise _replaced(lib, f"its head is block {head}, behind block {block} of the newest {what}",
                                head=head, recorded_block=block)
            self._require_receipt(what, tx_hash, block)

    def _check_chain_id(self, address: str) -> None:
        with self.lib.sessions() as session:
            recorded = session.scalar(select(LedgerDeployment.chain_id).where(LedgerDeployment.address == address))
        chain_id = int(self._rpc("eth_chainId"), 16)
        if recorded is not None and chain_id != recorded:
            raise _replaced(self.lib, f"chain id {chain_id}, not {recorded} as the deployment of {address} records",
                            chain_id=chain_id, recorded_chain_id=recorded)

    def _newest_recorded(self) -> list[tuple[str, bytes, int]]:
        """The latest recorded anchoring transaction and status change (by id: indexed, and as good as by block)."""
        with self.lib.sessions() as session:
            batch = session.execute(
                select(Batch.id, Batch.tx_hash, Batch.block_number)
                .where(Batch.status == "anchored", Batch.tx_hash.is_not(None))
                .order_by(Batch.id.desc()).limit(1)).first()
            event = session.execute(
                select(CertificateEvent.tx_hash, CertificateEvent.block_number)
                .where(CertificateEvent.tx_hash.is_not(None), CertificateEvent.block_number.is_not(None))
                .order_by(CertificateEvent.id.desc()).limit(1)).first()
        found = []
        if batch is not None:
            found.append((f"anchored batch {batch.id}", bytes(batch.tx_hash), batch.block_number))
        if event is not None:
            found.append(("status change", bytes(event.tx_hash), event.block_number))
        return found

    def _require_receipt(self, what: str, tx_hash: bytes, block: int) -> None:
        chain = self.lib.chain
        try:
            receipt = chain.call_rpc(lambda: chain.w3.eth.get_transaction_receipt(HexBytes(tx_hash)))
        except TransactionNotFound:
            receipt = None
        if receipt is None or receipt["blockNumber"] != block:
            raise _replaced(self.lib, f"the transaction 0x{tx_hash.hex()} of the newest {what} is not in block "
                            f"{block}", tx_hash="0x" + tx_hash.hex(), block=block)
