"""A certificate row is written once (migration 0018): the anchoring worker appends its place and its batch's tree
instead of rewriting it, the row stores its seal without the seal certificate and no copy of the record's salt;
what is served (bundles, seals, proofs) is what it was. Down to 0017 and up again moves every row both ways."""

from __future__ import annotations

import base64
import json

from alembic import command
from sqlalchemy import bindparam, select, text

from ledger.holders.lookups import flush_lookups
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import issue_many
from ledger.storage.certificate_anchors import CertificateAnchor
from ledger.storage.engine import alembic_config, migrate
from ledger.storage.models import Certificate
from ledger.storage.record_text import unpack_record
from ledger.verify.stored import certificate_bundle, load_certificate
from signer.compact_seal import expand_seal
from tests.fixtures.library import LibraryEnv, sample_request


def _stored_rows(env: LibraryEnv, ids: list[int]) -> list[tuple]:
    with env.lib.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(Certificate.__table__).where(Certificate.id.in_(ids))
                                               .order_by(Certificate.id))]


def test_anchoring_leaves_the_row_as_issued_and_serves_the_seal_as_made(library_env: LibraryEnv) -> None:
    lib, market = library_env.lib, library_env.departments["market"]
    issued = issue_many(lib, market, [sample_request(library_env.types["business_licence"]) for _ in range(3)])
    ids = [c.id for c in issued]
    before = _stored_rows(library_env, ids)
    pending = [certificate_bundle(lib, c.identifier)["seal"] for c in issued]
    Anchorer(lib).run_once(force=True)
    assert _stored_rows(library_env, ids) == before  # the worker appended, it did not rewrite
    registry = lib.seal_registry()
    for cert, seal in zip(issued, pending, strict=True):
        row, batch = load_certificate(lib, cert.identifier)
        assert batch.status == "anchored" and row.proof is not None
        bundle = certificate_bundle(lib, cert.identifier)
        assert bundle["seal"]["der"] == seal["der"] and bundle["root"] == "0x" + batch.root.hex()
        with lib.sessions() as s:
            stored = s.get(Certificate, cert.id)
            packed = s.scalar(text("SELECT record FROM certificates WHERE id = :id"), {"id": cert.id})
        assert len(stored.record_seal) < 128  # nor the record's digest (migration 0020)
        assert expand_seal(stored.record_seal, registry, stored.record.encode()) == row.record_seal
        assert unpack_record(packed) == stored.record == row.record and len(packed) < len(stored.record) - 250
        assert "salt" not in Certificate.__table__.c and "leaf" not in Certificate.__table__.c


def test_the_migration_moves_every_row_down_and_up_again(library_env: LibraryEnv) -> None:
    lib, hr = library_env.lib, library_env.departments["hr"]
    skill = library_env.types["skill"]
    anchored = issue_many(lib, hr, [sample_request(skill) for _ in range(5)])
    Anchorer(lib).run_once(force=True)
    queued = issue_many(lib, hr, [sample_request(skill) for _ in range(2)])
    everything = anchored + queued
    bundles = {c.identifier: certificate_bundle(lib, c.identifier) for c in everything}
    flush_lookups(lib)  # the lookups noted so far into the access log: the downgrade refuses while notes wait
    command.downgrade(alembic_config(lib.engine), "0017")
    with lib.engine.connect() as conn:
        old = {r.identifier: r for r in conn.execute(text(
            "SELECT c.identifier, c.record, c.salt, c.record_seal, c.proof, b.root FROM certificates c "
            "LEFT JOIN batches b ON b.id = c.batch_id WHERE c.identifier IN :ids").bindparams(
            bindparam("ids", expanding=True)), {"ids": list(bundles)})}
    for ident, bundle in bundles.items():
        row = old[ident]
        assert row.salt == json.loads(row.record)["salt"]
        assert bytes(row.record_seal) == expand_seal(bytes(row.record_seal), lib.seal_registry())  # whole again
        assert bytes(row.record_seal) == base64.b64decode(bundle["seal"]["der"])
        if bundle["root"] is None:
            assert row.proof is None
        else:
            assert ["0x" + bytes(row.proof[i:i + 32]).hex() for i in range(0, len(row.proof), 32)] == bundle["proof"]
            assert "0x" + bytes(row.root).hex() == bundle["root"]
    migrate(lib.engine)
    with lib.sessions() as s:
        assert s.scalar(select(CertificateAnchor).where(CertificateAnchor.certificate_id == queued[0].id)) is None
    for ident, bundle in bundles.items():
        again = certificate_bundle(lib, ident)
        assert {**again, "exported_at": None} == {**bundle, "exported_at": None}
        with lib.sessions() as s:
            assert len(s.scalar(select(Certificate.record_seal).where(Certificate.identifier == ident))) < 160
