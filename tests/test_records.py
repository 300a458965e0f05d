"""The schema (migrated by Alembic) on SQLite and PostgreSQL, bulk inserts and the anchoring outbox."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, delete, func, select, text

from ledger.app.config import Settings
from ledger.core.catalogue import department_uscc, type_code
from ledger.core.errors import Conflict, ServiceUnavailable
from ledger.core.identifiers import make_identifier
from ledger.core.merkle import MerkleTree, process_proof, sibling_nodes
from ledger.core.metadata import holder_key
from ledger.core.record import record_leaf
from ledger.core.uscc import derive_uscc
from ledger.storage.catalogue import import_catalogue
from ledger.storage.certificate_anchors import (
    CERTIFICATES_WITH_BATCH,
    LEAF_WITH_ANCHOR,
    PROOF_WITH_ANCHOR,
    BatchTreePage,
    CertificateAnchor,
    checked_proof,
    page_of,
    read_proof,
)
from ledger.storage.engine import make_engine, migrate
from ledger.storage.models import (
    AnchorOutbox,
    Base,
    Batch,
    Certificate,
    CertificateType,
    Organization,
)
from ledger.storage.outbox import (
    batch_leaves,
    batch_seal,
    claim_batch,
    complete_batch,
    insert_certificates,
    unfinished_batches,
)

SECRET = b"platform-secret-for-tests"


SEAL = b"\x05" * 32  # the seal fingerprint the queued test leaves were "sealed" with


def root(leaves: list[bytes]) -> bytes:
    return MerkleTree(leaves).root


def make_org(sessions, seed: str) -> Organization:
    with sessions.begin() as s:
        org = Organization(kind="department", name=seed, uscc=derive_uscc(seed, division="430100"))
        s.add(org)
    return org


@pytest.fixture
def ctype(engine: Engine, sessions) -> CertificateType:
    """The packaged business licence type (the shared database may hold other tests' types too)."""
    code = type_code(department_uscc("市场监督管理局"), 1)
    with sessions() as s:
        found = s.scalar(select(CertificateType).where(CertificateType.code == code))
    if found is None:
        import_catalogue(sessions())
        with sessions() as s:
            found = s.scalar(select(CertificateType).where(CertificateType.code == code))
    return found


def cert_rows(org: Organization, ctype: CertificateType, n: int, tag: str, start: int = 1) -> list[dict]:
    rows = []
    for i in range(start, start + n):
        serial = f"2025{i:07d}"
        number = f"{tag}-{i}"
        rows.append({
            "identifier": make_identifier(ctype.code, org.uscc, serial, 1),
            "type_code": ctype.code,
            "issuer_org_id": org.id,
            "number": number,
            "holder_key": holder_key(SECRET, "001", f"{tag}{i}"),
            "issued_on": dt.date(2025, 1, 2),
            "valid_from": dt.date(2025, 1, 2),
            "valid_until": None,
            "record": json.dumps({"number": number, "holder": "某公司", "fields": {"k": i}}, ensure_ascii=False),
            "record_seal": os.urandom(300),
        })
        rows[-1]["leaf"] = record_leaf(rows[-1]["record"].encode())  # a certificate's leaf is its record's
    return rows


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    migrate(engine)  # idempotent


def test_sqlite_engine_uses_wal_and_foreign_keys(tmp_path) -> None:
    eng = make_engine(f"sqlite:///{tmp_path / 'sub' / 'x.db'}")
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    eng.dispose()


def test_default_url_honours_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("CERTLEDGER_HOME", str(tmp_path))
    assert Settings().database == f"sqlite:///{tmp_path / 'certledger.db'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@127.0.0.1/x")
    assert Settings().database == "postgresql+psycopg://u@127.0.0.1/x"


def test_bulk_insert_returns_ids_in_order_and_queues_leaves(engine: Engine, sessions, ctype) -> None:
    org = make_org(sessions, "bulk-insert")
    rows = cert_rows(org, ctype, 500, "bulk")
    with engine.begin() as conn:
        ids = insert_certificates(conn, rows, SEAL)
    assert len(ids) == 500 and len(set(ids)) == 500
    with sessions() as s:
        got = {c.id: c for c in s.execute(select(Certificate).where(Certificate.id.in_(ids))).scalars()}
        for i, row in zip(ids, rows, strict=True):
            assert got[i].identifier == row["identifier"]
            assert got[i].meta["fields"]["k"] == int(row["number"].split("-")[1])
            assert got[i].status == "01" and got[i].version == 1
        queued = s.execute(select(AnchorOutbox).where(AnchorOutbox.org_id == org.id)).scalars().all()
        assert sorted(q.item_id for q in queued) == sorted(ids)
        assert {q.leaf for q in queued} == {r["leaf"] for r in rows}


def test_duplicates_are_refused_and_roll_back_the_whole_batch(engine: Engine, sessions, ctype) -> None:
    org = make_org(sessions, "duplicates")
    with engine.begin() as conn:
        insert_certificates(conn, cert_rows(org, ctype, 3, "dup"), SEAL)
    again = cert_rows(org, ctype, 2, "dup", start=3)  # number dup-3 exists already
    again[1]["identifier"] = make_identifier(ctype.code, org.uscc, "20259999999", 1)
    with pytest.raises(Conflict) as e:
        with engine.begin() as conn:
            insert_certificates(conn, again, SEAL)
    assert e.value.code == "certificate_duplicate"
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(Certificate).where(Certificate.issuer_org_id == org.id))
        assert n.scalar() == 3
    # a new version of the same number is allowed
    v2 = cert_rows(org, ctype, 1, "dup", start=1)[0]
    v2.update(version=2, identifier=make_identifier(ctype.code, org.uscc, "20250000001", 2))
    with engine.begin() as conn:
        insert_certificates(conn, [v2], SEAL)


def test_claim_record_and_complete_a_batch(engine: Engine, sessions, ctype) -> None:
    org = make_org(sessions, "outbox-flow")
    rows = cert_rows(org, ctype, 10, "flow")
    with engine.begin() as conn:
        ids = insert_certificates(conn, rows, SEAL)
    batch = claim_batch(sessions(), kind="certificate", org_id=org.id, limit=8, tree_of=MerkleTree)
    assert batch is not None and batch.leaf_count == 8 and batch.status == "pending"
    leaves = [r["leaf"] for r in rows[:8]]
    assert batch.root == root(leaves)
    # what a restarted worker sees: the intended batch, with its leaves in tree order
    with sessions() as s:
        assert batch.id in [b.id for b in unfinished_batches(s, "certificate")]
        assert batch_leaves(s, batch.id) == leaves
        claimed = s.execute(select(CertificateAnchor.certificate_id, CertificateAnchor.batch_id,
                                   CertificateAnchor.leaf_index).where(CertificateAnchor.certificate_id.in_(ids))
                            .order_by(CertificateAnchor.certificate_id)).all()
        assert [tuple(c) for c in claimed] == [(i, batch.id, n) for n, i in enumerate(ids[:8])]
    proofs = [bytes([i]) * 64 for i in range(8)]
    when = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    complete_batch(sessions(), batch.id, tx_hash=b"\x01" * 32, block_number=42, block_time=when, proofs=proofs)
    with sessions() as s:
        b = s.get(Batch, batch.id)
        assert (b.status, b.block_number, b.block_time.astimezone(dt.UTC)) == ("anchored", 42, when)
        assert batch.id not in [x.id for x in unfinished_batches(s)]
        tree = MerkleTree(leaves)
        anchors = s.scalars(select(CertificateAnchor).where(CertificateAnchor.batch_id == batch.id)
                            .order_by(CertificateAnchor.leaf_index)).all()
        assert [a.node for a in anchors] == tree.leaf_nodes()
        got = [read_proof(s.connection(), batch.id, a.node) for a in anchors]  # read from the stored tree
        assert [process_proof(leaf, p) for leaf, p in zip(leaves, got, strict=True)] == [tree.root] * 8
        # the same through a bare driver connection (the verification's way), and this thread's own
        assert [read_proof(engine, batch.id, a.node) for a in anchors] == got
        assert [read_proof(engine, batch.id, a.node, own_connection=True) for a in anchors] == got
        if engine.dialect.name == "postgresql":  # and as a column of the certificate's read (its siblings in SQL)
            with_row = s.execute(select(PROOF_WITH_ANCHOR).select_from(CertificateAnchor.__table__)
                                 .where(CertificateAnchor.batch_id == batch.id)
                                 .order_by(CertificateAnchor.leaf_index)).scalars().all()
            assert [checked_proof(batch.id, a.node, p) for a, p in zip(anchors, with_row, strict=True)] == got
        left = s.execute(select(AnchorOutbox.item_id).where(AnchorOutbox.org_id == org.id)).scalars().all()
        assert sorted(left) == ids[8:]
    second = claim_batch(sessions(), kind="certificate", org_id=org.id, limit=8, tree_of=MerkleTree)
    assert second is not None and second.leaf_count == 2
    assert claim_batch(sessions(), kind="certificate", org_id=org.id, limit=8, tree_of=MerkleTree) is None
    # a tree that lost a page (a damaged database) is an error naming the fix, never a short proof; the damage is
    # rolled back (the session's other tests, a migration's among them, read every batch of this database)
    with engine.connect() as conn, conn.begin() as damage:
        conn.execute(delete(BatchTreePage).where(BatchTreePage.batch_id == batch.id))
        with pytest.raises(ServiceUnavailable) as damaged:
            read_proof(conn, batch.id, anchors[0].node)
        assert damaged.value.code == "batch_tree_damaged"
        damage.rollback()
    with pytest.raises(ServiceUnavailable) as damaged:
        checked_proof(batch.id, anchors[0].node, None)  # what the certificate's read gives for it
    assert damaged.value.code == "batch_tree_damaged"


@pytest.mark.parametrize("leaves", [1, 2, 3, 17, 33, 301, 1025])
def test_proofs_and_leaves_read_from_the_subtree_pages(engine: Engine, sessions, ctype, leaves: int) -> None:
    """Every leaf's proof of a batch is its tree's, whatever its depth (1 leaf: no page; 17: the leaves on levels 4
    and 5, all in the top page; 33: level 6, a second page; 1,025: levels 10 and 11, three pages), read apart (its
    pages chosen in Python on SQLite, in SQL on PostgreSQL) and with the anchor row (PostgreSQL, the leaf as well)."""
    org = make_org(sessions, f"pages-{leaves}")
    with engine.begin() as conn:
        insert_certificates(conn, cert_rows(org, ctype, leaves, f"pages{leaves}"), SEAL)
    batch = claim_batch(sessions(), kind="certificate", org_id=org.id, limit=leaves, tree_of=MerkleTree)
    with sessions() as s:
        stored = batch_leaves(s, batch.id)
        anchors = s.scalars(select(CertificateAnchor).where(CertificateAnchor.batch_id == batch.id)
                            .order_by(CertificateAnchor.leaf_index)).all()
        tree = MerkleTree(stored)
        expected = [proof for _, proof in sorted(tree.iter_proofs())]
        assert [read_proof(s.connection(), batch.id, a.node) for a in anchors] == expected
        assert [len(p) for p in expected] == [32 * len(sibling_nodes(a.node)) for a in anchors]
        pages = s.scalars(select(BatchTreePage.page).where(BatchTreePage.batch_id == batch.id)).all()
        assert len(pages) == len({page_of(x)[0] for a in anchors for x in sibling_nodes(a.node)})
        if engine.dialect.name == "postgresql":
            with_row = s.execute(select(PROOF_WITH_ANCHOR, LEAF_WITH_ANCHOR).select_from(CERTIFICATES_WITH_BATCH)
                                 .where(CertificateAnchor.batch_id == batch.id)
                                 .order_by(CertificateAnchor.leaf_index)).all()
            assert [checked_proof(batch.id, a.node, p) for a, (p, _) in zip(anchors, with_row, strict=True)] == expected
            assert [bytes(leaf) for _, leaf in with_row] == stored


def test_a_batch_holds_leaves_of_one_seal(engine: Engine, sessions, ctype) -> None:
    """The contract records one seal per anchor, so a batch never mixes leaves sealed with different seals: the
    oldest queued leaf's seal is claimed first."""
    org = make_org(sessions, "two-seals")
    rows = cert_rows(org, ctype, 6, "seals")
    with engine.begin() as conn:
        insert_certificates(conn, rows[:2], SEAL)
        insert_certificates(conn, rows[2:], b"\x06" * 32)
    first = claim_batch(sessions(), kind="certificate", org_id=org.id, limit=10, tree_of=MerkleTree)
    second = claim_batch(sessions(), kind="certificate", org_id=org.id, limit=10, tree_of=MerkleTree)
    assert (first.leaf_count, second.leaf_count) == (2, 4)
    with sessions() as s:
        assert (batch_seal(s, first.id), batch_seal(s, second.id)) == (SEAL, b"\x06" * 32)


def test_a_failed_claim_leaves_rows_queued(engine: Engine, sessions, ctype) -> None:
    org = make_org(sessions, "outbox-crash")
    with engine.begin() as conn:
        insert_certificates(conn, cert_rows(org, ctype, 4, "crash"), SEAL)

    def crash(_leaves: list[bytes]) -> MerkleTree:
        raise RuntimeError("worker died while building the tree")

    with pytest.raises(RuntimeError):
        claim_batch(sessions(), kind="certificate", org_id=org.id, limit=10, tree_of=crash)
    batch = claim_batch(sessions(), kind="certificate", org_id=org.id, limit=10, tree_of=MerkleTree)
    assert batch is not None and batch.leaf_count == 4


def test_concurrent_workers_claim_disjoint_rows(engine: Engine, sessions, ctype) -> None:
    org = make_org(sessions, "outbox-concurrent")
    with engine.begin() as conn:
        insert_certificates(conn, cert_rows(org, ctype, 300, "conc"), SEAL)
    claimed: list[Batch] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            while (b := claim_batch(sessions(), kind="certificate", org_id=org.id, limit=7, tree_of=MerkleTree)):
                with lock:
                    claimed.append(b)
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(b.leaf_count for b in claimed) == 300
    with sessions() as s:
        rows = s.execute(select(AnchorOutbox.batch_id, AnchorOutbox.leaf_index, AnchorOutbox.item_id)
                         .where(AnchorOutbox.org_id == org.id)).all()
        assert all(r.batch_id is not None for r in rows)
        assert len({r.item_id for r in rows}) == 300
        for b in claimed:
            assert batch_leaves(s, b.id) and b.root == root(batch_leaves(s, b.id))


def test_each_test_session_has_a_private_database(engine: Engine, tmp_path_factory) -> None:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            assert conn.execute(text("SELECT current_schema()")).scalar().startswith("t_")
        else:
            assert str(tmp_path_factory.getbasetemp()) in conn.exec_driver_sql("PRAGMA database_list").all()[0][2]
