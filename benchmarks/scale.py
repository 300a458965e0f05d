"""The library at scale: N records imported from departments' exports over the catalogue's types, then
anchored and verified at that size.

    python -m benchmarks.scale [--count 1000000] [--pg] [--types 150] [--chunk 2000]

Starts its own chain node, IPFS node and database (SQLite in a temporary folder; with ``--pg`` a fresh
schema in PostgreSQL at ``CERTLEDGER_TEST_PG_URL``), activates every department that defines one of the
first ``--types`` catalogue types, writes one CSV export per type (Chinese headers, 1% bad rows, as
``certledger sample-import`` does) and imports them in turn through ``ledger.issue.importer`` (the path of
``certledger import``: validation, identifiers, salts, seals, bulk inserts, outbox rows). Figures:

- ``import_rows_per_s`` overall and ``slice_NN_rows_per_s`` per tenth of the rows: whether the rate falls
  as the tables grow;
- ``anchor_s``: anchoring everything in 10,000-leaf batches afterwards;
- ``db_bytes_per_certificate``: the database's size (SQLite file, or PostgreSQL's tables with their indexes
  and TOAST) over the certificates stored;
- ``index_s``: the indexer catching up with the chain (the service reads leaf statuses from its table);
- ``verify_first_p50_ms`` / ``p99``: in-process first verification by identifier of 1,000 random certificates;
- ``peak_rss_mb`` of this process.

The 5 M run on PostgreSQL: ``python -m benchmarks.scale --count 5000000 --pg`` (about 25 GB of disk free).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from benchmarks.report import report
from benchmarks.stack import fresh_stack
from ledger.app.indexing import chain_indexer
from ledger.app.onboarding import activate_department
from ledger.issue.anchoring import Anchorer
from ledger.issue.import_samples import headers, sample_rows, write_sample
from ledger.issue.importer import ImportSummary, import_file
from ledger.storage.models import Certificate, CertificateType, Organization
from ledger.verify.service import verify_identifier

PG_URL = os.environ.get("CERTLEDGER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _types(stack: Any, count: int) -> list[tuple[CertificateType, Organization]]:
    """The first ``count`` catalogue types with their departments, every department activated."""
    with stack.lib.sessions() as session:
        types = list(session.scalars(select(CertificateType).order_by(CertificateType.seq).limit(count)))
        orgs = {o.id: o for o in session.scalars(select(Organization))}
    active: dict[int, Organization] = {stack.market.id: stack.market}
    for t in types:
        if t.department_id not in active:
            active[t.department_id] = activate_department(stack.lib, orgs[t.department_id].id)
    return [(t, active[t.department_id]) for t in types]


def _exports(work: Path, types: list[tuple[CertificateType, Organization]], count: int) -> list[Path]:
    """One CSV per type, ``count`` rows in all, 1% of them bad."""
    paths, per, extra = [], count // len(types), count % len(types)
    for i, (ctype, _) in enumerate(types):
        path = work / f"{ctype.code}.csv"
        with path.open("w", encoding="utf-8", newline="") as f:
            write_sample(f, "csv", sample_rows(ctype.code, ctype.fields, ctype.holder_kind, per + (i < extra),
                                               bad_every=100), headers(ctype.fields))
        paths.append(path)
    return paths


def _import(stack: Any, types: list[tuple[CertificateType, Organization]], paths: list[Path], count: int,
            chunk: int) -> dict[str, Any]:
    """Import every file; the rate overall and per tenth of the rows."""
    slice_rows = max(count // 10, 1)
    marks: list[tuple[int, float]] = [(0, time.perf_counter())]
    done = 0
    totals = {"stored": 0, "failed": 0}

    def progress(summary: ImportSummary) -> None:
        read = done + summary.read
        if read - marks[-1][0] >= slice_rows:
            marks.append((read, time.perf_counter()))

    for (ctype, org), path in zip(types, paths, strict=True):
        summary = import_file(stack.lib, org, path, ctype.code, chunk=chunk, on_progress=progress)
        done += summary.read
        totals["stored"] += summary.stored
        totals["failed"] += summary.failed
    end = time.perf_counter()
    if marks[-1][0] < done:
        marks.append((done, end))
    figures: dict[str, Any] = {"rows_read": done, "rows_stored": totals["stored"], "rows_refused": totals["failed"],
                               "import_s": round(end - marks[0][1], 1),
                               "import_rows_per_s": round(done / (end - marks[0][1]))}
    for n, ((r0, t0), (r1, t1)) in enumerate(zip(marks, marks[1:], strict=False), start=1):
        figures[f"slice_{n:02d}_rows_per_s"] = round((r1 - r0) / (t1 - t0))
    return figures


def _db_bytes(stack: Any, pg: bool) -> int:
    with stack.engine.connect() as conn:
        if pg:
            q = text("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                     "c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'")
            return int(conn.execute(q).scalar())
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        return int(pages * conn.exec_driver_sql("PRAGMA page_size").scalar())


def _verify(stack: Any, samples: int = 1000) -> dict[str, float]:
    with stack.lib.sessions() as session:
        top = session.scalar(select(func.max(Certificate.id)))
        ids = random.sample(range(1, top + 1), min(samples, top))
        idents = list(session.scalars(select(Certificate.identifier).where(Certificate.id.in_(ids))))
    times, verdicts = [], set()
    for ident in idents:
        t = time.perf_counter()
        verdicts.add(verify_identifier(stack.lib, ident).verdict.value)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"verify_first_p50_ms": round(times[len(times) // 2], 2),
            "verify_first_p99_ms": round(times[int(len(times) * 0.99)], 2), "verify_verdicts": ",".join(sorted(verdicts))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--pg", action="store_true", help="PostgreSQL at CERTLEDGER_TEST_PG_URL (default SQLite)")
    ap.add_argument("--types", type=int, default=150)
    ap.add_argument("--chunk", type=int, default=2_000)
    args = ap.parse_args()
    with fresh_stack(PG_URL if args.pg else None, prefix="certledger-scale-") as stack:
        types = _types(stack, args.types)
        paths = _exports(stack.work, types, args.count)
        figures: dict[str, Any] = {"count": args.count, "database": "postgresql" if args.pg else "sqlite",
                                   "types": len(types), "chunk": args.chunk}
        figures.update(_import(stack, types, paths, args.count, args.chunk))
        figures["import_peak_rss_mb"] = round(_peak_rss_mb())
        t = time.perf_counter()
        anchorer = Anchorer(stack.lib)
        while anchorer.run_once(force=True):
            pass
        figures["anchor_s"] = round(time.perf_counter() - t, 1)
        figures["db_bytes_per_certificate"] = round(_db_bytes(stack, args.pg) / max(figures["rows_stored"], 1))
        t = time.perf_counter()
        chain_indexer(stack.lib).run_until_head()  # as `certledger indexer` does: statuses are read from its table
        figures["index_s"] = round(time.perf_counter() - t, 1)
        figures.update(_verify(stack))
        figures["peak_rss_mb"] = round(_peak_rss_mb())
    report("scale", figures, {"import_rows_per_s": ">= 8400 (5 M on PostgreSQL)", "peak_rss_mb": "<= 1536",
                              "db_bytes_per_certificate": "<= 2048"})


if __name__ == "__main__":
    main()
