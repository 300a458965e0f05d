"""Render and seal certificate PDFs on every core.

Rendering and PAdES sealing are pure CPU work (~20 ms each per page), so a batch of documents is
spread over worker processes; each worker opens the department's seal key from the key store (encrypted
files, or a PKCS#11 token: the store travels by its configuration) once and keeps its PdfSealer. One document, or a machine with one core, stays in process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.core.process_pool import ProcessPool
from signer.certificates import describe_certificate
from signer.keystore import KeyStore
from signer.pdf_seal import PdfSealer
from signer.render import render_certificate

# Below this many documents a batch is not worth the hand-over to other processes.
PARALLEL_FROM = 4


@dataclass(frozen=True)
class Job:
    """One document: ``pdf`` as supplied, or None to render it from ``ctype``/``view``/``verify_url``."""

    pdf: bytes | None
    ctype: dict[str, Any] | None = None
    view: dict[str, Any] | None = None
    verify_url: str | None = None


@dataclass(frozen=True)
class SealKey:
    """Where a worker finds the seal: the key store and the certificates (public) naming the key."""

    keystore: KeyStore
    cert_der: bytes
    root_der: bytes


_sealers: dict[bytes, PdfSealer] = {}


def _sealer(key: SealKey) -> PdfSealer:
    sealer = _sealers.get(key.cert_der)
    if sealer is None:
        info = describe_certificate(key.cert_der)
        sealer = PdfSealer(key.keystore.get(info.key_id, owner=info.credit_code), key.cert_der, key.root_der)
        _sealers[key.cert_der] = sealer
    return sealer


def make_pdf(job: Job, key: SealKey) -> bytes:
    """Render (unless supplied) and seal one document; runs in a worker process or in this one."""
    source = job.pdf if job.pdf is not None else render_certificate(job.ctype, job.view, job.verify_url)
    return _sealer(key).seal_pdf(source)


def make_pdfs(pool: ProcessPool, jobs: Sequence[Job], key: SealKey,
              on_error: Callable[[int, BaseException], Exception]) -> list[bytes]:
    """Every job's sealed PDF, in order, on the pool's processes; the first failure is raised as ``on_error(index, exc)``."""
    if len(jobs) < PARALLEL_FROM or pool.workers < 2:
        out = []
        for i, job in enumerate(jobs):
            try:
                out.append(make_pdf(job, key))
            except Exception as exc:  # noqa: BLE001 - handed to on_error, which names the document
                raise on_error(i, exc) from exc
        return out
    futures = [pool.submit(make_pdf, job, key) for job in jobs]
    out = []
    for i, future in enumerate(futures):
        try:
            out.append(future.result())
        except Exception as exc:  # noqa: BLE001 - as above
            for rest in futures[i + 1:]:
                rest.cancel()
            raise on_error(i, exc) from exc
    return out
