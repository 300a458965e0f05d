"""The city plan's targets report at 5,000,000 certificates, on SQLite and PostgreSQL.

    python -m benchmarks.plan_targets [--rows 20000] [--records 5000000] [--counters 2000] [--runs 20]

``--rows`` real certificates are inserted through the issuance path (``insert_certificates``: rows, outbox and
count tables in one transaction per chunk of 1,000), over every type of the catalogue, so the insert rate with the
count tables can be compared with ``benchmarks.records``. The count tables are then brought to what 5,000,000
certificates leave in them: the per-type counts scaled to ``--records``, a daily row per department for a year,
and ``--counters`` counters with a verification row for each of the last 30 days. The report reads only those
tables (their size grows with types, departments, counters and days, never with certificates), so its latency
there is its latency at 5,000,000 certificates. Figures: report p50/p99 in ms, and certificates inserted per second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import select, text, update

from benchmarks.records import rows_for
from benchmarks.report import report
from ledger.app.config import Settings
from ledger.app.library import Library
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.statuses import today_china
from ledger.core.uscc import derive_uscc
from ledger.plan.targets import plan_targets
from ledger.storage.catalogue import import_catalogue
from ledger.storage.engine import make_engine, migrate, session_factory
from ledger.storage.models import CertificateType, Organization
from ledger.storage.outbox import insert_certificates
from ledger.storage.plan_tables import CERTIFICATE_DAILY, CERTIFICATE_TALLIES
from ledger.storage.serials import allocate_serials
from ledger.storage.tallies import add_counts, count_verifications

CHUNK = 1000


def _insert(engine, sessions, rows: int) -> float:  # noqa: ANN001 - an Engine and its sessionmaker
    """Certificates/s through insert_certificates (with the count tables), spread over every type."""
    with sessions() as s:
        types = list(s.execute(select(CertificateType)).scalars())
        orgs = {o.id: o for o in s.execute(select(Organization)).scalars()}
    seconds = 0.0
    for n in range(rows // CHUNK):
        ctype = types[n % len(types)]
        with engine.begin() as conn:
            serials = allocate_serials(conn, ctype.code, ctype.department_id, 2025, CHUNK)
        batch = rows_for(orgs[ctype.department_id], ctype, serials)
        t = time.perf_counter()
        with engine.begin() as conn:
            insert_certificates(conn, batch, bytes(32))  # a seal fingerprint (no seal is checked here)
        seconds += time.perf_counter() - t
    return rows // CHUNK * CHUNK / seconds


def _scale(engine, sessions, records: int, counters: int) -> None:  # noqa: ANN001
    """The count tables as 5,000,000 certificates and ``counters`` busy counters leave them."""
    with engine.begin() as conn:
        total = sum(r.count for r in conn.execute(select(CERTIFICATE_TALLIES)))
        conn.execute(update(CERTIFICATE_TALLIES).values(count=CERTIFICATE_TALLIES.c.count * (records // total)))
        departments = [o for o in conn.execute(select(Organization.id).where(Organization.kind == "department"))]
        today = today_china()
        add_counts(conn, CERTIFICATE_DAILY, ("day", "org_id"), {
            (today - dt.timedelta(days=d), org.id): records // 365 // len(departments)
            for d in range(365) for org in departments})
    with sessions() as s, s.begin():
        ids = []
        for n in range(counters):
            uscc = derive_uscc(f"bench-counter:{n}", division=CITY_DIVISION, prefix="12")
            org = Organization(kind="counter", name=f"窗口{n}", uscc=uscc, parent_id=departments[n % len(departments)].id)
            s.add(org)
            s.flush()
            ids.append(org.id)
    with engine.begin() as conn:
        count_verifications(conn, {(i, today - dt.timedelta(days=d)): 3 for i in ids[: counters * 9 // 10]
                                   for d in range(30)})


def bench(url: str, rows: int, records: int, counters: int, runs: int, home: Path) -> dict[str, float]:
    engine = make_engine(url)
    migrate(engine)
    sessions = session_factory(engine)
    import_catalogue(sessions())
    per_s = _insert(engine, sessions, rows)
    _scale(engine, sessions, records, counters)
    lib = Library.from_settings(Settings(home=home, database_url=url, key_password="bench", light_kdf=True,
                                         contract_address=None), engine=engine)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        figures = plan_targets(lib, days=30)
        times.append((time.perf_counter() - t) * 1000)
    assert next(t for t in figures["targets"] if t["key"] == "records")["figure"] >= records * 0.99
    engine.dispose()
    times.sort()
    return {"insert_rows_per_s": round(per_s), "report_p50_ms": round(statistics.median(times), 1),
            "report_p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--records", type=int, default=5_000_000)
    ap.add_argument("--counters", type=int, default=2_000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--pg-url", default=os.environ.get("CERTLEDGER_TEST_PG_URL",
                                                        "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = ap.parse_args()
    figures: dict[str, float | int | str] = {"rows": args.rows, "records": args.records, "counters": args.counters}
    with tempfile.TemporaryDirectory() as tmp:
        for k, v in bench(f"sqlite:///{Path(tmp) / 'bench.db'}", args.rows, args.records, args.counters, args.runs,
                          Path(tmp)).items():
            figures[f"sqlite_{k}"] = v
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(args.pg_url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            sep = "&" if "?" in args.pg_url else "?"
            for k, v in bench(f"{args.pg_url}{sep}options=-csearch_path%3D{schema}", args.rows, args.records,
                              args.counters, args.runs, Path(tmp)).items():
                figures[f"postgresql_{k}"] = v
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    report("plan_targets", figures, {"sqlite_report_p99_ms": "<= 500", "postgresql_report_p99_ms": "<= 500"})


if __name__ == "__main__":
    main()
