"""Seal throughput on one core: record seals and verifications (P-256, SM2), PDF render + seal, validation.

Run: python -m benchmarks.seals  -> table on stdout, figures in benchmarks/results/seals.json.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.table import Table

from signer.authority import SealAuthority
from signer.keystore import FileKeyStore
from signer.pdf_seal import PdfSealer
from signer.pdf_verify import verify_pdf
from signer.record_seal import Sealer
from signer.render import render_certificate
from signer.verify import SealVerifier

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"p256_seals_per_s": 20000, "p256_verifications_per_s": 8000, "sm2_seals_per_s": 3000,
           "pdf_render_seal_ms": 60}


def _record(i: int, code: str, name: str) -> dict:
    return {"identifier": f"1.2.156.3005.2.11100000000013338W011.{code}.{20240000000 + i}.001.U",
            "number": f"No.{i:08d}", "issuer_code": code, "issuer_name": name, "holder": "某某科技有限公司",
            "holder_id": "91430100MA4L0ABC1X", "issued_on": "2024-01-02", "valid_until": None,
            "fields": {"entity_type": "个人独资企业", "legal_representative": "李四", "established_on": "2020-05-01"}}


def _rate(n: int, fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def _ms(n: int, fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1000


def main() -> dict[str, float]:
    types = json.loads((ROOT / "ledger/data/certificate-types.json").read_text("utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        ks = FileKeyStore(tmp, password="bench")
        authority = SealAuthority.create(ks)
        p256 = authority.issue_seal("某市市场监督管理局", "11430000006122244L")
        sm2 = authority.issue_seal("某市民政局", "11430000006122246F", algorithm="sm2")
        verifier = SealVerifier(authority.registry)

        recs = [_record(i, p256.credit_code, p256.department_name) for i in range(20000)]
        sealer = Sealer.load(ks, authority.registry, p256.serial)
        sealer.seal_records(recs[:200])
        figures = {"p256_seals_per_s": _rate(len(recs), lambda: sealer.seal_records(recs))}
        seals = sealer.seal_records(recs[:8000])
        figures["p256_verifications_per_s"] = _rate(
            len(seals), lambda: [verifier.verify_record(r, s) for r, s in zip(recs, seals)])

        sm2_recs = [_record(i, sm2.credit_code, sm2.department_name) for i in range(2000)]
        sm2_sealer = Sealer.load(ks, authority.registry, sm2.serial)
        figures["sm2_seals_per_s"] = _rate(len(sm2_recs), lambda: sm2_sealer.seal_records(sm2_recs))
        sm2_seals = sm2_sealer.seal_records(sm2_recs[:1000])
        figures["sm2_verifications_per_s"] = _rate(
            len(sm2_seals), lambda: [verifier.verify_record(r, s) for r, s in zip(sm2_recs, sm2_seals)])

        pdf_sealer = PdfSealer.load(ks, authority.registry, p256.serial)
        url = "https://certs.example.gov.cn/verify/"
        pdf_sealer.seal_pdf(render_certificate(types[0], recs[0], url))
        figures["pdf_render_ms"] = _ms(20, lambda: render_certificate(types[0], recs[1], url))
        plain = render_certificate(types[0], recs[1], url)
        figures["pdf_seal_ms"] = _ms(20, lambda: pdf_sealer.seal_pdf(plain))
        figures["pdf_render_seal_ms"] = _ms(20, lambda: pdf_sealer.seal_pdf(render_certificate(types[0], recs[2], url)))
        sealed = pdf_sealer.seal_pdf(plain)
        figures["pdf_validation_ms"] = _ms(20, lambda: verify_pdf(verifier, sealed, issuer_code=p256.credit_code))
        figures["pdf_bytes"] = float(len(sealed))
        figures["sm2_seal_bytes"] = float(len(sm2_seals[0]))
        figures["p256_seal_bytes"] = float(len(seals[0]))

    figures = {k: round(v, 1) for k, v in figures.items()}
    table = Table(title="Department seals (one core)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    for k, v in figures.items():
        target = TARGETS.get(k)
        table.add_row(k, f"{v:,.1f}", "" if target is None else (f"<= {target}" if k.endswith("_ms") else f">= {target:,}"))
    Console().print(table)
    out = ROOT / "benchmarks/results/seals.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    main()
