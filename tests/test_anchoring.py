"""The anchoring worker on the real chain and both databases, including a SIGKILL between send and record."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from eth_utils import event_abi_to_log_topic
from sqlalchemy import Select, select, text
from sqlalchemy.exc import OperationalError

from ledger.app.config import REPO_ROOT
from ledger.app.library import Library
from ledger.app.onboarding import create_organization
from ledger.chain.contract import BatchKind
from ledger.chain.logs import log_pages
from ledger.core.catalogue import CITY_DIVISION, type_code
from ledger.core.checks import Status
from ledger.core.uscc import derive_uscc
from ledger.core.merkle import MerkleTree
from ledger.issue.anchoring import CRASH_ENV, Anchorer
from ledger.issue.import_samples import headers, sample_rows, write_sample
from ledger.issue.importer import import_file
from ledger.issue.issuance import issue_many
from ledger.storage.models import (
    AnchorOutbox,
    Batch,
    Certificate,
    CertificateType,
    Organization,
)
from ledger.storage.certificate_anchors import CertificateAnchor
from ledger.storage.outbox import claim_batch
from ledger.verify.service import verify_identifier
from ledger.verify.stored import load_certificate
from tests.fixtures.library import LibraryEnv, sample_request

pytestmark = pytest.mark.chains("anvil", "hardhat", "besu")

WORKER = "from ledger.issue.anchoring import Anchorer; from ledger.app.library import Library; " \
         "print(len(Anchorer(Library.from_settings()).run_once(force=True)))"


def _department_with_type(env: LibraryEnv) -> tuple[Organization, CertificateType]:
    """A new department defining its own type, so its queue holds only this test's leaves."""
    lib = env.lib
    org = create_organization(lib, kind="department", name=f"测试局{uuid.uuid4().hex[:6]}",
                              uscc=derive_uscc(uuid.uuid4().hex, division=CITY_DIVISION))
    template = env.types["skill"]
    with lib.sessions() as s, s.begin():
        ctype = CertificateType(code=type_code(org.uscc, 1), seq=1, name=f"测试证书{org.uscc}", department_id=org.id,
                                holder_kind=template.holder_kind, validity_years=None, fields=template.fields)
        s.add(ctype)
    return org, ctype


def anchored_certificates() -> Select[Any]:
    """The ids of certificates whose batch is anchored."""
    return (select(CertificateAnchor.certificate_id).join(Batch, Batch.id == CertificateAnchor.batch_id)
            .where(Batch.status == "anchored"))


def _certificates(lib: Library, ids: list[int]) -> list[Any]:
    """The certificates as the verifier reads them: with their batch, place and proof."""
    with lib.sessions() as s:
        idents = s.scalars(select(Certificate.identifier).where(Certificate.id.in_(ids)).order_by(Certificate.id))
        return [load_certificate(lib, ident)[0] for ident in idents]


def _assert_anchored_once(lib: Library, certs: list[Certificate]) -> None:
    """Every certificate has a proof that the contract accepts under its department's anchor, and each root has
    exactly one Anchored event by that department."""
    contract = lib.contract
    with lib.sessions() as s:
        batches = {b.id: b for b in s.execute(select(Batch).where(Batch.id.in_({c.batch_id for c in certs}))).scalars()}
        issuers = {o.id: o.chain_address for o in s.execute(select(Organization)).scalars()}
    for cert in certs:
        batch = batches[cert.batch_id]
        assert batch.status == "anchored" and cert.proof is not None
        proof = [cert.proof[i:i + 32] for i in range(0, len(cert.proof), 32)]
        result = contract.verify(issuers[batch.org_id], batch.root, cert.leaf, proof)
        assert result.included and result.status == 1
    anchored = contract.contract.events.Anchored()
    query = {"address": contract.address, "topics": ["0x" + event_abi_to_log_topic(anchored.abi).hex()]}
    every = [anchored.process_log(lg) for page in log_pages(contract.client, query, 0) for lg in page.logs]
    for batch in batches.values():
        events = [e for e in every if e["args"]["root"] == batch.root and e["args"]["issuer"] == issuers[batch.org_id]]
        assert len(events) == 1 and bytes(events[0]["transactionHash"]) == batch.tx_hash
        assert events[0]["blockNumber"] == batch.block_number


def test_the_rest_of_a_finished_import_is_anchored_without_waiting_for_the_batch_age(library_env: LibraryEnv,
                                                                                     tmp_path: Path) -> None:
    lib = library_env.lib
    org, ctype = _department_with_type(library_env)
    anchorer = Anchorer(lib, max_leaves=10_000, max_age=3600)
    issue_many(lib, org, [sample_request(ctype) for _ in range(2)])
    assert not [b for b in anchorer.run_once() if b.org_id == org.id]  # 2 young leaves: not due
    path = tmp_path / "export.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        write_sample(f, "csv", sample_rows(ctype.code, ctype.fields, ctype.holder_kind, 5), headers(ctype.fields))
    summary = import_file(lib, org, path, ctype.code)
    assert summary.state == "done" and summary.stored == 5
    mine = [b for b in anchorer.run_once() if b.org_id == org.id]
    assert [b.leaf_count for b in mine] == [7]  # the import's rows, and what was queued before it
    issue_many(lib, org, [sample_request(ctype)])  # queued after the import finished: waits again
    assert not [b for b in anchorer.run_once() if b.org_id == org.id]


def test_anchor_by_count_and_age(library_env: LibraryEnv) -> None:
    lib = library_env.lib
    org, ctype = _department_with_type(library_env)
    first = issue_many(lib, org, [sample_request(ctype) for _ in range(2)])
    anchorer = Anchorer(lib, max_leaves=3, max_age=3600)
    assert all(b.org_id != org.id for b in anchorer.run_once())  # 2 young leaves: not due
    second = issue_many(lib, org, [sample_request(ctype) for _ in range(3)])
    mine = [b for b in anchorer.run_once() if b.org_id == org.id]
    assert [b.leaf_count for b in mine] == [3]  # one full batch; the other 2 leaves wait
    assert not [b for b in anchorer.run_once() if b.org_id == org.id]
    assert [b.leaf_count for b in Anchorer(lib, max_leaves=3, max_age=0).run_once() if b.org_id == org.id] == [2]
    certs = _certificates(lib, [c.id for c in first + second])
    assert len({c.batch_id for c in certs}) == 2 and [c.leaf_index for c in certs] == [0, 1, 2, 0, 1]
    _assert_anchored_once(lib, certs)
    with lib.sessions() as s:
        assert s.execute(select(AnchorOutbox).where(AnchorOutbox.org_id == org.id)).first() is None


def _outbox_vacuums(lib: Library) -> int:
    with lib.engine.connect() as conn:  # a new connection: statistics are read once per transaction
        return conn.execute(text("SELECT vacuum_count FROM pg_stat_user_tables "
                                 "WHERE relid = CAST('anchor_outbox' AS regclass)")).scalar_one()


def test_the_worker_vacuums_the_outbox_it_empties_every_so_many_leaves(library_env: LibraryEnv) -> None:
    """Without it the dead rows of every anchored leaf piled up (autovacuum off, or behind an import) and each round's
    look-ups read through them: the 5,000,000-row benchmark's import ran 14-20% slower in its last tenth than in its
    first."""
    lib = library_env.lib
    if lib.engine.dialect.name != "postgresql":
        pytest.skip("SQLite reuses a deleted row's space itself: there is nothing to vacuum")
    org, ctype = _department_with_type(library_env)
    before = _outbox_vacuums(lib)
    patient = Anchorer(lib)
    patient.reclaim_every = 10**9
    issue_many(lib, org, [sample_request(ctype) for _ in range(9)])
    assert [b.leaf_count for b in patient.run_once(force=True) if b.org_id == org.id] == [9]
    assert _outbox_vacuums(lib) == before
    anchorer = Anchorer(lib, max_leaves=10)
    anchorer.reclaim_every = 20
    issue_many(lib, org, [sample_request(ctype) for _ in range(25)])
    assert [b.leaf_count for b in anchorer.run_once(force=True) if b.org_id == org.id] == [10, 10, 5]
    assert _outbox_vacuums(lib) > before


def test_a_vacuum_that_fails_leaves_the_batch_anchored_and_is_tried_again(library_env: LibraryEnv,
                                                                           monkeypatch: pytest.MonkeyPatch,
                                                                           caplog: pytest.LogCaptureFixture) -> None:
    """The database dropping the vacuum's connection (a fault made here by hand) is logged; the batch it followed
    is recorded and returned, and the next batch tries the vacuum again."""
    lib = library_env.lib
    org, ctype = _department_with_type(library_env)
    tries: list[object] = []

    def dropped(engine: object) -> None:
        tries.append(engine)
        raise OperationalError("VACUUM (SKIP_LOCKED) anchor_outbox", {}, Exception("server closed the connection"))

    monkeypatch.setattr("ledger.issue.anchoring.reclaim_outbox", dropped)
    anchorer = Anchorer(lib, max_leaves=2)
    anchorer.reclaim_every = 1
    issued = issue_many(lib, org, [sample_request(ctype) for _ in range(4)])
    with caplog.at_level(logging.WARNING, logger="ledger.issue.anchoring"):
        done = [b for b in anchorer.run_once(force=True) if b.org_id == org.id]
    assert [b.leaf_count for b in done] == [2, 2]
    assert len(tries) >= 2
    assert any(getattr(r, "code", None) == "outbox_vacuum_failed" for r in caplog.records)
    _assert_anchored_once(lib, _certificates(lib, [c.id for c in issued]))


def test_force_anchors_everything_and_nothing_twice(library_env: LibraryEnv) -> None:
    lib = library_env.lib
    org, ctype = _department_with_type(library_env)
    issued = issue_many(lib, org, [sample_request(ctype) for _ in range(25)])
    done = [b for b in Anchorer(lib, max_leaves=10).run_once(force=True) if b.org_id == org.id]
    assert [b.leaf_count for b in done] == [10, 10, 5]
    assert not [b for b in Anchorer(lib).run_once(force=True) if b.org_id == org.id]
    _assert_anchored_once(lib, _certificates(lib, [c.id for c in issued]))


def test_batch_claimed_but_never_sent_is_sent_on_restart(library_env: LibraryEnv) -> None:
    """A worker that died after claiming (before sending) leaves a pending batch; the next run anchors it."""
    lib = library_env.lib
    org, ctype = _department_with_type(library_env)
    issued = issue_many(lib, org, [sample_request(ctype) for _ in range(3)])
    with lib.sessions() as s:
        batch = claim_batch(s, kind="certificate", org_id=org.id, limit=100, tree_of=MerkleTree)
    assert lib.contract.anchor_of(org.chain_address, batch.root) is None
    done = [b for b in Anchorer(lib).run_once() if b.id == batch.id]
    assert len(done) == 1 and not done[0].recovered
    _assert_anchored_once(lib, _certificates(lib, [c.id for c in issued]))


def test_a_batch_another_worker_settled_meanwhile_is_returned_as_recorded(library_env: LibraryEnv) -> None:
    """Two settlers took one pending batch (the worker, and a seal rotation's drain that listed it a moment before):
    the second finds it recorded, with the first one's transaction, instead of failing on its vanished leaves (an
    empty Merkle tree) or anchoring it again (CI, tests/test_sqlite_writers.py)."""
    lib = library_env.lib
    org, ctype = _department_with_type(library_env)
    issued = issue_many(lib, org, [sample_request(ctype) for _ in range(3)])
    with lib.sessions() as s:
        listed = claim_batch(s, kind="certificate", org_id=org.id, limit=100, tree_of=MerkleTree)
    first = [b for b in Anchorer(lib).run_once() if b.id == listed.id]
    assert len(first) == 1 and not first[0].recovered
    again = Anchorer(lib)._settle(listed)
    assert again.recovered and (again.tx_hash, again.block_number, again.root) == (
        first[0].tx_hash, first[0].block_number, first[0].root)
    _assert_anchored_once(lib, _certificates(lib, [c.id for c in issued]))


def test_worker_killed_between_send_and_record(library_env: LibraryEnv) -> None:
    """SIGKILL right after the anchoring transaction is mined: restart records it; nothing lost or anchored twice."""
    lib = library_env.lib
    org, ctype = _department_with_type(library_env)
    issued = issue_many(lib, org, [sample_request(ctype) for _ in range(40)])
    Anchorer(lib).run_once(force=True)
    more = issue_many(lib, org, [sample_request(ctype) for _ in range(30)])
    env = {**os.environ, **library_env.env, CRASH_ENV: str(org.id)}  # other queues (the access log) may go first
    env["PYTHONPATH"] = str(REPO_ROOT)
    crashed = subprocess.run([sys.executable, "-c", WORKER], env=env, cwd=REPO_ROOT, capture_output=True, timeout=120)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()[-2000:]
    with lib.sessions() as s:
        pending = s.execute(select(Batch).where(Batch.org_id == org.id, Batch.status != "anchored")).scalars().all()
    assert len(pending) == 1 and pending[0].leaf_count == 30
    anchor = lib.contract.anchor_of(org.chain_address, pending[0].root)
    assert anchor is not None and anchor.issuer == org.chain_address  # on chain, but not recorded
    assert all(c.proof is None for c in _certificates(lib, [c.id for c in more]))

    env.pop(CRASH_ENV)
    restarted = subprocess.run([sys.executable, "-c", WORKER], env=env, cwd=REPO_ROOT, capture_output=True, timeout=120)
    assert restarted.returncode == 0, restarted.stderr.decode()[-2000:]
    certs = _certificates(lib, [c.id for c in issued + more])
    assert len(certs) == 70
    _assert_anchored_once(lib, certs)
    with lib.sessions() as s:
        recovered = s.get(Batch, pending[0].id)
    assert recovered.status == "anchored" and recovered.block_number == anchor.block_number


def test_a_batch_that_cannot_be_settled_does_not_stop_the_others(library_env: LibraryEnv) -> None:
    """A pending batch whose department lost its chain account is logged and skipped, not fatal."""
    lib = library_env.lib
    stuck, stuck_type = _department_with_type(library_env)
    issue_many(lib, stuck, [sample_request(stuck_type)])
    with lib.sessions() as s:
        pending = claim_batch(s, kind="certificate", org_id=stuck.id, limit=100, tree_of=MerkleTree)
    with lib.sessions() as s, s.begin():
        s.get(Organization, stuck.id).keystore = None

    org, ctype = _department_with_type(library_env)
    issued = issue_many(lib, org, [sample_request(ctype) for _ in range(2)])
    done = Anchorer(lib).run_once(force=True)
    assert pending.id not in {b.id for b in done}
    with lib.sessions() as s:
        assert s.get(Batch, pending.id).status == "pending"
    _assert_anchored_once(lib, _certificates(lib, [c.id for c in issued]))


def test_a_root_anchored_first_by_another_organization_blocks_nothing(library_env: LibraryEnv) -> None:
    """Another organization sees a pending batch's root (e.g. in the mempool) and anchors it first: the batch
    still anchors under its own department and verifies (v1 logged root_anchored_by_other every round)."""
    lib = library_env.lib
    org, ctype = _department_with_type(library_env)
    issued = issue_many(lib, org, [sample_request(ctype) for _ in range(3)])
    with lib.sessions() as s:
        batch = claim_batch(s, kind="certificate", org_id=org.id, limit=100, tree_of=MerkleTree)
    front_runner = library_env.departments["land"]
    lib.contract.anchor(lib.org_account(front_runner), batch.root, batch.leaf_count, BatchKind.CERTIFICATES)
    done = [b for b in Anchorer(lib).run_once() if b.id == batch.id]
    assert len(done) == 1 and not done[0].recovered
    _assert_anchored_once(lib, _certificates(lib, [c.id for c in issued]))
    result = verify_identifier(lib, issued[0].identifier)
    assert result.verdict is Status.VALID, result.to_dict()
    assert result.check("anchor_on_chain").data["issuer"] == org.chain_address
