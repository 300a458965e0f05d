"""schemathesis against the OpenAPI schema, in-process, with every role's credentials: no 5xx, no answer outside
the schema (issue 11). Bounded; the long run is ``python -m benchmarks.fuzz_api`` (README, docs/security.md)."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from benchmarks.fuzz_api import fuzz
from tests.api.conftest import Api
from tests.api.test_reports_api import _association

EXAMPLES = 3  # per operation and mode: ~50 operations x 2 modes x 3 = ~300 cases


def test_no_server_error_and_no_answer_outside_the_schema(api: Api) -> None:
    if api.env.lib.engine.dialect.name != "sqlite":
        pytest.skip("one database is enough for the bounded run; the full run is the benchmark")
    if "association" not in api.keys:
        _association(api, "association")
    app = create_app(api.env.lib, ApiSettings(public_rate=1e6, public_burst=10**6))
    with TestClient(app):
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        r = api.call("POST", "/holders/tokens", "admin", json={"id_type": "001", "id_number": api.env.departments["market"].uscc})
        credentials = {"admin": {"X-API-Key": api.keys["admin"]}, "department": {"X-API-Key": api.keys["market"]},
                       "association": {"X-API-Key": api.keys["association"]}, "counter": {"X-API-Key": api.keys["counter"]},
                       "holder": {"Authorization": f"Bearer {r.json()['token']}"}}
        figures = fuzz(schema, credentials, EXAMPLES)
    assert figures.cases >= 200
    assert (figures.server_errors, figures.schema_violations, figures.other_failures) == (0, 0, 0), \
        figures.seen.most_common(15)
