"""The event indexer against a real chain, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import threading
import time

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.chain import indexer as indexer_module
from ledger.chain.client import ChainClient
from ledger.chain.contract import BatchKind, Deployment, LedgerContract, OrgKind, uscc_hash
from ledger.chain.indexer import Indexer
from ledger.core.statuses import LeafStatus
from ledger.core.uscc import derive_uscc
from ledger.storage.models import ChainAnchor, ChainEvent, ChainLeafStatus, ChainOrg, IndexerCursor, as_utc

pytestmark = pytest.mark.chains("anvil", "hardhat", "besu")


def count(engine: Engine, model) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(model))


def test_indexer_projects_events_and_resumes(engine: Engine, chain: ChainClient, admin: LocalAccount) -> None:
    contract, deployment = LedgerContract.deploy(chain, admin)
    issuer = Account.create()
    contract.register_organization(admin, issuer.address, OrgKind.DEPARTMENT, "11430100851952982H", b"\x01" * 32)
    root, leaf = os.urandom(32), os.urandom(32)
    contract.anchor(issuer, root, 5, BatchKind.CERTIFICATES)
    contract.set_status(issuer, root, leaf, LeafStatus.SUSPENDED)

    indexer = Indexer(engine, contract, start_block=deployment.block_number)
    first = indexer.run_until_head()
    # RoleGranted x2 (admin, issuer) + OrganizationRegistered + Anchored + StatusChanged
    assert first == 5
    with Session(engine) as s:
        anchor = s.get(ChainAnchor, (issuer.address, root))
        assert anchor is not None and anchor.issuer == issuer.address and anchor.kind == "certificates"
        assert anchor.leaf_count == 5
        status = s.get(ChainLeafStatus, (issuer.address, root, leaf))
        assert status is not None and status.status == "02"
        org = s.get(ChainOrg, issuer.address)
        assert org is not None and org.active and org.uscc_hash == uscc_hash("11430100851952982H")

    assert indexer.run_until_head() == 0  # nothing new, nothing applied twice

    contract.set_status(issuer, root, leaf, LeafStatus.REVOKED)
    contract.rotate_seal(admin, issuer.address, b"\x02" * 32)
    contract.deactivate(admin, issuer.address)
    again = Indexer(engine, contract, start_block=deployment.block_number)  # a restarted process
    assert again.run_until_head() == 3  # StatusChanged, SealRotated, RoleRevoked (the writer role: deactivation)
    with Session(engine) as s:
        assert s.get(ChainLeafStatus, (issuer.address, root, leaf)).status == "03"
        org = s.get(ChainOrg, issuer.address)
        assert org.seal_fingerprint == b"\x02" * 32 and not org.active


def test_indexed_anchor_is_the_chains_anchor_seal_and_all(engine: Engine, chain: ChainClient, admin: LocalAccount,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Each anchor is stored with the seal current at its event, as ``anchorOf`` tells it: a rotation between two
    anchors of one page counts for the second only; an issuer whose registration was not indexed gets none. Its
    block's time is read with the page's others in JSON-RPC batches (here of two, so the page's three take two)."""
    monkeypatch.setattr(indexer_module, "BLOCKS_PER_BATCH", 2)
    contract, deployment = LedgerContract.deploy(chain, admin)
    issuer, unseen = Account.create(), Account.create()
    contract.register_organization(admin, unseen.address, OrgKind.DEPARTMENT, "11430100851952982H", b"\x05" * 32)
    start = chain.w3.eth.block_number + 1
    contract.register_organization(admin, issuer.address, OrgKind.DEPARTMENT, derive_uscc("indexer-anchor-seals", division="430100"), b"\x01" * 32)
    roots = [os.urandom(32) for _ in range(3)]
    contract.anchor(issuer, roots[0], 1, BatchKind.CERTIFICATES)
    contract.rotate_seal(admin, issuer.address, b"\x02" * 32)
    contract.anchor(issuer, roots[1], 2, BatchKind.CERTIFICATES)
    contract.anchor(unseen, roots[2], 3, BatchKind.CERTIFICATES)
    assert deployment.block_number < start
    Indexer(engine, contract, start_block=start).run_until_head()
    with Session(engine) as s:
        for root, expected in zip(roots[:2], (b"\x01" * 32, b"\x02" * 32), strict=True):
            stored, on_chain = s.get(ChainAnchor, (issuer.address, root)), contract.anchor_of(issuer.address, root)
            assert stored.seal_fingerprint == on_chain.seal_fingerprint == expected
            assert (stored.block_number, int(as_utc(stored.block_time).timestamp())) == (on_chain.block_number,
                                                                                 on_chain.timestamp)
        assert s.get(ChainAnchor, (unseen.address, roots[2])).seal_fingerprint is None


def _anchored(chain: ChainClient, admin: LocalAccount, count: int) -> tuple[LedgerContract, Deployment, list[bytes]]:
    """A new deployment, a department registered on it and ``count`` roots it anchored (3 + count events)."""
    contract, deployment = LedgerContract.deploy(chain, admin)
    issuer = Account.create()
    contract.register_organization(admin, issuer.address, OrgKind.DEPARTMENT, "11430100851952982H", b"\x01" * 32)
    roots = [os.urandom(32) for _ in range(count)]
    for r in roots:
        contract.anchor(issuer, r, 1, BatchKind.CERTIFICATES)
    return contract, deployment, roots


def test_two_indexers_at_once_apply_each_event_once(engine: Engine, chain: ChainClient, admin: LocalAccount) -> None:
    contract, deployment, roots = _anchored(chain, admin, 12)

    before = count(engine, ChainEvent)
    applied: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            applied.append(Indexer(engine, contract, start_block=deployment.block_number, max_blocks=3).run_until_head())
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(applied) == 3 + 12
    assert count(engine, ChainEvent) - before == 3 + 12
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(ChainAnchor).where(ChainAnchor.root.in_(roots))) == 12


def test_the_next_page_is_read_while_one_is_written_and_a_deadline_stops_between_pages(
        engine: Engine, chain: ChainClient, admin: LocalAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    contract, deployment, _ = _anchored(chain, admin, 4)
    read: list[tuple[int, float]] = []  # a page's first block, when its read began
    written: list[tuple[int, float]] = []  # when it was written
    log_pages, apply_page = indexer_module.log_pages, Indexer._apply_page

    def pages(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - the indexer's own pages, their reads timed
        given = log_pages(*args, **kwargs)
        while True:
            began = time.monotonic()
            page = next(given, None)
            if page is None:
                return
            read.append((page.first, began))
            yield page

    def slow_apply(self: Indexer, page: indexer_module.ReadPage) -> int:
        time.sleep(0.3)
        try:
            return apply_page(self, page)
        finally:
            written.append((page.page.first, time.monotonic()))

    monkeypatch.setattr(indexer_module, "log_pages", pages)
    monkeypatch.setattr(Indexer, "_apply_page", slow_apply)
    indexer = Indexer(engine, contract, start_block=deployment.block_number, max_blocks=1,
                      name=f"ahead:{os.urandom(4).hex()}")
    assert indexer.run_until_head() == 3 + 4
    applied = [first for first, _ in written]
    assert applied == list(range(deployment.block_number, indexer.last.head + 1))
    for (first, done), (_, began) in zip(written, read[1:]):
        assert began < done, f"the page after block {first} was read only once that block was written"

    again = Indexer(engine, contract, start_block=deployment.block_number, max_blocks=1,
                    name=f"ahead:{os.urandom(4).hex()}")
    again.run_until_head(deadline=time.monotonic())  # past at once: one page, then stop
    assert (again.last.from_block, again.last.to_block) == (deployment.block_number, deployment.block_number)
    with Session(engine) as s:
        assert s.get(IndexerCursor, again.name).last_block == deployment.block_number
