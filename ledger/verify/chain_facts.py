"""What the chain says about anchors, statuses, seal compromises and organizations, read once and cached where the
chain cannot change it.

The v2 contract keys anchors by (issuer, root): a verifier looks for a root under the accounts of the record's
organization (``accountsOf`` its credit-code hash; usually one). An anchor never changes once set (it carries the
issuer's seal fingerprint at anchoring), nor an organization's kind and credit-code hash. Leaf statuses and seal
compromise times do change. The service reads a leaf's status from the table the indexer keeps from the
StatusChanged events (``ledger.storage.leaf_statuses``; one row per changed leaf, shared by every worker) while
the indexer has reached the leaf's anchor and the chain head of a look at least one period old; otherwise it
asks ``statusOf`` and reuses the answer for ``status_max_age`` seconds. Compromise times come from the
SealRevoked events (few), read at most ``status_max_age`` before an answer. The standalone verifier (age 0) asks
the contract's ``verify`` every time, which returns both.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from eth_utils import event_abi_to_log_topic

from ledger.chain.contract import (
    LedgerContract,
    OrganizationInfo,
)
from ledger.chain.logs import log_pages
from ledger.core.statuses import LeafStatus

log = logging.getLogger(__name__)


class LeafStatuses(Protocol):
    """The status table's reader (``ledger.storage.leaf_statuses``)."""

    lag_blocks: int  # how far behind the head its indexer stays by design (confirmations)

    def __call__(self, issuer: str, root: bytes, leaf: bytes, *,
                 own_connection: bool = False) -> tuple[int | None, int | None]:
        """A leaf's status (None: no event set one) and the last block the indexer reached (None: never);
        ``own_connection`` when offline (the API's event loop: no wait for a pooled connection)."""

    def seal_revocations(self) -> tuple[dict[bytes, int], int | None]:
        """The SealRevoked events its indexer stored (fingerprint: compromise time) and the block up to which it
        stored them (None: never indexed)."""


RECENT_LIMIT = 4096  # statuses read from the chain while the table lagged, kept for status_max_age at most


@dataclass(frozen=True)
class Anchor:
    issuer: str
    block_number: int
    timestamp: int
    seal_fingerprint: bytes  # SHA-256 of the issuer's seal certificate current at anchoring (zero: no seal)


class ChainReadNeeded(Exception):
    """An answer needs the chain node while ``ChainFacts.offline()`` forbids asking it (the API's event loop)."""


class ChainFacts:
    """Reads of one ledger contract, cached where the chain cannot change them; thread-safe.

    With ``status_max_age`` > 0 (the service) a leaf's status comes from ``leaf_statuses`` (the indexer's table)
    when the indexer has reached both the leaf's anchor and the chain head seen by the previous look at SealRevoked
    events (less its ``lag_blocks``, the indexer's confirmations); else from ``statusOf``, reused for
    ``status_max_age`` seconds.
    With 0 (the standalone verifier) every status and compromise time is read."""

    def __init__(self, contract: LedgerContract, *, status_max_age: float = 0.0, start_block: int = 0,
                 leaf_statuses: LeafStatuses | None = None) -> None:
        self.contract = contract
        self.status_max_age = status_max_age
        self._start_block = start_block
        self._leaf_statuses = leaf_statuses
        self._anchors: dict[tuple[str, bytes], Anchor] = {}  # (issuer, root) -> anchor
        self._recent: dict[tuple[str, bytes, bytes], tuple[int, float]] = {}  # read by statusOf: status, when
        self._compromised: dict[bytes, int] = {}  # seal fingerprint -> compromise time (Unix s)
        self._accounts: dict[bytes, list[str]] = {}  # credit-code hash -> accounts
        self._status_block: int | None = None  # SealRevoked events are applied up to this block
        self._previous_head = 0  # the chain head at the look before the last
        self._status_checked = 0.0
        self._chain_id: int | None = None
        self._orgs: dict[str, OrganizationInfo] = {}
        self._lock = threading.Lock()
        self._anchor_lock = threading.Lock()
        self._looking = threading.Lock()  # held while a look at revocation events runs in the background
        self._offline = threading.local()
        events = {e["name"]: e for e in contract.abi if e.get("type") == "event"}
        self._revoked_topic = event_abi_to_log_topic(events["SealRevoked"])

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
        the status table (``_leaf_status``); the standalone verifier asks ``verify(issuer, root, leaf, proof)`` every
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
        """The table's status while its indexer is current (it has every event up to the anchor and to the head
        of the look before the last, at least one period ago); else ``statusOf``, reused for ``status_max_age``."""
        if self._leaf_statuses is not None:
            status, indexed = self._leaf_statuses(anchor.issuer, root, leaf,
                                                  own_connection=getattr(self._offline, "on", False))
            current = max(anchor.block_number, self._previous_head - self._leaf_statuses.lag_blocks)
            if indexed is not None and indexed >= current:
                return LeafStatus.VALID if status is None else status
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
        """``issuer``'s anchor of the root, read once however many verifications of a new batch ask at once."""
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
        """Apply the revocation events since the last look if it is older than ``status_max_age``; offline, start
        a look in the background from half the period on instead, and refuse once the period is over."""
        if not getattr(self._offline, "on", False):
            self._apply_status_events()
            return
        age = time.monotonic() - self._status_checked
        if age > self.status_max_age or self._status_block is None:
            raise ChainReadNeeded
        if age > self.status_max_age / 2:
            self._look_at_status_events_soon()

    def _look_at_status_events_soon(self) -> None:
        """Look at revocation events on a thread of its own (one at a time) half a period early, so that an offline
        caller seldom finds the look due and has to take the slower way."""
        if not self._looking.acquire(blocking=False):
            return

        def look() -> None:
            try:
                self._apply_status_events(self.status_max_age / 2)
            except Exception:  # noqa: BLE001 - the next verification looks again, in its own thread
                log.warning("revocation events not read", exc_info=True)
            finally:
                self._looking.release()

        threading.Thread(target=look, name="status-events", daemon=True).start()

    def _apply_status_events(self, max_age: float | None = None) -> None:
        """Apply the SealRevoked events up to the chain head if the last look is older than ``max_age`` (default
        ``status_max_age``); the first look reads them from ``start_block``, in pages of ``CERTLEDGER_LOG_RANGE``
        blocks (ledger.chain.logs). Each look also notes the head, which the status table's indexer must reach."""
        max_age = self.status_max_age if max_age is None else max_age
        if time.monotonic() - self._status_checked <= max_age:
            return
        with self._lock:
            if time.monotonic() - self._status_checked <= max_age:
                return
            client = self.contract.client
            head = client.call_rpc(lambda: client.w3.eth.block_number)
            previous = self._status_block or 0
            start = self._first_unread() if self._status_block is None else self._status_block + 1
            topics = [["0x" + self._revoked_topic.hex()]]
            for page in log_pages(client, {"address": self.contract.address, "topics": topics}, start, head):
                for lg in page.logs:  # SealRevoked(account, fingerprint, compromiseTime)
                    fingerprint, when = bytes(lg["topics"][2]), int.from_bytes(bytes(lg["data"])[:32], "big")
                    self._compromised[fingerprint] = min(when, self._compromised.get(fingerprint, when))
                self._status_block = page.last  # a look that fails later resumes after this page
            self._previous_head = previous
            self._status_block = max(head, self._status_block or 0)
            self._status_checked = time.monotonic()

    def _first_unread(self) -> int:
        """Where the first look at SealRevoked events starts: after what the status table's indexer stored of them
        (taken as read), or at ``start_block`` without one; so a worker's start-up does not read every block
        since the deployment (at 1,000 blocks a query, thousands of queries for a year of a 2-second chain)."""
        if self._leaf_statuses is None:
            return self._start_block
        known, indexed = self._leaf_statuses.seal_revocations()
        if indexed is None or indexed < self._start_block:
            return self._start_block
        for fingerprint, when in known.items():
            self._compromised[fingerprint] = min(when, self._compromised.get(fingerprint, when))
        return indexed + 1

    def organization(self, account: str) -> OrganizationInfo | None:
        """Registration of an account; its kind and credit-code hash never change once set."""
        info = self._orgs.get(account)
        if info is None:
            self._may_read()
            info = self.contract.organization(account)
            if info is not None:
                self._orgs[account] = info
        return info
