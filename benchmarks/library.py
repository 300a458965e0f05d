"""End-to-end figures of the library: issuance without and with documents, anchoring, HTTP verification.

    python -m benchmarks.library [--plain 10000] [--documents 1000] [--chunk 1000] [--pg-url URL]

Verification over HTTP is measured twice: certificates verified again and again (the workers remember
VALID results while their inputs are unchanged), and first verifications, which no worker has made before
(after a one-second warm-up over other certificates of the same batches, also reported).

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
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas
from sqlalchemy import select

from benchmarks.report import report
from benchmarks.stack import fresh_stack
from ledger.app.library import Library
from ledger.app.onboarding import create_api_key, create_organization
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.uscc import derive_uscc
from ledger.devstack.api_process import library_environment, start_api
from ledger.devstack.launchers import free_port, stop
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import IssuedCertificate, issue_many
from ledger.storage.models import Certificate, CertificateType, Organization


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


# Each wrk thread cycles through the identifiers, the threads interleaved (thread t sends ids t+1, t+1+T, ...),
# so that a run shorter than one cycle verifies every identifier at most once.
WRK_SCRIPT = """
local ids = {%(ids)s}
local threads = 0
setup = function(thread)
  thread:set("offset", threads)
  threads = threads + 1
  thread:set("stride", %(threads)d)
end
local n = -1
request = function()
  n = n + 1
  local body = '{"identifier":"' .. ids[((offset + n * stride) %% #ids) + 1] .. '"}'
  return wrk.format("POST", "/counters/verify/identifier",
                    {["Content-Type"] = "application/json", ["X-API-Key"] = "%(key)s"}, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
                         latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def wrk(url: str, script: Path, clients: int, seconds: float) -> dict[str, float]:
    out = subprocess.run(["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), url],
                         check=True, capture_output=True, text=True).stdout
    n, duration_us, p50_us, p99_us, non_2xx, socket_errors = map(int, out.split("RESULT")[1].split())
    return {"requests": n, "per_s": n / (duration_us / 1e6), "p50_ms": p50_us / 1000, "p99_ms": p99_us / 1000,
            "failures": non_2xx + socket_errors}


FIRST_EXTRA = 30_000  # first verifications run at several thousand a second: enough for 3 s without repeats
WARMUP_PER_ROOT = 1_000


def more_like(lib: Library, identifier: str, n: int) -> list[str]:
    """``n`` more certificates (queued for anchoring) from the issuer and of the type of ``identifier``."""
    with lib.sessions() as session:
        cert = session.scalar(select(Certificate).where(Certificate.identifier == identifier))
        org = session.get(Organization, cert.issuer_org_id)
        ctype = session.scalar(select(CertificateType).where(CertificateType.code == cert.type_code))
    out: list[str] = []
    for start in range(0, n, 1000):
        out += [c.identifier for c in issue_many(lib, org, requests_for(ctype, min(1000, n - start), "none"))]
    return out


def bench_http_verify(lib: Library, identifiers: list[str], first_identifiers: list[str], *, clients: int = 50,
                      seconds: int = 10, workers: int = 2) -> dict[str, float]:
    """Verification over HTTP: verify-by-identifier from ``clients`` concurrent connections (wrk, a C load
    generator) against uvicorn workers on loopback, each built from environment variables only.

    ``http_verify_*``: ``identifiers`` verified again and again for ``seconds``, after a warm-up in which
    every worker has verified each of them (workers remember VALID results, see
    ``ledger.verify.service.verify_identifier``). ``http_verify_first_*``: each of ``first_identifiers`` (and
    ``FIRST_EXTRA`` more, issued here) at most once (a short run over more identifiers than it reaches): what
    a verification costs that no worker has made before. Fresh workers first read what a worker reads once
    per batch root and at start (the root's anchor, the seal registrations, the status events) in a one-second
    ``http_verify_warmup_*`` run over ``WARMUP_PER_ROOT`` other certificates of each batch."""
    extra = more_like(lib, first_identifiers[0], FIRST_EXTRA)
    Anchorer(lib, max_leaves=100_000).run_once(force=True)
    counter = create_organization(lib, kind="counter", name="基准测试窗口",
                                  uscc=derive_uscc(f"bench-counter:{uuid.uuid4()}", division=CITY_DIVISION, prefix="12"))
    key = create_api_key(lib, counter.id, ["counter"])
    figures: dict[str, float] = {"http_verify_clients": clients, "http_verify_workers": workers,
                                 "http_verify_identifiers": len(identifiers)}
    warmup = first_identifiers[:WARMUP_PER_ROOT] + extra[:WARMUP_PER_ROOT]
    first = first_identifiers[WARMUP_PER_ROOT:] + extra[WARMUP_PER_ROOT:]
    for name, ids in (("first", first), ("again", identifiers)):
        port = free_port()
        server = start_api(port, library_environment(lib), lib.settings.home / f"api-{name}.log", workers=workers)
        script = lib.settings.home / f"verify-{name}.lua"
        script.write_text(WRK_SCRIPT % {"ids": ", ".join(f'"{i}"' for i in ids), "key": key, "threads": 2},
                          encoding="utf-8")
        url = f"http://127.0.0.1:{port}"
        try:
            if name == "first":
                # every worker builds its Library (on its first request) before the run
                subprocess.run(["wrk", "-t2", f"-c{clients}", "-d1s", f"{url}/healthz"], check=True,
                               capture_output=True)
                warm = lib.settings.home / "verify-warmup.lua"
                warm.write_text(WRK_SCRIPT % {"ids": ", ".join(f'"{i}"' for i in warmup), "key": key, "threads": 2},
                                encoding="utf-8")
                figures |= {f"http_verify_warmup_{k}": v for k, v in wrk(url, warm, clients, 1).items()}
                got = wrk(url, script, clients, 3)
                assert got["requests"] < len(ids), "the run repeated identifiers: pass more of them"
                figures |= {f"http_verify_first_{k}": v for k, v in got.items()}
                continue
            with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as http:
                for identifier in ids:
                    answer = http.post("/counters/verify/identifier", json={"identifier": identifier}).json()
                    assert answer["verdict"] == "VALID", (identifier, answer["verdict"])
            for _ in range(4):  # every worker sees every identifier (connections spread over the workers)
                wrk(url, script, clients, 2)
            figures |= {f"http_verify_{k}": v for k, v in wrk(url, script, clients, seconds).items()}
        finally:
            stop(server)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plain", type=int, default=10_000, help="certificates issued without documents")
    parser.add_argument("--documents", type=int, default=1_000, help="certificates issued with rendered sealed PDFs")
    parser.add_argument("--chunk", type=int, default=1_000, help="certificates per issue_many call")
    parser.add_argument("--pg-url", help="PostgreSQL URL (a fresh schema is made and dropped); default SQLite")
    args = parser.parse_args()

    with fresh_stack(args.pg_url) as stack:
        lib, market, licence = stack.lib, stack.market, stack.licence
        issue_many(lib, market, requests_for(licence, 50, "none"))  # warm caches (keys, sealer, registry)
        issue_many(lib, market, requests_for(licence, 2, "render"))

        figures: dict[str, Any] = {"database": stack.engine.dialect.name, "chunk": args.chunk}
        plain = requests_for(licence, args.plain, "none")
        seconds, plain_issued = timed_issue(lib, market, plain, args.chunk)
        figures.update({"plain_certificates": args.plain, "plain_seconds": seconds,
                        "plain_certificates_per_s": args.plain / seconds, "plain_peak_rss_mb": peak_rss_mb()})

        start = time.perf_counter()
        batches = Anchorer(lib, max_leaves=100_000).run_once(force=True)
        anchor_s = time.perf_counter() - start
        plain_identifiers = [c.identifier for c in plain_issued]
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

        figures.update(bench_http_verify(lib, [i.identifier for i in issued], plain_identifiers))
        figures["peak_rss_mb"] = peak_rss_mb()
    report("library", figures, {
        "plain_certificates_per_s": ">= 2000", "document_certificates_per_s": ">= 40",
        "supplied_200kb_certificates_per_s": ">= 40",
        "http_verify_per_s": ">= 500", "http_verify_p99_ms": "<= 50",
        "http_verify_first_per_s": ">= 500", "http_verify_first_p99_ms": "<= 50",
    })


if __name__ == "__main__":
    main()
