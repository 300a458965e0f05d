"""The Prometheus metrics certledger counts as it works (``GET /metrics``; docs/deployment.md, "Metrics").

Counted where things happen: requests and verdicts by the API (``api.observe``, ``api.verifying``), IPFS errors by
the Library's document store (its ``on_error``), imported rows by an importer (``IMPORT_ROWS.labels(kind,
outcome).inc(n)`` as each chunk commits: a progress hook that any import counts into). With several uvicorn
workers the values live in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode, which
``certledger serve`` sets up) and every worker's ``/metrics`` adds them up. What the database knows (the
anchoring queue, the workers' heartbeats, the indexer's lag behind the chain head) is read when scraped
(``api.metrics``). Labels never carry personal data or keys: routes are templates, not paths.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter("certledger_http_requests", "HTTP requests answered, by route template and status",
                        ["method", "route", "status"])
HTTP_DURATION = Histogram("certledger_http_request_duration_seconds", "time to answer an HTTP request",
                          ["method", "route"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
VERIFICATIONS = Counter("certledger_verifications", "verifications made, by what was verified and the verdict",
                        ["kind", "verdict"])
IPFS_ERRORS = Counter("certledger_ipfs_errors", "IPFS calls that failed, by operation", ["operation"])
IMPORT_ROWS = Counter("certledger_import_rows", "rows an import processed, by kind and outcome", ["kind", "outcome"])


def count_verdict(kind: str, verdict: str) -> None:
    """One verification of ``kind`` (identifier, bundle, pdf, report) ended with ``verdict``."""
    VERIFICATIONS.labels(kind, verdict).inc()


def count_ipfs_error(operation: str) -> None:
    """An IPFS call (``add``, ``cat``, ``version``, ...) failed."""
    IPFS_ERRORS.labels(operation).inc()
