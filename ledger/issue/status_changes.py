"""Status changes by the issuing department: suspend (02), reinstate (back to 01, only from 02), revoke
(03), cancel (04), withdraw (07), for one certificate or many at once. Expiry (05) is never written: it
follows from ``valid_until`` (``ledger.core.statuses.shown_status``).

Only the issuing department may act (``not_your_certificate``, 403), and the contract enforces the
same: only the account that anchored a root may change its leaves' statuses. Mass changes go in chunks,
one ``setStatusMany`` transaction each, sized by estimated gas to stay under the block's gas target
(:func:`gas_budget`), each followed by the database transaction of its chunk. The order and crash-safety
of a change are ``ledger.issue.changes``'.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.app.library import Library
from ledger.core.errors import BadInput, TooLarge
from ledger.core.identifiers import parse_identifier
from ledger.core.statuses import LeafStatus
from ledger.issue.changes import (
    Cert,
    allowed,
    chain_statuses,
    check_reason,
    current_version,
    event_row,
    forget,
    load,
    own,
    record_change,
    refusal,
    require_anchored,
)
from ledger.storage.engine import writing
from ledger.storage.models import Organization

log = logging.getLogger(__name__)


ACTIONS: dict[str, LeafStatus] = {
    "suspend": LeafStatus.SUSPENDED, "reinstate": LeafStatus.VALID, "revoke": LeafStatus.REVOKED,
    "cancel": LeafStatus.CANCELLED, "withdraw": LeafStatus.WITHDRAWN,
}


MAX_IDENTIFIERS = 50_000


# Gas of setStatusMany on Hardhat: about 25,600 per leaf set for the first time (benchmarks/chain.py), plus
# about 3,550 per root (the caller's anchor of it, a cold storage read, and its calldata) whenever the root changes. A chunk is estimated to use at most
# 45% of the block gas limit: under the EIP-1559 gas target (half the limit), so that mass changes do not
# raise the base fee (on the zero-fee local chain a fuller block makes the next block's base fee 1 wei,
# above the fee ChainClient derives from the latest block).
STATUS_GAS_PER_LEAF = 26_300


STATUS_GAS_PER_ROOT = 3_600


STATUS_GAS_BASE = 60_000


GAS_HEADROOM = 0.45


@dataclass(frozen=True)
class Transaction:
    tx_hash: str
    block_number: int
    gas_used: int
    certificates: int


@dataclass
class StatusChange:
    """What a status change did: certificates changed by its transactions, and those found already so on
    chain (an earlier call that crashed before recording them) and now recorded."""

    action: str
    status: str
    certificates: int = 0
    changed: int = 0
    already_on_chain: int = 0
    unchanged: int = 0
    transactions: list[Transaction] = field(default_factory=list)

    @property
    def gas_used(self) -> int:
        return sum(t.gas_used for t in self.transactions)


def _identifiers(values: Any) -> list[str]:
    if not isinstance(values, (list, tuple)) or not values:
        raise BadInput("identifiers_empty", "give at least one certificate identifier", field="identifiers")
    if len(values) > MAX_IDENTIFIERS:
        raise TooLarge("too_many_identifiers", f"at most {MAX_IDENTIFIERS} certificates per call; split the list")
    out, seen = [], set()
    for i, v in enumerate(values):
        try:
            ident = str(parse_identifier(v))
        except BadInput as e:
            raise BadInput(e.code, f"identifiers[{i}]: {e.message}", index=i, **e.details) from None
        if ident not in seen:
            seen.add(ident)
            out.append(ident)
    return out


def gas_budget(lib: Library) -> int:
    """The gas one status transaction may use: ``GAS_HEADROOM`` of the block gas limit."""
    client = lib.chain
    return int(client.call_rpc(lambda: client.w3.eth.get_block("latest"))["gasLimit"] * GAS_HEADROOM)


def _chunks(certs: Sequence[Cert], budget: int) -> Iterator[list[Cert]]:
    """Consecutive runs of ``certs`` (sorted by root) whose estimated gas stays within ``budget``."""
    part: list[Cert] = []
    gas, root = STATUS_GAS_BASE, None
    for c in certs:
        cost = STATUS_GAS_PER_LEAF + (STATUS_GAS_PER_ROOT if c.root != root else 0)
        if part and gas + cost > budget:
            yield part
            part, gas, cost = [], STATUS_GAS_BASE, STATUS_GAS_PER_LEAF + STATUS_GAS_PER_ROOT
        part.append(c)
        gas, root = gas + cost, c.root
    if part:
        yield part


def change_status(lib: Library, org: Organization, identifiers: Sequence[str], action: str, reason: str, *,
                  reason_code: int = 0, actor: str | None = None) -> StatusChange:
    """Suspend, reinstate, revoke, cancel or withdraw the department's certificates, on chain then in the DB.

    All or nothing up to the first transaction: every certificate is checked before any is sent. A
    certificate already in the requested status is left as it is (counted ``unchanged``), so the same
    call can be repeated after a failure.
    """
    if action not in ACTIONS:
        raise BadInput("action_unknown", f"action {action!r} is not a status change; use one of {sorted(ACTIONS)} "
                       "(renew and amend have their own calls)", allowed=sorted(ACTIONS))
    reason = check_reason(reason, reason_code)
    certs = load(lib, _identifiers(list(identifiers)))
    for c in certs:
        own(c, org)
    for c in certs:
        require_anchored(c)
    target = int(ACTIONS[action])
    code = f"{target:02d}"
    contract = lib.require_contract()
    on_chain = chain_statuses(contract, org.chain_address, certs)
    result = StatusChange(action, code, certificates=len(certs))
    todo: list[Cert] = []
    found: list[Cert] = []
    for c in certs:
        current = on_chain[c.leaf].status if c.leaf in on_chain else int(LeafStatus.VALID)
        if current == target:
            if c.status == code:
                result.unchanged += 1
            else:
                found.append(c)
        elif not allowed(current, target):
            raise refusal(c.identifier, current, target, current_version(lib, c.identifier))
        else:
            todo.append(c)
    account = lib.org_account(org) if todo else None
    if found:
        with writing(lib.engine) as conn:
            record_change(conn, found, code, event_row(action, reason, reason_code, org, actor),
                          {c.id: (on_chain[c.leaf].tx_hash, on_chain[c.leaf].block_number) for c in found},
                          org.chain_address)
        result.already_on_chain = len(found)
        log.warning("status found on chain and recorded", extra={"org_id": org.id, "action": action,
                                                                 "count": len(found)})
    todo.sort(key=lambda c: (c.root, c.leaf))
    for part in _chunks(todo, gas_budget(lib) if len(todo) > 1 else 0):
        tx = contract.set_status_many(account, [(c.root, c.leaf) for c in part], target, reason_code,
                                      chunk_size=len(part))[0]
        with writing(lib.engine) as conn:
            record_change(conn, part, code, event_row(action, reason, reason_code, org, actor),
                          {c.id: (tx.tx_hash, tx.block_number) for c in part}, org.chain_address)
        forget(lib, part)
        result.changed += len(part)
        result.transactions.append(Transaction(tx.tx_hash, tx.block_number, tx.gas_used, len(part)))
    log.info("certificate status changed", extra={
        "org_id": org.id, "action": action, "changed": result.changed, "already_on_chain": result.already_on_chain,
        "unchanged": result.unchanged, "transactions": len(result.transactions), "gas_used": result.gas_used})
    return result
