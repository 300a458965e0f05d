"""A journal of the transactions this process got mined: the exact signed bytes, block, position and time.

The local Hardhat node keeps its chain in memory only; ``ledger.devstack.replay`` rebuilds it from this
journal after a restart. A real permissioned network (Besu/QBFT) keeps its own state; there the journal
is simply off (``CERTLEDGER_CHAIN_JOURNAL``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

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
