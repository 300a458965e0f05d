"""End-to-end figures of the library: issuance without and with documents, anchoring, HTTP verification.

    python -m benchmarks.library [--plain 10000] [--documents 1000] [--chunk 1000] [--pg-url URL]

Documents are measured twice: certificates rendered from data (about 60 KB each) and
departments' own 200 KB PDFs, sealed and stored as they are.

Starts its own Hardhat node and IPFS node on free loopback ports, a fresh SQLite database (or a
fresh schema in PostgreSQL with --pg-url), deploys the contract, imports the catalogue and
activates two departments. Issuance is timed through ``issue_many`` in calls of ``--chunk``
certificates (as the API's issue-many does): validation, identifiers, records, seals, documents
(render, PDF seal, encryption, IPFS) and the database transaction. Anchoring of everything issued
is timed separately. Peak memory is the process's peak RSS after each phase.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import resource
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas
from sqlalchemy import select, text

from api.server import library_environment, start_api
from benchmarks.report import report
from ledger.anchoring import Anchorer
from ledger.catalogue import CITY_DIVISION, import_catalogue
from ledger.config import Settings
from ledger.db import make_engine, migrate
from ledger.ipfs import start_local_ipfs
from ledger.issuance import IssuedCertificate, issue_many
from ledger.library import Library
from ledger.localstack import free_port, start_hardhat, stop
from ledger.onboarding import activate_department, create_api_key, create_organization
from ledger.records import CertificateType, Organization
from ledger.uscc import derive_uscc

PASSWORD = "bench-password"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def requests_for(ctype: CertificateType, n: int, document: str) -> list[dict[str, Any]]:
    """Realistic legal-entity requests (business licences): every required field and a few optional ones."""
    out = []
    for i in range(n):
        out.append({
            "type_code": ctype.code, "number": f"B{uuid.uuid4().hex[:14].upper()}", "issue_date": "2025-01-02",
            "holder": f"某某科技有限公司{i}", "holder_id": derive_uscc(f"bench:{i}", division=CITY_DIVISION, prefix="91"),
            "holder_id_type": "001", "document": document,
            "fields": {"unified_social_credit_code": "91430100MA4L0000X1", "entity_type": "其他有限责任公司",
                       "legal_representative": "张三", "registered_capital": "1000.00", "established_on": "2020-05-01",
                       "address": "湖南省长沙市岳麓区某某路1号", "business_scope": "软件开发；信息技术咨询服务" * 4},
        })
    return out


def scanned_pdf(size: int) -> bytes:
    """A department's own PDF of about ``size`` bytes (a page with an incompressible scan-like image)."""
    side = int((size / 3.8) ** 0.5)  # RGB bytes, and the PDF stream adds about a quarter
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 800, "scanned certificate")
    c.drawImage(ImageReader(image), 72, 300, 400, 400)
    c.save()
    return buf.getvalue()


def timed_issue(lib: Library, org: Organization, requests: list[dict[str, Any]], chunk: int) -> tuple[float, list[IssuedCertificate]]:
    issued: list[IssuedCertificate] = []
    start = time.perf_counter()
    for i in range(0, len(requests), chunk):
        issued += issue_many(lib, org, requests[i:i + chunk])
    return time.perf_counter() - start, issued


WRK_SCRIPT = """
local ids = {%(ids)s}
local n = 0
request = function()
  n = n + 1
  local body = '{"identifier":"' .. ids[(n %% #ids) + 1] .. '"}'
  return wrk.format("POST", "/counters/verify/identifier",
                    {["Content-Type"] = "application/json", ["X-API-Key"] = "%(key)s"}, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
                         latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def bench_http_verify(lib: Library, identifiers: list[str], *, clients: int = 50, seconds: int = 10,
                      workers: int = 2) -> dict[str, float]:
    """Verification over HTTP: verify-by-identifier from ``clients`` concurrent connections for ``seconds``
    (wrk, a C load generator, so the client costs the 2 cores little) against uvicorn workers on
    loopback, each built from environment variables only. Every identifier is checked VALID first."""
    Anchorer(lib, max_leaves=100_000).run_once(force=True)
    counter = create_organization(lib, kind="counter", name="基准测试窗口",
                                  uscc=derive_uscc(f"bench-counter:{uuid.uuid4()}", division=CITY_DIVISION, prefix="12"))
    key = create_api_key(lib, counter.id, ["counter"])
    port = free_port()
    server = start_api(port, library_environment(lib), lib.settings.home / "api.log", workers=workers)
    script = lib.settings.home / "verify.lua"
    script.write_text(WRK_SCRIPT % {"ids": ", ".join(f'"{i}"' for i in identifiers), "key": key}, encoding="utf-8")
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as http:
            for identifier in identifiers:  # also warms every cache the workers keep
                verdict = http.post("/counters/verify/identifier", json={"identifier": identifier}).json()["verdict"]
                assert verdict == "VALID", (identifier, verdict)
        subprocess.run(["wrk", "-t2", f"-c{clients}", "-d2s", "-s", str(script), url], check=True, capture_output=True)
        out = subprocess.run(["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), url],
                             check=True, capture_output=True, text=True).stdout
    finally:
        stop(server)
    n, duration_us, p50_us, p99_us, non_2xx, socket_errors = map(int, out.split("RESULT")[1].split())
    return {"http_verify_requests": n, "http_verify_clients": clients, "http_verify_workers": workers,
            "http_verify_per_s": n / (duration_us / 1e6), "http_verify_p50_ms": p50_us / 1000,
            "http_verify_p99_ms": p99_us / 1000, "http_verify_failures": non_2xx + socket_errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plain", type=int, default=10_000, help="certificates issued without documents")
    parser.add_argument("--documents", type=int, default=1_000, help="certificates issued with rendered sealed PDFs")
    parser.add_argument("--chunk", type=int, default=1_000, help="certificates per issue_many call")
    parser.add_argument("--pg-url", help="PostgreSQL URL (a fresh schema is made and dropped); default SQLite")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="certledger-bench-"))
    rpc_port = free_port()
    hardhat = start_hardhat(rpc_port, work / "hardhat")
    ipfs_port = free_port()
    ipfs = start_local_ipfs(work / "ipfs", ipfs_port, free_port(), free_port())
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        if args.pg_url:
            admin = make_engine(args.pg_url)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            engine = make_engine(args.pg_url, connect_args={"options": f"-csearch_path={schema}"})
            db_url = args.pg_url
        else:
            db_url = f"sqlite:///{work / 'certledger.db'}"
            engine = make_engine(db_url)
        migrate(engine)
        settings = Settings(home=work / "home", rpc_url=f"http://127.0.0.1:{rpc_port}", database_url=db_url,
                            ipfs_api=f"http://127.0.0.1:{ipfs_port}", key_password=PASSWORD, light_kdf=True,
                            contract_address=None)
        lib = Library.from_settings(settings, engine=engine)
        lib.deploy()
        with lib.sessions() as session:
            import_catalogue(session)
        with lib.sessions() as session:
            market = session.execute(select(Organization).where(Organization.name == "市场监督管理局")).scalar_one()
            licence = session.execute(select(CertificateType).where(CertificateType.name == "营业执照")).scalar_one()
        market = activate_department(lib, market.id)
        issue_many(lib, market, requests_for(licence, 50, "none"))  # warm caches (keys, sealer, registry)
        issue_many(lib, market, requests_for(licence, 2, "render"))

        figures: dict[str, Any] = {"database": engine.dialect.name, "chunk": args.chunk}
        plain = requests_for(licence, args.plain, "none")
        seconds, _ = timed_issue(lib, market, plain, args.chunk)
        figures.update({"plain_certificates": args.plain, "plain_seconds": seconds,
                        "plain_certificates_per_s": args.plain / seconds, "plain_peak_rss_mb": peak_rss_mb()})

        start = time.perf_counter()
        batches = Anchorer(lib, max_leaves=100_000).run_once(force=True)
        anchor_s = time.perf_counter() - start
        figures.update({"anchor_leaves": sum(b.leaf_count for b in batches), "anchor_seconds": anchor_s,
                        "plain_end_to_end_with_anchoring_per_s": args.plain / (seconds + anchor_s)})

        docs = requests_for(licence, args.documents, "render")
        seconds, issued = timed_issue(lib, market, docs, min(args.chunk, 100))
        size = sum(len(lib.ipfs.get(i.document_cid)) for i in issued[:20]) / min(20, len(issued))
        figures.update({"document_certificates": args.documents, "document_seconds": seconds,
                        "document_certificates_per_s": args.documents / seconds,
                        "document_mean_kb": size / 1024, "document_peak_rss_mb": peak_rss_mb()})

        supplied = base64.b64encode(scanned_pdf(200 * 1024)).decode()
        seconds, _ = timed_issue(lib, market, requests_for(licence, args.documents, supplied), min(args.chunk, 100))
        figures.update({"supplied_200kb_certificates": args.documents,
                        "supplied_200kb_certificates_per_s": args.documents / seconds})

        figures.update(bench_http_verify(lib, [i.identifier for i in issued]))
        figures["peak_rss_mb"] = peak_rss_mb()
        lib.close()
        engine.dispose()
    finally:
        stop(ipfs)
        stop(hardhat)
        if args.pg_url:
            with make_engine(args.pg_url).begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    report("library", figures, {
        "plain_certificates_per_s": ">= 2000", "document_certificates_per_s": ">= 40",
        "supplied_200kb_certificates_per_s": ">= 40",
        "http_verify_per_s": ">= 500", "http_verify_p99_ms": "<= 50",
    })


if __name__ == "__main__":
    main()
