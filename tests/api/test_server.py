"""The API as deployed: uvicorn workers built from environment variables only, over real HTTP."""

from __future__ import annotations

import httpx

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
