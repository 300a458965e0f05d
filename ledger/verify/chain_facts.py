"""What the chain says about anchors, statuses and seal registrations, read once and cached where the chain
cannot change it.

An anchor never changes once set, nor an organization's kind and credit-code hash, nor the fingerprints registered
up to a scanned block. Leaf statuses do change: the service applies the StatusChanged events to a map of changed
leaves at most ``status_max_age`` seconds before an answer; the standalone verifier (age 0) asks the contract
every time.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eth_utils import event_abi_to_log_topic

from ledger.chain.contract import (
    LedgerContract,
    OrganizationInfo,
)
from ledger.core.statuses import LeafStatus

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


_STATUS_LOG_RANGE = 10_000  # blocks per eth_getLogs: JSON-RPC providers commonly cap ranges there


@dataclass(frozen=True)
class Anchor:
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
        self._anchors: dict[bytes, Anchor] = {}
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

    def anchor_and_status(self, root: bytes, leaf: bytes, proof: list[bytes]) -> tuple[Anchor | None, int]:
        """The root's anchor (None if not anchored) and the leaf's status code.

        The service answers from the anchor (one eth_call per root, cached: an anchor never changes) and the
        map of changed statuses; the standalone verifier asks ``verify(root, leaf, proof)`` every time."""
        if self.status_max_age <= 0:
            self._may_read()
            answer = self.contract.verify(root, leaf, proof)
            if answer.issuer is None:
                return None, answer.status
            anchor = self._anchors[root] = Anchor(answer.issuer, answer.block_number, answer.timestamp)
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

    def _read_anchor(self, root: bytes) -> Anchor | None:
        """The root's anchor from the chain, read once however many verifications of a new batch ask at once."""
        self._may_read()
        with self._anchor_lock:
            anchor = self._anchors.get(root)
            if anchor is None:
                info = self.contract.anchor_of(root)
                if info is None:
                    return None
                anchor = self._anchors[root] = Anchor(info.issuer, info.block_number, info.timestamp)
            return anchor

    def forget_statuses(self) -> None:
        """Bring statuses up to the chain head before the next answer: this process has just changed some
        (ledger.issue.changes) and its next verification shows them instead of waiting out ``status_max_age``."""
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


def _topic_hex(topic: bytes) -> str:
    return "0x" + topic.hex()
