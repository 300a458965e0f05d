"""``certledger serve`` with two workers, beside ``certledger worker`` and ``certledger indexer``, scraped as
Prometheus scrapes it: every worker's counts added up, the database's gauges, one JSON access-log line per
request with no key and no personal data; ``/healthz`` and ``/readyz``; SIGTERM stops every process cleanly."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ledger.app.onboarding import create_api_key
from ledger.devstack.launchers import free_port
from tests.fixtures.cli import start_cli, stop_gently, wait_until
from tests.fixtures.library import LibraryEnv, sample_request

ISSUED = 4


def _scrape(http: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = http.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def _value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def _ready(http: httpx.Client) -> bool:
    try:
        return http.get("/readyz").status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.one_database  # processes and probes; the readiness of each database is tests/api/test_admin_auth.py's
def test_metrics_access_log_and_probes_of_the_production_processes(library_env: LibraryEnv, tmp_path: Path) -> None:
    env = library_env
    key = create_api_key(env.lib, env.departments["market"].id, ["department"])
    port = free_port()
    logs = {name: tmp_path / f"{name}.log" for name in ("serve", "worker", "indexer")}
    settings = {**env.env, "CERTLEDGER_WORKERS": "2", "CERTLEDGER_BATCH_MAX_AGE_S": "0.3",
                "CERTLEDGER_LOG_RANGE": "50", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    procs = {"serve": start_cli(["serve", "--port", str(port)], settings, logs["serve"]),
             "worker": start_cli(["worker", "--interval", "0.2"], settings, logs["worker"]),
             "indexer": start_cli(["indexer", "--interval", "0.2"], settings, logs["indexer"])}
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        wait_until(lambda: _ready(http), "serve ready", timeout=90, logs=list(logs.values()), procs=list(procs.values()))
        assert http.get("/healthz").json() == {"status": "ok"}
        department = {"X-API-Key": key, "X-Request-ID": "trace-0001"}
        requests = [sample_request(env.types["business_licence"]) for _ in range(ISSUED)]
        identifiers = []
        for request in requests:
            r = http.post("/departments/certificates", headers=department, json=request)
            assert r.status_code == 201 and r.headers["x-request-id"] == "trace-0001", r.text
            identifiers.append(r.json()["identifier"])
        wait_until(lambda: all(http.get(f"/departments/certificates/{i}", headers=department)
                               .json()["anchor"]["status"] == "anchored" for i in identifiers),
                   "the worker anchoring them", timeout=60, logs=[logs["worker"]], procs=list(procs.values()))
        for ident in identifiers:
            assert http.get(f"/verify/{ident}").json()["verdict"] == "VALID"
        assert http.get("/verify/not-an-identifier").status_code == 422

        def scraped_everything() -> bool:
            samples = _scrape(http)
            return (_value(samples, "certledger_worker_up", kind="anchoring", worker=_worker(logs["worker"])) == 1
                    and _value(samples, "certledger_indexer_head_lag_blocks", worker=_worker(logs["indexer"])) == 0)

        wait_until(scraped_everything, "the worker up and the indexer at the head, in /metrics", timeout=60,
                   logs=list(logs.values()), procs=list(procs.values()))
        samples = _scrape(http)
        by = {"method": "POST", "route": "/departments/certificates", "status": "201"}
        assert _value(samples, "certledger_http_requests_total", **by) == ISSUED, "both workers' counts, added up"
        assert _value(samples, "certledger_http_request_duration_seconds_count", method="GET",
                      route="/departments/certificates/{identifier}") >= ISSUED
        assert _value(samples, "certledger_verifications_total", kind="identifier", verdict="VALID") == ISSUED
        assert _value(samples, "certledger_http_requests_total", method="GET", route="/verify/{identifier}",
                      status="422") == 1
        assert _value(samples, "certledger_anchoring_queue_leaves", kind="certificate") is not None
        assert _value(samples, "certledger_anchoring_pending_batches") is not None
        assert _value(samples, "certledger_lookup_notes_waiting") is not None
        readiness = http.get("/readyz").json()
        assert {w["kind"] for w in readiness["workers"] if w["alive"]} >= {"anchoring", "indexer"}
        indexer = next(w for w in readiness["workers"] if w["alive"] and w["kind"] == "indexer")
        assert indexer["details"]["log_range"] == 50 and indexer["state"] == "running"
    finally:
        http.close()
        codes = {name: stop_gently(proc) for name, proc in procs.items()}
    assert codes == {"serve": 0, "worker": 0, "indexer": 0}, codes
    _assert_access_log(logs["serve"], key, requests)


def _worker(log: Path) -> str:
    """The worker's name (kind@host:pid), from its log's first line that names it."""
    for line in log.read_text().splitlines():
        if '"worker": "' in line:
            return json.loads(line)["worker"]
    return ""


def _assert_access_log(log: Path, key: str, requests: list[dict]) -> None:
    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "certledger.access"]
    issued = [a for a in access if a["route"] == "/departments/certificates" and a["method"] == "POST"]
    assert len(issued) == ISSUED and {a["status"] for a in issued} == {201}
    assert all(a["request_id"] == "trace-0001" and a["key_prefix"] == key[:12] for a in issued)
    assert {a["route"] for a in access} >= {"/healthz", "/readyz", "/metrics", "/verify/{identifier}",
                                             "/departments/certificates/{identifier}"}
    assert all(isinstance(a["duration_ms"], float) for a in access)
    assert key not in text, "an API key in the log"
    for request in requests:
        assert request["holder"] not in text and request["holder_id"] not in text, "personal data in the log"


def test_ipfs_errors_are_counted_by_operation() -> None:
    from prometheus_client import REGISTRY

    from ledger.app.metrics import count_ipfs_error
    from ledger.documents.ipfs import IpfsStore

    def errors() -> float:
        return REGISTRY.get_sample_value("certledger_ipfs_errors_total", {"operation": "version"}) or 0.0

    before = errors()
    with IpfsStore(f"http://127.0.0.1:{free_port()}", timeout=2, on_error=count_ipfs_error) as dead:
        assert dead.health().reason == "ipfs_unavailable"
    assert errors() == before + 1
