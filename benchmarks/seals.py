"""Seal throughput on one core: record seals and verifications (P-256, SM2), PDF render + seal, validation.

Run: taskset -c 1 python -m benchmarks.seals  -> table on stdout, figures in benchmarks/results/seals.json.
``p256_token_seals_per_s`` seals with the key in a SoftHSM2 token (PKCS#11, in-process), when softhsm2 is installed.

The machine is shared by several people, so times are this process's CPU time (``time.process_time``:
what one core spends on the work, not the time other processes held it), every figure is the best of
``ROUNDS`` rounds, and the raw primitives (one ECDSA / SM2 signature or verification on the same kind of
input, nothing else) are measured in the same run: a figure's ratio to its raw ceiling is the overhead of
our code. The load average is recorded beside the figures.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

from benchmarks.report import report
from ledger.core.canonical import canonical_record
from ledger.core.uscc import make_uscc
from signer.authority import SealAuthority
from signer.keys import load_public_key, verify
from signer.keystore import FileKeyStore
from signer.pdf_seal import PdfSealer
from signer.pdf_verify import verify_pdf
from signer.pkcs11_keystore import DEFAULT_MODULE, Pkcs11KeyStore, Pkcs11Token
from signer.record_seal import Sealer
from signer.render import render_certificate
from signer.ses import SESSignature
from signer.verify import SealVerifier

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 3
TARGETS = {"p256_seals_per_s": ">= 20,000", "p256_verifications_per_s": ">= 8,000", "sm2_seals_per_s": ">= 3,000",
           "pdf_render_seal_ms": "<= 60"}
URL = "https://certs.example.gov.cn/verify/"
MARKET = ("某市市场监督管理局", make_uscc("11", "430000", "00612224"))
CIVIL = ("某市民政局", make_uscc("11", "430000", "00612226"))
HOLDER_ID = make_uscc("91", "430100", "MA4L0ABC")


def _record(i: int, code: str, name: str) -> dict:
    return {"identifier": f"1.2.156.3005.2.11100000000013338W011.{code}.{20240000000 + i}.001.U",
            "number": f"No.{i:08d}", "issuer_code": code, "issuer_name": name, "holder": "某某科技有限公司",
            "holder_id": HOLDER_ID, "issued_on": "2024-01-02", "valid_until": None,
            "fields": {"entity_type": "个人独资企业", "legal_representative": "李四", "established_on": "2020-05-01"}}


def _per_s(n: int, fn: Callable[[], object]) -> float:
    """Best rate over the rounds for ``fn`` doing ``n`` operations, by CPU time."""
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return n / best


def _ms(n: int, fn: Callable[[], object]) -> float:
    """Best mean time per call over the rounds, ``n`` calls a round."""
    def run() -> None:
        for _ in range(n):
            fn()
    return 1000 / _per_s(n, run)


def _token_seals_per_s(tmp: str, recs: list[dict]) -> float | None:
    """P-256 record seals with the seal key in a SoftHSM2 token of our own (None without softhsm2)."""
    if not (shutil.which("softhsm2-util") and os.path.exists(DEFAULT_MODULE)):
        return None
    tokens = Path(tmp, "softhsm")
    tokens.mkdir()
    (tokens / "softhsm2.conf").write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n")
    os.environ["SOFTHSM2_CONF"] = str(tokens / "softhsm2.conf")
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "bench", "--pin", "1234", "--so-pin", "5678"],
                   check=True, capture_output=True)
    store = Pkcs11KeyStore(Pkcs11Token("bench", "1234"))
    authority = SealAuthority.create(store)
    sealer = Sealer.load(store, authority.registry, authority.issue_seal(*MARKET).serial)
    return _per_s(len(recs), lambda: sealer.seal_records(recs))


def main() -> dict[str, float]:
    types = json.loads((ROOT / "ledger/data/certificate-types.json").read_text("utf-8"))
    figures: dict[str, float] = {"load_average_1m_at_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        ks = FileKeyStore(tmp, password="bench")
        authority = SealAuthority.create(ks)
        p256 = authority.issue_seal(*MARKET)
        sm2 = authority.issue_seal(*CIVIL, algorithm="sm2")
        verifier = SealVerifier(authority.registry)

        recs = [_record(i, p256.credit_code, p256.department_name) for i in range(20000)]
        sealer = Sealer.load(ks, authority.registry, p256.serial)
        key, data = ks.get(p256.key_id), canonical_record(recs[0])
        figures["p256_raw_sign_per_s"] = _per_s(len(recs), lambda: [key.sign(data) for _ in recs])
        sealer.seal_records(recs[:200])
        figures["p256_seals_per_s"] = _per_s(len(recs), lambda: sealer.seal_records(recs))
        token_rate = _token_seals_per_s(tmp, recs[:4000])
        if token_rate is not None:
            figures["p256_token_seals_per_s"] = token_rate
        seals = sealer.seal_records(recs[:8000])
        public, digest = load_public_key(p256.spki_der), hashlib.sha256(data).digest()
        raw_sig = key.sign(digest)
        figures["p256_raw_verify_per_s"] = _per_s(len(seals), lambda: [verify(public, raw_sig, digest) for _ in seals])
        figures["p256_verifications_per_s"] = _per_s(
            len(seals), lambda: [verifier.verify_record(r, s) for r, s in zip(recs, seals)])

        sm2_recs = [_record(i, sm2.credit_code, sm2.department_name) for i in range(2000)]
        sm2_sealer = Sealer.load(ks, authority.registry, sm2.serial)
        sm2_seals = sm2_sealer.seal_records(sm2_recs[:1000])
        sm2_key, tbs = ks.get(sm2.key_id), SESSignature.load(sm2_seals[0])["to_sign"].dump()
        figures["sm2_raw_sign_per_s"] = _per_s(len(sm2_recs), lambda: [sm2_key.sign(tbs) for _ in sm2_recs])
        figures["sm2_seals_per_s"] = _per_s(len(sm2_recs), lambda: sm2_sealer.seal_records(sm2_recs))
        figures["sm2_verifications_per_s"] = _per_s(
            len(sm2_seals), lambda: [verifier.verify_record(r, s) for r, s in zip(sm2_recs, sm2_seals)])

        pdf_sealer = PdfSealer.load(ks, authority.registry, p256.serial)
        pdf_sealer.seal_pdf(render_certificate(types[0], recs[0], URL))
        figures["pdf_render_ms"] = _ms(20, lambda: render_certificate(types[0], recs[1], URL))
        plain = render_certificate(types[0], recs[1], URL)
        figures["pdf_seal_ms"] = _ms(20, lambda: pdf_sealer.seal_pdf(plain))
        figures["pdf_render_seal_ms"] = _ms(20, lambda: pdf_sealer.seal_pdf(render_certificate(types[0], recs[2], URL)))
        sealed = pdf_sealer.seal_pdf(plain)
        figures["pdf_validation_ms"] = _ms(20, lambda: verify_pdf(verifier, sealed, issuer_code=p256.credit_code))
        figures["pdf_bytes"] = len(sealed)
        figures["sm2_seal_bytes"] = len(sm2_seals[0])
        figures["p256_seal_bytes"] = len(seals[0])
    figures["load_average_1m_at_end"] = os.getloadavg()[0]

    report("seals", {k: round(v, 1) if isinstance(v, float) else v for k, v in figures.items()}, TARGETS)
    return figures


if __name__ == "__main__":
    main()
