"""``eth_getLogs`` in pages of blocks, as real networks require.

A Hyperledger Besu node refuses a log query over more blocks than its ``--rpc-max-logs-range`` and providers
refuse one with too many results; Anvil and Hardhat refuse neither, so an unpaged query passes every local
test and fails on the city's network. Every log query of certledger goes through :func:`log_pages`: at most
``CERTLEDGER_LOG_RANGE`` blocks per query (default 1,000, Besu's limit in recent releases); a page the node
still refuses for its size is split in halves down to a single block. Pages come in block order with the
last block each covers, so a caller can record how far it got and resume from there (the indexer's cursor).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from web3.exceptions import Web3RPCError
from web3.types import LogReceipt, RPCEndpoint

from ledger.chain.client import ChainClient
from ledger.core.errors import ServiceUnavailable

LOG_RANGE_ENV = "CERTLEDGER_LOG_RANGE"
DEFAULT_LOG_RANGE = 1000
# How nodes say a log query is too large (Besu, Geth, common providers): the page is split and asked again.
_TOO_LARGE = ("range", "more than", "too many", "limit exceeded", "response size", "exceed")


@dataclass(frozen=True)
class LogPage:
    first: int
    last: int
    logs: list[LogReceipt] | list[dict[str, Any]]


def log_range() -> int:
    """Blocks per ``eth_getLogs`` query: ``CERTLEDGER_LOG_RANGE``, at most the nodes' own limit."""
    raw = os.environ.get(LOG_RANGE_ENV, str(DEFAULT_LOG_RANGE))
    if not raw.isdigit() or int(raw) < 1:
        raise ServiceUnavailable("log_range_invalid", f"{LOG_RANGE_ENV} must be a whole number of blocks of at "
                                 f"least 1 (the nodes' rpc-max-logs-range or less); got {raw!r}")
    return int(raw)


def _too_large(exc: Web3RPCError) -> bool:
    return any(marker in str(exc).lower() for marker in _TOO_LARGE)


def _raw_logs(client: ChainClient, window: dict[str, Any]) -> list[dict[str, Any]]:
    """The node's own answer, no web3 formatting (hex text): the indexer decodes thousands of logs a page."""
    params = {**window, "fromBlock": hex(window["fromBlock"]), "toBlock": hex(window["toBlock"])}
    response = client.w3.provider.make_request(RPCEndpoint("eth_getLogs"), [params])
    if "error" in response:
        raise Web3RPCError(str(response["error"]), rpc_response=response)
    return response["result"]


def log_pages(client: ChainClient, query: dict[str, Any], first: int, last: int | None = None, *,
              page: int | None = None, raw: bool = False) -> Iterator[LogPage]:
    """The logs matching ``query`` (address, topics) from block ``first`` to ``last`` (default: the head now),
    one page of at most ``page`` blocks (default :func:`log_range`) at a time; ``raw``: as the node sends them
    (hex text, for ``ledger.chain.event_decoding``), not as web3 formats them."""
    size = page or log_range()
    if last is None:
        last = client.call_rpc(lambda: client.w3.eth.block_number)
    start = first
    while start <= last:
        end = min(last, start + size - 1)
        window = {**query, "fromBlock": start, "toBlock": end}
        try:
            logs = client.call_rpc(lambda q=window: _raw_logs(client, q) if raw else client.w3.eth.get_logs(q))
        except Web3RPCError as exc:
            if not _too_large(exc) or end == start:
                raise ServiceUnavailable("chain_logs_refused", f"the chain node at {client.rpc_url} refused the logs "
                                         f"of blocks {start}-{end}: {exc}; lower {LOG_RANGE_ENV}") from exc
            size = max(1, (end - start + 1) // 2)
            continue
        yield LogPage(start, end, list(logs))
        start = end + 1
