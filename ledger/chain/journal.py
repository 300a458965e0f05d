"""Survive restarts of the local Hardhat node, which keeps its chain in memory only.

Every transaction the local stack gets mined is appended, as the exact signed bytes, to a journal
with the block number, position and timestamp it got. When ``certledger up`` finds a fresh node
(no contract code at the recorded address), it starts the node with the original genesis date
and replays the journal block by block: the same signed bytes give the same transaction hashes,
the same nonces give the same contract address, and ``hardhat_mine`` / ``evm_setNextBlockTimestamp``
reproduce block numbers and times. Every proof bundle exported before the restart stays true.

A real permissioned network (Besu/QBFT) keeps its own state; there the journal is simply off.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

from hexbytes import HexBytes

from ledger.core.errors import ServiceUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    block: int
    index: int
    timestamp: int
    raw: bytes


class TxJournal:
    """An append-only JSON-lines file; appends from several processes are whole lines (O_APPEND)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, raw: bytes, block: int, index: int, timestamp: int) -> None:
        line = json.dumps({"block": block, "index": index, "timestamp": timestamp, "raw": "0x" + raw.hex()}) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)

    def entries(self) -> list[Entry]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                d = json.loads(line)
                out.append(Entry(d["block"], d["index"], d["timestamp"], bytes.fromhex(d["raw"][2:])))
        return sorted(out, key=lambda e: (e.block, e.index))

    def genesis_date(self) -> str | None:
        """An ISO date for Hardhat's ``initialDate``: before the first journalled block."""
        entries = self.entries()
        if not entries:
            return None
        first = min(e.timestamp for e in entries) - 60
        return dt.datetime.fromtimestamp(first, dt.timezone.utc).isoformat()

    def replay(self, w3: Any) -> int:
        """Re-mine every journalled transaction into a fresh node at its original block and time."""
        entries = self.entries()
        if not entries:
            return 0
        if w3.eth.block_number >= entries[0].block:
            raise ServiceUnavailable(
                "journal_replay_on_used_chain",
                "the chain node already has blocks the journal would replay: start a fresh node, "
                f"or move {self.path} away to begin a new local chain",
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
                            f"(status {receipt['status']}), expected block {block}: the journal {self.path} does not "
                            "match this node's configuration",
                        )
        finally:
            provider.make_request("evm_setAutomine", [True])
        log.info("replayed chain journal", extra={"transactions": len(entries), "blocks": entries[-1].block})
        return len(entries)
