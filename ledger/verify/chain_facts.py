"""What the chain says about anchors, statuses, seal compromises and organizations, read once and cached where the
chain cannot change it.

The v2 contract keys anchors by (issuer, root): a verifier looks for a root under the accounts of the record's
organization (``accountsOf`` its credit-code hash; usually one). An anchor never changes once set (it carries the
issuer's seal fingerprint at anchoring), nor an organization's kind and credit-code hash. The service reads an
anchor the indexer stored from its ``Anchored`` event (``chain_anchors``) and asks ``anchorOf`` only for one it
has not, so a fresh worker's first verifications under many roots do not queue on the chain node. Leaf statuses and seal
compromise times do change. The service knows a leaf's status from the table the indexer keeps from the
StatusChanged events (``ledger.storage.leaf_statuses``; one row per changed leaf, shared by every worker) and from
its own look at the events the indexer has not stored yet: every ``status_max_age`` seconds one ``eth_getLogs``
from where the last look ended to the chain head, for the StatusChanged events after the indexer's cursor (kept
until the indexer has them, at most ``GAP_LIMIT``) and the SealRevoked events (few, kept). So a first
verification asks the chain node nothing per leaf, whether the indexer is current, lags or does not run; only a
leaf whose anchor is newer than the last look (after one more look) or whose events neither covers is read by
``statusOf``, its answer reused for ``status_max_age`` seconds. The standalone verifier (age 0) asks the
contract's ``verify`` every time, which returns both the status and the compromise time.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from eth_utils import event_abi_to_log_topic

from ledger.chain.contract import (
    LedgerContract,
    OrganizationInfo,
)
from ledger.chain.logs import log_pages
from ledger.core.statuses import LeafStatus
from ledger.storage.leaf_statuses import IndexedAnchor

log = logging.getLogger(__name__)


class LeafStatuses(Protocol):
    """The status table's reader (``ledger.storage.leaf_statuses``)."""

    def __call__(self, issuer: str, root: bytes, leaf: bytes, *,
                 own_connection: bool = False) -> tuple[int | None, int | None, int | None]:
        """A leaf's status and the block of the event that set it (None, None: no event did) and the last block
        the indexer reached (None: never); ``own_connection`` when offline (the API's event loop: no wait for a
        pooled connection)."""

    def indexed(self) -> int | None:
        """The last block the indexer reached (None: never)."""

    def seal_revocations(self) -> tuple[dict[bytes, int], int | None]:
        """The SealRevoked events its indexer stored (fingerprint: compromise time) and the block up to which it
        stored them (None: never indexed)."""

    def anchor(self, issuer: str, root: bytes, *, own_connection: bool = False) -> IndexedAnchor | None:
        """``issuer``'s anchor of ``root`` as its indexer stored it (None: it has not)."""


RECENT_LIMIT = 4096  # statuses read from the chain while the table lagged, kept for status_max_age at most
# StatusChanged events a worker keeps from blocks the indexer has not stored: more, and it forgets them and waits
# for the indexer to store them (reading such leaves' statuses by statusOf meanwhile), so that a worker's memory
# does not grow with the changes while no indexer runs.
GAP_LIMIT = 20_000


@dataclass(frozen=True)
class Anchor:
    issuer: str
    block_number: int
    timestamp: int
    seal_fingerprint: bytes  # SHA-256 of the issuer's seal certificate current at anchoring (zero: no seal)


class ChainReadNeeded(Exception):
    """An answer needs the chain node while ``ChainFacts.offline()`` forbids asking it (the API's event loop)."""


def _address_key(address: str) -> bytes:
    return bytes.fromhex(address[2:])


class ChainFacts:
    """Reads of one ledger contract, cached where the chain cannot change them; thread-safe.

    With ``status_max_age`` > 0 (the service) a leaf's status is its latest StatusChanged event (01 without one),
    from ``leaf_statuses`` (the indexer's table, up to its cursor) and the events after the cursor that the looks
    at the chain read, up to the chain head at most ``status_max_age`` seconds before an answer; else (a gap between
    the two, or an anchor newer than the last look) from ``statusOf``, reused for ``status_max_age`` seconds.
    With 0 (the standalone verifier) every status and compromise time is read."""

    def __init__(self, contract: LedgerContract, *, status_max_age: float = 0.0, start_block: int = 0,
                 leaf_statuses: LeafStatuses | None = None) -> None:
        self.contract = contract
        self.status_max_age = status_max_age
        self._start_block = start_block
        self._leaf_statuses = leaf_statuses
        self._anchors: dict[tuple[str, bytes], Anchor] = {}  # (issuer, root) -> anchor
        self._recent: dict[tuple[str, bytes, bytes], tuple[int, float]] = {}  # read by statusOf: status, when
        # StatusChanged events read by the looks that the table may lack: (issuer, root, leaf) -> (status, block),
        # with the block the table must have reached for the two together to hold every event (replaced as one)
        self._unindexed: tuple[int, dict[tuple[bytes, bytes, bytes], tuple[int, int]]] = (start_block - 1, {})
        self._compromised: dict[bytes, int] = {}  # seal fingerprint -> compromise time (Unix s)
        self._accounts: dict[bytes, list[str]] = {}  # credit-code hash -> accounts
        self._status_block: int | None = None  # StatusChanged and SealRevoked events are read up to this block
        self._status_checked = 0.0
        self._chain_id: int | None = None
        self._orgs: dict[str, OrganizationInfo] = {}
        self._lock = threading.Lock()
        self._anchor_lock = threading.Lock()
        self._looking = threading.Lock()  # held while a look at status events runs in the background
        self._offline = threading.local()
        events = {e["name"]: e for e in contract.abi if e.get("type") == "event"}
        self._revoked_topic = event_abi_to_log_topic(events["SealRevoked"])
        self._status_topic = event_abi_to_log_topic(events["StatusChanged"])

    @property
    def leaf_statuses(self) -> LeafStatuses | None:
        """The status table's reader, if statuses are read from the indexer's table."""
        return self._leaf_statuses

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

    def anchor_and_status(self, issuers: Sequence[str], root: bytes, leaf: bytes,
                          proof: list[bytes]) -> tuple[Anchor | None, int]:
        """The first of ``issuers`` that anchored ``root`` (None if none did), and the leaf's status under it.

        The service answers from the anchor (one eth_call per (issuer, root), cached: an anchor never changes) and
        the status events (``_leaf_status``); the standalone verifier asks ``verify(issuer, root, leaf, proof)`` every
        time, which also tells the anchor's seal compromise time."""
        if self.status_max_age <= 0:
            self._may_read()
            for issuer in issuers:
                answer = self.contract.verify(issuer, root, leaf, proof)
                if answer.anchored:
                    if answer.seal_compromise_time:
                        self._compromised[answer.seal_fingerprint] = answer.seal_compromise_time
                    else:
                        self._compromised.pop(answer.seal_fingerprint, None)
                    anchor = Anchor(issuer, answer.block_number, answer.timestamp, answer.seal_fingerprint)
                    self._anchors[(issuer, root)] = anchor
                    # verify() gives no status for a proof that fails (merkle_proof says so): read the leaf's
                    return anchor, answer.status if answer.included else self.contract.status_of(issuer, root, leaf)
            return None, 0
        self._keep_statuses_current()
        anchor = next(filter(None, (self._anchors.get((i, root)) or self._read_anchor(i, root) for i in issuers)), None)
        if anchor is None:  # statuses can be set only under an anchored root
            return None, 0
        return anchor, self._leaf_status(anchor, root, leaf)

    def _leaf_status(self, anchor: Anchor, root: bytes, leaf: bytes) -> int:
        """The status the events give (``_known_status``); for an anchor newer than the last look, after a look
        that reaches it (one for every leaf under it, offline none); else ``statusOf``, reused for
        ``status_max_age``."""
        status = self._known_status(anchor, root, leaf)
        offline = getattr(self._offline, "on", False)
        if status is None and not offline and (self._status_block or 0) < anchor.block_number:
            self._apply_status_events(covering=anchor.block_number)
            status = self._known_status(anchor, root, leaf)
        if status is not None:
            return status
        key = (anchor.issuer, root, leaf)
        known = self._recent.get(key)
        if known is not None and time.monotonic() - known[1] <= self.status_max_age:
            return known[0]
        self._may_read()
        status = self.contract.status_of(anchor.issuer, root, leaf)
        if len(self._recent) >= RECENT_LIMIT:
            self._recent.clear()
        self._recent[key] = (status, time.monotonic())
        return status

    def _known_status(self, anchor: Anchor, root: bytes, leaf: bytes) -> int | None:
        """The leaf's latest StatusChanged event (01 without one) if the table and the looks' events together hold
        every event from the deployment up to the leaf's anchor and the last look's head; else None."""
        if self._status_block is None or self._status_block < anchor.block_number:
            return None
        table_needed, unindexed = self._unindexed
        status, set_at, indexed = None, None, None
        if self._leaf_statuses is not None:
            status, set_at, indexed = self._leaf_statuses(anchor.issuer, root, leaf,
                                                          own_connection=getattr(self._offline, "on", False))
        if (self._start_block - 1 if indexed is None else indexed) < table_needed:
            return None
        event = unindexed.get((_address_key(anchor.issuer), root, leaf))
        if event is not None and (set_at is None or event[1] >= set_at):
            return event[0]
        return LeafStatus.VALID if status is None else status

    def accounts(self, uscc_hash: bytes, *, fresh: bool = False) -> list[str]:
        """Every account registered for a credit-code hash (``accountsOf``), cached by the service; ``fresh``
        reads again (an account registered since, e.g. a department's replaced key)."""
        known = self._accounts.get(uscc_hash)
        if known is None or fresh or self.status_max_age <= 0:
            self._may_read()
            known = self._accounts[uscc_hash] = self.contract.accounts_of(uscc_hash)
        return known

    def compromise_time(self, fingerprint: bytes) -> int:
        """When the chain says the seal with this fingerprint was compromised (Unix s; 0: it was not). The
        service's answer is at most ``status_max_age`` old; the standalone verifier's comes from its last
        ``verify`` call, which is the one of the anchor being checked."""
        return self._compromised.get(fingerprint, 0)

    def _read_anchor(self, issuer: str, root: bytes) -> Anchor | None:
        """``issuer``'s anchor of the root: as the indexer stored it, else from ``anchorOf``, read once however many
        verifications of a new batch ask at once."""
        if self._leaf_statuses is not None:
            indexed = self._leaf_statuses.anchor(issuer, root, own_connection=getattr(self._offline, "on", False))
            if indexed is not None:
                anchor = self._anchors[(issuer, root)] = Anchor(issuer, *indexed)
                return anchor
        self._may_read()
        with self._anchor_lock:
            anchor = self._anchors.get((issuer, root))
            if anchor is None:
                info = self.contract.anchor_of(issuer, root)
                if info is None:
                    return None
                anchor = self._anchors[(issuer, root)] = Anchor(info.issuer, info.block_number, info.timestamp,
                                                                info.seal_fingerprint)
            return anchor

    def forget_statuses(self) -> None:
        """Read statuses afresh before the next answer: this process has just changed some (ledger.issue.changes)
        and its next verification shows them instead of waiting out ``status_max_age``."""
        self._recent.clear()
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
        """Apply the StatusChanged and SealRevoked events up to the chain head if the last look is older than
        ``max_age`` (default ``status_max_age``), or with ``covering``, if it did not reach that block; the first
        look reads them from where the indexer's tables end (``_first_unread``), in pages of
        ``CERTLEDGER_LOG_RANGE`` blocks (ledger.chain.logs)."""
        if self._reaches(max_age, covering):
            return
        with self._lock:
            if self._reaches(max_age, covering):
                return
            client = self.contract.client
            head = client.call_rpc(lambda: client.w3.eth.block_number)
            start = self._first_unread() if self._status_block is None else self._status_block + 1
            topics = [["0x" + self._status_topic.hex(), "0x" + self._revoked_topic.hex()]]
            for page in log_pages(client, {"address": self.contract.address, "topics": topics}, start, head):
                for lg in page.logs:
                    self._apply_event(lg)
                if len(self._unindexed[1]) > GAP_LIMIT:  # forgotten: the table must reach this page first
                    self._unindexed = (page.last, {})
                self._status_block = page.last  # a look that fails later resumes after this page
            self._status_block = max(head, self._status_block or 0)
            self._forget_indexed()
            self._status_checked = time.monotonic()

    def _reaches(self, max_age: float | None, covering: int | None) -> bool:
        if covering is not None:
            return self._status_block is not None and self._status_block >= covering
        age = self.status_max_age if max_age is None else max_age
        return time.monotonic() - self._status_checked <= age

    def _apply_event(self, lg: dict[str, Any]) -> None:
        topics, data = lg["topics"], bytes(lg["data"])
        if bytes(topics[0]) == self._revoked_topic:  # SealRevoked(account, fingerprint, compromiseTime)
            fingerprint, when = bytes(topics[2]), int.from_bytes(data[:32], "big")
            self._compromised[fingerprint] = min(when, self._compromised.get(fingerprint, when))
            return
        # StatusChanged(issuer, root, leaf, status, reason); the last of a leaf's events wins
        self._unindexed[1][(bytes(topics[1])[12:], bytes(topics[2]), bytes(topics[3]))] = (data[31],
                                                                                            int(lg["blockNumber"]))

    def _forget_indexed(self) -> None:
        """Drop the events the indexer has stored since (its table has each, or a later one of the same leaf)."""
        table_needed, unindexed = self._unindexed
        if not unindexed or self._leaf_statuses is None:
            return
        indexed = self._leaf_statuses.indexed()
        if indexed is not None and indexed > table_needed:
            self._unindexed = (indexed, {k: v for k, v in unindexed.items() if v[1] > indexed})

    def _first_unread(self) -> int:
        """Where the first look starts: after what the indexer stored (its status table and its SealRevoked events
        taken as read), or at ``start_block`` without one; so a worker's start-up does not read every block since
        the deployment (at 1,000 blocks a query, thousands of queries for a year of a 2-second chain)."""
        if self._leaf_statuses is None:
            return self._start_block
        known, indexed = self._leaf_statuses.seal_revocations()
        if indexed is None or indexed < self._start_block:
            return self._start_block
        for fingerprint, when in known.items():
            self._compromised[fingerprint] = min(when, self._compromised.get(fingerprint, when))
        self._unindexed = (indexed, {})
        return indexed + 1

    def warm(self, uscc_hashes: Sequence[bytes]) -> None:
        """Read now what first verifications would each stop to ask the chain node for: the chain id, the status
        events since the indexer's cursor, and every account of these organizations with its registration."""
        self.chain_id()
        if self.status_max_age > 0:
            self._apply_status_events()
        for uscc_hash in uscc_hashes:
            for account in self.accounts(uscc_hash):
                self.organization(account)

    def organization(self, account: str) -> OrganizationInfo | None:
        """Registration of an account; its kind and credit-code hash never change once set."""
        info = self._orgs.get(account)
        if info is None:
            self._may_read()
            info = self.contract.organization(account)
            if info is not None:
                self._orgs[account] = info
        return info
