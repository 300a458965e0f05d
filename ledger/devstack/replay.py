"""Survive restarts of the local Hardhat node, which keeps its chain in memory only.

Every transaction the local stack gets mined is in its journal (``ledger.chain.journal``). When
``certledger up`` finds a fresh node (no contract code at the recorded address), it starts the node with
the original genesis date and replays the journal block by block: the same signed bytes give the same
transaction hashes, the same nonces give the same contract address, and ``hardhat_mine`` /
``evm_setNextBlockTimestamp`` reproduce block numbers and times. Every proof bundle exported before the
restart stays true.
"""

from __future__ import annotations

import logging
from itertools import groupby
from typing import Any

from hexbytes import HexBytes

from ledger.chain.journal import TxJournal
from ledger.core.errors import ServiceUnavailable

log = logging.getLogger(__name__)


def replay(journal: TxJournal, w3: Any) -> int:
    """Re-mine every journalled transaction into a fresh node at its original block and time."""
    entries = journal.entries()
    if not entries:
        return 0
    if w3.eth.block_number >= entries[0].block:
        raise ServiceUnavailable(
            "journal_replay_on_used_chain",
            "the chain node already has blocks the journal would replay: start a fresh node, "
            f"or move {journal.path} away to begin a new local chain",
        )
    provider = w3.provider
    provider.make_request("evm_setAutomine", [False])
    try:
        for block, group in groupby(entries, key=lambda e: e.block):
            txs = list(group)
            gap = block - 1 - w3.eth.block_number
            if gap > 0:
                provider.make_request("hardhat_mine", [hex(gap)])
            provider.make_request("evm_setNextBlockTimestamp", [txs[0].timestamp])
            hashes = [w3.eth.send_raw_transaction(HexBytes(e.raw)) for e in txs]
            provider.make_request("evm_mine", [])
            for h in hashes:
                receipt = w3.eth.get_transaction_receipt(h)
                if receipt["blockNumber"] != block or receipt["status"] != 1:
                    raise ServiceUnavailable(
                        "journal_replay_diverged",
                        f"replayed transaction 0x{bytes(h).hex()} landed in block {receipt['blockNumber']} "
                        f"(status {receipt['status']}), expected block {block}: the journal {journal.path} does not "
                        "match this node's configuration",
                    )
    finally:
        provider.make_request("evm_setAutomine", [True])
    log.info("replayed chain journal", extra={"transactions": len(entries), "blocks": entries[-1].block})
    return len(entries)
