"""The API as deployed: uvicorn workers built from environment variables only, over real HTTP."""

from __future__ import annotations

import gc
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import _settle_heap
from api.serve import prepared, served_app
from ledger.devstack.api_process import library_environment
from ledger.issue.issuance import issue_many
from tests.api.conftest import Api
from tests.fixtures.library import sample_request


def test_workers_built_from_configuration_issue_and_verify(api: Api, api_server: str) -> None:
    licence = api.env.types["business_licence"]
    with httpx.Client(base_url=api_server, timeout=30) as http:
        assert http.get("/healthz").json()["status"] == "ok"
        market = {"X-API-Key": api.keys["market"]}
        r = http.post("/departments/certificates", headers=market, json=sample_request(licence))
        assert r.status_code == 201, r.text
        identifier = r.json()["identifier"]
        # any worker serves any request: keys, certificates and seals all come from the shared database
        for _ in range(6):
            assert http.get(f"/departments/certificates/{identifier}", headers=market).status_code == 200
        r = http.post("/counters/verify/identifier", headers={"X-API-Key": api.keys["counter"]},
                      json={"identifier": identifier})
        assert r.status_code == 200 and r.json()["certificate"]["identifier"] == identifier
        r = http.get(f"/departments/certificates/{identifier}", headers={"X-API-Key": api.keys["land"]})
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_your_certificate"


def test_a_served_worker_builds_its_library_before_its_first_request(api: Api,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in library_environment(api.env.lib).items():
        monkeypatch.setenv(name, value)
    app = prepared(served_app())  # as api.serve's workers run it
    with TestClient(app) as client:
        lib = app.state.library
        assert lib is not None  # built as the worker started, not by the requests' threads
        identifier = issue_many(lib, api.env.departments["market"], [sample_request(
            api.env.types["business_licence"])])[0].identifier
        r = client.post("/counters/verify/identifier", headers={"X-API-Key": api.keys["counter"]},
                        json={"identifier": identifier})
        assert r.status_code == 200 and r.json()["verdict"] == "PENDING"
        assert app.state.library is lib
    lib.close()


def test_a_library_refused_at_start_is_reported_by_the_requests_that_need_it(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CERTLEDGER_HOME", str(tmp_path))
    monkeypatch.delenv("CERTLEDGER_KEY_PASSWORD", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app(library_at_start=True)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        r = client.post("/counters/verify/identifier", headers={"X-API-Key": "clk_unknown"},
                        json={"identifier": "x"})
        assert r.status_code == 503 and r.json()["error"]["code"] == "key_password_missing"
    assert app.state.library is None


def test_a_settled_worker_leaves_its_young_objects_to_the_young_collections() -> None:
    """Objects that outlive a few young collections and then die by reference count, as a request's do under load,
    bring no full collection once the worker's heap is settled (there were one every 2-3 s, 8-40 ms each)."""
    full: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(1)

    threshold = gc.get_threshold()
    try:
        _settle_heap()
        gc.collect()  # as a worker's first full collection after the freeze: the next wait on what is made later
        gc.callbacks.append(count)
        for _ in range(200):  # a turn's requests in flight, answered, dropped
            in_flight = [{"request": [i]} for i in range(5_000)]
            del in_flight
        assert full == []
        gc.set_threshold(*threshold)
        gc.collect()
        for _ in range(200):  # the same with Python's default: the test tells the two apart
            in_flight = [{"request": [i]} for i in range(5_000)]
            del in_flight
        assert full
    finally:
        if count in gc.callbacks:
            gc.callbacks.remove(count)
        gc.set_threshold(*threshold)
        gc.unfreeze()
