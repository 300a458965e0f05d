"""The library at scale: N records imported from departments' exports over the catalogue's types while the
anchoring worker anchors them, then the service measured over HTTP at that size.

    python -m benchmarks.scale [--n 1000000] [--pg] [--types 150] [--chunk 2000] [--status-changes K]
                               [--status-path chain|table] [--anchoring-workers 1]

Starts its own chain node (Hardhat), IPFS node and database (SQLite in a temporary folder; with ``--pg`` a
fresh schema in PostgreSQL at ``CERTLEDGER_TEST_PG_URL``), activates every department that defines one of the
first ``--types`` catalogue types and writes one export per type (Chinese headers, realistic values for each
field of the type, 1% bad rows, as ``certledger sample-import`` does): CSV, and JSON Lines for every third
type, so both readers run at scale. It imports them in turn through ``ledger.issue.importer`` (the path of
``certledger import``) while ``certledger worker`` (the anchoring worker, a process of its own as in service;
``--anchoring-workers`` of them) anchors what is queued under the service's batch policy. Figures:

- ``import_rows_per_s`` overall and ``slice_NN_rows_per_s`` per tenth of the rows (whether the rate falls as
  the tables grow); ``end_to_end_rows_per_s``: from the import's start to the last leaf anchored;
- ``db_bytes_per_certificate``: the database's size (SQLite file, or PostgreSQL's tables with their indexes
  and TOAST) over the certificates stored; ``index_s``: the indexer catching up with the chain;
- ``verify_first_p50_ms`` / ``p99``: in-process first verification by identifier of 1,000 random certificates;
- ``status_changes``: K certificates suspended (default min(1,000,000, N/5)) through the library's change path
  and the chain (``ledger.issue.status_changes``: setStatusMany, about 25,600 gas a leaf) in calls of 50,000;
  with ``--status-path table``, the first 15,000 so and the rest written as the indexer writes them from the
  chain's events, no transaction on chain (``benchmarks.scale_status``; ``status_changes_path`` says which), with
  ``certledger indexer`` running beside them; ``index_changes_after_s``: how long after the last change it had
  indexed them all;
  ``index_events_per_s``: a second indexer catching up from the deployment (``scale_status.index_rate``), then
  ``index_paged_events_per_s`` a third over pages of one block each (a network's backlog spans many pages);
- over HTTP (``benchmarks.scale_http``), with 2 API workers before and after the changes: each start-up
  (process start to the first 200 of a verification), first verifications of random identifiers (wrk, as
  ``benchmarks.library``), and each worker's RSS after serving them; after the changes also a department's
  list page and a holder's certificate list (p50/p99); then the lookups the workers noted, written into the access
  log as the anchoring worker writes them (``lookups_recorded_per_s``);
- ``peak_rss_mb`` of this process (``import_peak_rss_mb`` after the import).

The 5 M run on PostgreSQL: ``python -m benchmarks.scale --n 5000000 --pg --status-path table`` (about 25 GB of
disk free; why the table path for its 1,000,000 changes: ``benchmarks.scale_status``).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from benchmarks.report import report
from benchmarks.scale_http import LIST_TARGETS, http_phase
from benchmarks.scale_status import PATHS, index_rate, status_changes
from benchmarks.stack import fresh_stack
from ledger.app.indexing import chain_indexer
from ledger.app.onboarding import activate_department
from ledger.chain.indexer import cursor_name
from ledger.devstack.api_process import library_environment
from ledger.devstack.launchers import start_process, stop
from ledger.issue.import_samples import headers, sample_rows, write_sample
from ledger.issue.importer import ImportSummary, import_file
from ledger.storage.models import OUTBOX, Certificate, CertificateType, IndexerCursor, Organization
from ledger.verify.service import verify_identifier

PG_URL = os.environ.get("CERTLEDGER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CLI = str(Path(sys.executable).parent / "certledger")
JSONL_EVERY = 3  # every third type's export is JSON Lines, the others CSV
ANCHOR_WAIT_S = 4 * 3600  # after the import, for the last leaf to be anchored


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
    """One export per type, ``count`` rows in all, 1% of them bad: CSV, JSON Lines for every third type."""
    paths, per, extra = [], count // len(types), count % len(types)
    for i, (ctype, _) in enumerate(types):
        fmt = "jsonl" if i % JSONL_EVERY == JSONL_EVERY - 1 else "csv"
        path = work / f"{ctype.code}.{fmt}"
        with path.open("w", encoding="utf-8", newline="") as f:
            write_sample(f, fmt, sample_rows(ctype.code, ctype.fields, ctype.holder_kind, per + (i < extra),
                                             bad_every=100), headers(ctype.fields))
        paths.append(path)
    return paths


def _import(stack: Any, types: list[tuple[CertificateType, Organization]], paths: list[Path], count: int,
            chunk: int) -> dict[str, Any]:
    """Import every file; the rate overall and per tenth of the rows (``_started``: when the import began)."""
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
                               "import_rows_per_s": round(done / (end - marks[0][1])), "_started": marks[0][1]}
    for n, ((r0, t0), (r1, t1)) in enumerate(zip(marks, marks[1:], strict=False), start=1):
        figures[f"slice_{n:02d}_rows_per_s"] = round((r1 - r0) / (t1 - t0))
    return figures


def _import_and_anchor(stack: Any, types: list[tuple[CertificateType, Organization]], paths: list[Path],
                       count: int, chunk: int, anchoring_workers: int) -> dict[str, Any]:
    """The import with the anchoring workers running beside it (``certledger worker``, processes of their own as in
    service, batches of ``CERTLEDGER_BATCH_MAX_LEAVES`` or ``CERTLEDGER_BATCH_MAX_AGE_S``), until the last leaf
    is anchored."""
    logs = [stack.work / f"anchoring-worker-{i}.log" for i in range(anchoring_workers)]
    workers = [_cli_process(stack, "worker", log) for log in logs]
    try:
        figures = _import(stack, types, paths, count, chunk)
        started = figures.pop("_started")
        deadline = time.monotonic() + ANCHOR_WAIT_S
        while _queued(stack) > 0:
            if any(w.poll() is not None for w in workers) or time.monotonic() > deadline:
                raise RuntimeError(f"an anchoring worker stopped or stalled: {logs[0].read_text()[-3000:]}")
            time.sleep(0.25)
        end_to_end = time.perf_counter() - started
    finally:
        for worker in workers:
            stop(worker)
    figures |= {"end_to_end_s": round(end_to_end, 1), "end_to_end_rows_per_s": round(figures["rows_read"] / end_to_end),
                "anchoring_workers": anchoring_workers, "batch_max_leaves": stack.lib.settings.batch_max_leaves,
                "batch_max_age_s": stack.lib.settings.batch_max_age_s}
    with stack.lib.sessions() as session:
        figures["batches"] = session.scalar(text("SELECT count(*) FROM batches WHERE status = 'anchored'"))
    return figures


def _cli_process(stack: Any, command: str, log: Path) -> subprocess.Popen[bytes]:
    """``certledger COMMAND`` on the benchmark's database, chain and IPFS node (environment only, as systemd runs it)."""
    env = {"PYTHONPATH": str(Path(__file__).resolve().parent.parent), **library_environment(stack.lib)}
    return start_process([CLI, command, "--interval", "0.5"], log, env)


def _changes_beside_indexer(stack: Any, orgs: list[Organization], wanted: int, path: str) -> dict[str, Any]:
    """The status changes with ``certledger indexer`` running beside them as in service, then until it has indexed
    them all: API workers read a leaf's status from its table only while it is current (docs/import.md)."""
    log = stack.work / "indexer.log"
    indexer = _cli_process(stack, "indexer", log)
    contract = stack.lib.require_contract()
    try:
        figures = status_changes(stack, orgs, wanted, path)
        t = time.perf_counter()
        head = stack.lib.chain.w3.eth.block_number - stack.lib.settings.confirmations
        deadline = time.monotonic() + ANCHOR_WAIT_S
        while True:
            with stack.engine.connect() as conn:
                done = conn.scalar(select(IndexerCursor.last_block).where(IndexerCursor.name == cursor_name(contract)))
            if done is not None and done >= head:
                break
            if indexer.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the indexer stopped or stalled: {log.read_text()[-3000:]}")
            time.sleep(0.25)
    finally:
        stop(indexer)
    return figures | {"index_changes_after_s": round(time.perf_counter() - t, 1)}


def _queued(stack: Any) -> int:
    """Leaves not anchored yet (the outbox is cleared batch by batch as each is anchored)."""
    with stack.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(OUTBOX)).scalar_one())


_TABLES = ("FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
           "WHERE n.nspname = current_schema() AND c.relkind = 'r'")


def _pg_bytes(stack: Any) -> int:
    """This schema's tables with their indexes and TOAST."""
    with stack.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT sum(pg_total_relation_size(c.oid)) {_TABLES}")).scalar())


def _db_bytes(stack: Any, pg: bool) -> int:
    """The database's size on disk. PostgreSQL is measured after a plain VACUUM of its tables, as autovacuum
    leaves them in service: the anchoring outbox's rows are written, claimed and deleted, and their dead
    versions are space the next rows reuse, not certificates' bytes (``db_bytes_before_vacuum``: without it)."""
    if pg:
        with stack.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            tables = [r[0] for r in conn.execute(text(f"SELECT quote_ident(c.relname) {_TABLES}"))]
            conn.exec_driver_sql(f"VACUUM {', '.join(tables)}")
        return _pg_bytes(stack)
    with stack.engine.connect() as conn:
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


def run(n: int, pg: bool, type_count: int, chunk: int, changes: int | None, status_path: str,
        anchoring_workers: int = 1) -> dict[str, Any]:
    """Every figure of one run, in one flat dict."""
    with fresh_stack(PG_URL if pg else None, prefix="certledger-scale-") as stack:
        types = _types(stack, type_count)
        paths = _exports(stack.work, types, n)
        figures: dict[str, Any] = {"count": n, "database": "postgresql" if pg else "sqlite", "types": len(types),
                                   "chunk": chunk, "csv_files": sum(p.suffix == ".csv" for p in paths),
                                   "jsonl_files": sum(p.suffix == ".jsonl" for p in paths)}
        figures |= _import_and_anchor(stack, types, paths, n, chunk, anchoring_workers)
        figures["import_peak_rss_mb"] = round(_peak_rss_mb())
        if pg:
            figures["db_bytes_before_vacuum"] = round(_pg_bytes(stack) / max(figures["rows_stored"], 1))
        figures["db_bytes_per_certificate"] = round(_db_bytes(stack, pg) / max(figures["rows_stored"], 1))
        t = time.perf_counter()
        chain_indexer(stack.lib).run_until_head()  # as `certledger indexer` does: statuses are read from its table
        figures["index_s"] = round(time.perf_counter() - t, 1)
        figures |= _verify(stack)
        orgs = list({org.id: org for _, org in types}.values())
        per_type = n // len(types)
        used: set[int] = set()  # certificates verified over HTTP: each phase verifies others
        figures |= http_phase(stack, orgs, per_type, types, used, after_changes=False)
        wanted = min(1_000_000, n // 5) if changes is None else changes
        figures |= _changes_beside_indexer(stack, orgs, wanted, status_path)
        figures |= index_rate(stack)
        figures |= http_phase(stack, orgs, per_type, types, used, after_changes=True)
        figures["api_worker_rss_delta_mb"] = round(figures["api_worker_rss_mb_after_changes"]
                                                   - figures["api_worker_rss_mb"], 1)
        figures["peak_rss_mb"] = round(_peak_rss_mb())
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", "--count", dest="n", type=int, default=1_000_000, help="records generated and imported")
    ap.add_argument("--pg", action="store_true", help="PostgreSQL at CERTLEDGER_TEST_PG_URL (default SQLite)")
    ap.add_argument("--types", type=int, default=150, help="the first this many catalogue types")
    ap.add_argument("--chunk", type=int, default=2_000, help="rows per import transaction")
    ap.add_argument("--status-changes", type=int, help="certificates suspended (default min(1,000,000, n/5))")
    ap.add_argument("--status-path", choices=sorted(PATHS), default="chain",
                    help="chain: through the library and the chain; table: as the indexer writes them (see scale_status)")
    ap.add_argument("--anchoring-workers", type=int, default=1, help="certledger worker processes beside the import")
    args = ap.parse_args()
    figures = run(args.n, args.pg, args.types, args.chunk, args.status_changes, args.status_path, args.anchoring_workers)
    report("scale", figures, {
        "import_rows_per_s": ">= 8400 (5 M on PostgreSQL)", "end_to_end_s": "<= 600 (5 M)",
        "peak_rss_mb": "<= 1536", "db_bytes_per_certificate": "<= 2048",
        "http_verify_first_per_s": ">= 2000", "http_verify_first_p99_ms": "<= 30",
        "http_verify_first_after_changes_per_s": ">= 2000", "http_verify_first_after_changes_p99_ms": "<= 30",
        "api_worker_rss_delta_mb": "<= 50", "index_events_per_s": ">= 10000", **LIST_TARGETS,
    })


if __name__ == "__main__":
    main()
