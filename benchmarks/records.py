"""Bulk certificate inserts (certificates + anchoring outbox rows) on SQLite and PostgreSQL.

    python -m benchmarks.records [--rows 50000] [--chunk 1000] [--pg-url URL]

Rows are the size issuance writes (a ~1.5 KB canonical record, a ~1.2 KB CMS seal, metadata
JSON); each chunk is one transaction, as the issuance path commits per request batch.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text

from benchmarks.report import report
from ledger.core.identifiers import make_identifier
from ledger.core.metadata import holder_key
from ledger.storage.catalogue import import_catalogue
from ledger.storage.engine import make_engine, migrate, session_factory
from ledger.storage.models import CertificateType, Organization
from ledger.storage.outbox import insert_certificates
from ledger.storage.serials import allocate_serials

SECRET = os.urandom(32)


def rows_for(org: Organization, ctype: CertificateType, serials: list[str]) -> list[dict]:
    rows = []
    for serial in serials:
        number = f"N{serial}"
        meta = {"number": number, "holder": "某某科技有限公司", "holder_id_type": "001",
                "holder_id": "91350100M000100Y43", "issue_date": "2025-01-02",
                "fields": {"legal_representative": "张三", "address": "某市某区某路1号" * 4, "business_scope": "软件开发" * 20}}
        rows.append({
            "identifier": make_identifier(ctype.code, org.uscc, serial, 1),
            "type_code": ctype.code,
            "issuer_org_id": org.id,
            "number": number,
            "holder_key": holder_key(SECRET, "001", serial),
            "issued_on": dt.date(2025, 1, 2),
            "valid_from": dt.date(2025, 1, 2),
            "valid_until": dt.date(2030, 1, 1),
            "record": json.dumps(meta, ensure_ascii=False) + "x" * 900,
            "record_seal": os.urandom(126),  # a P-256 seal as stored (signer.compact_seal)
            "document_cid": "bafkrei" + "a" * 52,
            "document_digest": os.urandom(32),
            "leaf": hashlib.sha256(serial.encode()).digest(),
        })
    return rows


def bench(url: str, n: int, chunk: int) -> tuple[float, float, float]:
    """Certificates/s inserted (with their outbox rows) by wall clock and per CPU second of this
    process (the machine is shared, so wall time includes waiting for a core), and serial
    blocks allocated per second."""
    engine = make_engine(url)
    migrate(engine)
    sessions = session_factory(engine)
    import_catalogue(sessions())
    with sessions() as s:
        ctype = s.query(CertificateType).filter_by(seq=1).one()
        org = s.get(Organization, ctype.department_id)
    insert_seconds = serial_seconds = insert_cpu = 0.0
    for _ in range(n // chunk):
        t = time.perf_counter()
        with engine.begin() as conn:
            serials = allocate_serials(conn, ctype.code, org.id, 2025, chunk)
        serial_seconds += time.perf_counter() - t
        rows = rows_for(org, ctype, serials)
        t, c = time.perf_counter(), time.process_time()
        with engine.begin() as conn:
            insert_certificates(conn, rows)
        insert_seconds += time.perf_counter() - t
        insert_cpu += time.process_time() - c
    engine.dispose()
    done = n // chunk * chunk
    return done / insert_seconds, done / insert_cpu, n // chunk / serial_seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--pg-url", default=os.environ.get("CERTLEDGER_TEST_PG_URL",
                                                        "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = ap.parse_args()
    figures: dict[str, float | int | str] = {"rows": args.rows, "chunk": args.chunk}
    with tempfile.TemporaryDirectory() as tmp:
        ins, cpu, blocks = bench(f"sqlite:///{Path(tmp) / 'bench.db'}", args.rows, args.chunk)
    figures["sqlite_insert_rows_per_s"], figures["sqlite_serial_blocks_per_s"] = round(ins), round(blocks)
    figures["sqlite_insert_rows_per_cpu_s"] = round(cpu)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(args.pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in args.pg_url else "?"
        ins, cpu, blocks = bench(f"{args.pg_url}{sep}options=-csearch_path%3D{schema}", args.rows, args.chunk)
        figures["postgresql_insert_rows_per_s"], figures["postgresql_serial_blocks_per_s"] = round(ins), round(blocks)
        figures["postgresql_insert_client_rows_per_cpu_s"] = round(cpu)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    # no target of its own: inserts are one part of issuance's >= 2,000 certificates/s (benchmarks.library)
    report("records", figures)


if __name__ == "__main__":
    main()
