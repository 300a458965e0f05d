"""JSON-RPC access to the chain: locally signed transactions, nonces, receipts and reverts.

Only standard JSON-RPC is used, so the same code runs against the local Hardhat node and a
permissioned multi-node network (e.g. Besu with QBFT), where nodes hold no unlocked accounts.
Each node reports a revert its own way (Hardhat 2 rejects the raw transaction at send time,
Hardhat 3 answers RPC error code 3, Anvil and Besu mine it with status 0, eth-tester raises
``TransactionFailed``); :meth:`ChainClient.transact` turns every one of them into
:class:`ledger.core.errors.ChainRevert` naming the contract's custom error.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable

from eth_abi import decode as abi_decode
from eth_account.signers.base import BaseAccount
from eth_utils import keccak
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError
from web3.types import RPCEndpoint, TxReceipt

from ledger.core.errors import ChainRevert, ServiceUnavailable

log = logging.getLogger(__name__)

# py_ecc (imported by web3 above) raises the recursion limit to 100,000, at which Python's C JSON parser overflows the
# C stack on ~100,000 nested brackets and the process dies (SIGSEGV) instead of raising RecursionError.
RECURSION_LIMIT = 3000
sys.setrecursionlimit(min(sys.getrecursionlimit(), RECURSION_LIMIT))

_ERROR_STRING = bytes.fromhex("08c379a0")
_PANIC = bytes.fromhex("4e487b71")


class RevertDecoder:
    """Maps revert data to the contract's custom error names and arguments."""

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self._errors: dict[bytes, tuple[str, list[str]]] = {}
        for entry in abi:
            if entry.get("type") == "error":
                types = [i["type"] for i in entry.get("inputs", [])]
                sig = f"{entry['name']}({','.join(types)})"
                self._errors[keccak(text=sig)[:4]] = (entry["name"], types)

    def decode(self, data: bytes) -> ChainRevert:
        selector, body = data[:4], data[4:]
        if selector in self._errors:
            name, types = self._errors[selector]
            return ChainRevert(name, tuple(abi_decode(types, body)))
        if selector == _ERROR_STRING:
            (reason,) = abi_decode(["string"], body)
            return ChainRevert("Error", (reason,))
        if selector == _PANIC:
            (code,) = abi_decode(["uint256"], body)
            return ChainRevert("Panic", (code,))
        return ChainRevert("UnknownRevert", (data.hex(),), message=f"the transaction reverted with data 0x{data.hex()}")


@contextlib.contextmanager
def _no_lock(_address: str) -> Iterator[None]:
    yield


def _nonce_taken(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in _NONCE_TAKEN)


def _revert_data(exc: BaseException) -> bytes | None:
    """Dig the revert bytes out of whichever shape this node and web3 version gave them."""
    candidates: list[Any] = [getattr(exc, "data", None)]
    rpc = getattr(exc, "rpc_response", None)
    if isinstance(rpc, dict):
        err = rpc.get("error") or {}
        candidates.append(err.get("data"))
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, dict):
            candidates.append(arg.get("data"))
        candidates.append(arg)
    for c in candidates:
        if isinstance(c, dict):
            c = c.get("data") or c.get("result")
        if isinstance(c, (bytes, HexBytes)) and len(c) >= 4:
            return bytes(c)
        if isinstance(c, str) and c.startswith("0x") and len(c) >= 10:
            try:
                return bytes.fromhex(c[2:])
            except ValueError:
                continue
    return None


# How nodes word a nonce that another sender took first (Hardhat, Geth, Besu, Anvil): the send is retried.
_NONCE_TAKEN = ("nonce too low", "already known", "replacement transaction underpriced", "nonce too high",
                "known transaction", "already imported", "incorrect nonce")
SEND_ATTEMPTS = 5


def _process_locks() -> Callable[[str], contextlib.AbstractContextManager[None]]:
    """One lock per sending account within this process (the default when no database lock is given)."""
    locks: dict[str, threading.Lock] = {}
    guard = threading.Lock()

    def lock(address: str) -> contextlib.AbstractContextManager[None]:
        with guard:
            return locks.setdefault(address, threading.Lock())

    return lock


class ChainClient:
    """One JSON-RPC endpoint. Transactions of one account are sent one at a time: nonce allocation and the
    send happen under ``sender_lock(address)``, a lock across processes when the caller gives one
    (``ledger.storage.senders``), within this process otherwise; a nonce lost to a sender outside it
    anyway is fetched again and the transaction re-sent."""

    _thread_locks = staticmethod(_process_locks())

    def __init__(
        self,
        rpc_url: str,
        *,
        confirmations: int = 0,
        receipt_timeout: float = 120.0,
        sender_lock: Callable[[str], contextlib.AbstractContextManager[Any]] | None = None,
    ) -> None:
        self.rpc_url = rpc_url
        # web3 asks eth_chainId twice per contract call unless it may cache that one answer.
        self.w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 60}, cache_allowed_requests=True,
                                    cacheable_requests={RPCEndpoint("eth_chainId")}))
        self.confirmations = confirmations
        self.receipt_timeout = receipt_timeout
        self.sender_lock = sender_lock
        self._chain_id: int | None = None

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self.call_rpc(lambda: self.w3.eth.chain_id)
        return self._chain_id

    def call_rpc(self, fn: Callable[[], Any]) -> Any:
        """Run one RPC call, turning a dead node into an error that names the fix."""
        try:
            return fn()
        except (ConnectionError, OSError) as exc:
            raise ServiceUnavailable(
                "chain_unreachable",
                f"cannot reach the chain node at {self.rpc_url}: start the local stack with "
                f"./dev up, or set CERTLEDGER_RPC_URL ({exc.__class__.__name__})",
            ) from exc

    def _fees(self) -> dict[str, int]:
        block = self.w3.eth.get_block("latest")
        base = block.get("baseFeePerGas")
        if base is None:
            return {"gasPrice": self.w3.eth.gas_price}
        tip = self.w3.eth.max_priority_fee if base > 0 else 0
        return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}

    def transact(
        self,
        account: BaseAccount,
        tx: dict[str, Any],
        decoder: RevertDecoder,
        *,
        gas: int | None = None,
    ) -> TxReceipt:
        """Sign ``tx`` locally, send it and wait for its receipt; any revert raises ChainRevert.

        Without ``gas`` the node estimates it, which surfaces a revert before anything is sent. A node that
        cannot be reached, or that keeps refusing the nonce, raises ServiceUnavailable (503), never a revert.
        """
        tx = dict(tx)
        tx.setdefault("from", account.address)
        tx["chainId"] = self.chain_id
        raw = self.call_rpc(lambda: self._send(account, tx, gas, decoder))
        receipt = self.wait(HexBytes(keccak(raw)))
        if receipt["status"] != 1:
            raise self._replay_revert(tx, receipt, decoder)
        return receipt

    def _send(self, account: BaseAccount, tx: dict[str, Any], gas: int | None, decoder: RevertDecoder) -> bytes:
        """Allocate the nonce and send under the account's locks; a nonce taken meanwhile is retried."""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            with self._thread_locks(account.address), (self.sender_lock or _no_lock)(account.address):
                try:
                    tx.update(self._fees())
                    tx["nonce"] = self.w3.eth.get_transaction_count(account.address, "pending")
                    tx["gas"] = gas if gas is not None else self.w3.eth.estimate_gas(tx)
                    signed = account.sign_transaction(tx)
                    self.w3.eth.send_raw_transaction(signed.raw_transaction)
                    return bytes(signed.raw_transaction)
                except (ContractLogicError, Web3RPCError, ValueError) as exc:
                    if not _nonce_taken(exc):
                        raise self._as_revert(exc, decoder) from exc
                    log.warning("nonce taken by another sender; sending again",
                                extra={"account": account.address, "nonce": tx["nonce"], "attempt": attempt})
            time.sleep(0.05 * attempt)
        raise ServiceUnavailable(
            "nonce_conflict",
            f"another sender keeps taking the nonces of {account.address}: {SEND_ATTEMPTS} sends lost the race. "
            "Make every process that sends for this account use the same database (its sender lock), then retry",
        )

    def wait(self, tx_hash: HexBytes) -> TxReceipt:
        """Wait for a receipt and then for the configured number of confirmations."""
        try:
            receipt = self.call_rpc(
                lambda: self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.receipt_timeout, poll_latency=0.05)
            )
        except TimeExhausted as exc:
            raise ServiceUnavailable(
                "receipt_timeout",
                f"transaction 0x{bytes(tx_hash).hex()} was not mined within {self.receipt_timeout}s: "
                "check that the chain is producing blocks, or raise CERTLEDGER_RECEIPT_TIMEOUT",
            ) from exc
        if self.confirmations > 1:
            deadline = time.monotonic() + self.receipt_timeout
            target = receipt["blockNumber"] + self.confirmations - 1
            while self.call_rpc(lambda: self.w3.eth.block_number) < target:
                if time.monotonic() > deadline:
                    raise ServiceUnavailable(
                        "confirmation_timeout",
                        f"block {target} not reached within {self.receipt_timeout}s; lower CERTLEDGER_CONFIRMATIONS "
                        "or check block production",
                    )
                time.sleep(0.2)
        return receipt

    def _as_revert(self, exc: BaseException, decoder: RevertDecoder) -> Exception:
        """The contract's error when the node gave revert data; a refusal that is no revert (the node is
        failing, out of sync, rate-limiting) is the chain being unavailable, 503, not the contract's 409."""
        data = _revert_data(exc)
        if data is not None:
            return decoder.decode(data)
        if exc.__class__.__name__ == "TransactionFailed":
            return ChainRevert("Error", (str(exc),))
        if isinstance(exc, ContractLogicError) or "revert" in str(exc).lower():
            return ChainRevert("UnknownRevert", (), message=f"the node refused the transaction: {exc}")
        if isinstance(exc, Web3RPCError):
            return ServiceUnavailable("chain_error", f"the chain node at {self.rpc_url} failed to take the "
                                      f"transaction: {exc}; retry, or check the node")
        return exc

    def _replay_revert(self, tx: dict[str, Any], receipt: TxReceipt, decoder: RevertDecoder) -> Exception:
        """A node that mines reverting transactions: replay as a call to learn the reason.

        The call runs on the state before the transaction's block; a node that keeps only recent states
        (Anvil keeps 16, and none from before a restart) answers that block is out of range without
        revert data, so the call runs again on the latest state.
        """
        call = {k: tx[k] for k in ("from", "to", "data", "value") if k in tx}
        for block in (receipt["blockNumber"] - 1, "latest"):
            try:
                self.w3.eth.call(call, block)
                break
            except (ContractLogicError, Web3RPCError, ValueError) as exc:
                if block != "latest" and _revert_data(exc) is None and not isinstance(exc, ContractLogicError):
                    continue  # no state at that block: not a revert
                return self._as_revert(exc, decoder)
        return ChainRevert(
            "UnknownRevert", (), message=f"transaction 0x{bytes(receipt['transactionHash']).hex()} failed on chain"
        )
