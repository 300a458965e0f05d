"""The API over A's real library (real chain, IPFS, SQLite and PostgreSQL), driven through HTTP.

``api`` is a TestClient on ``create_app(library)`` plus API keys made through the admin API: the
platform admin, the activated departments (``market``, ``land``) and a counter.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from ledger.app.library import Library
from ledger.app.onboarding import create_api_key, ensure_platform
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.uscc import derive_uscc
from ledger.storage.models import AnchorOutbox, Batch, Certificate
from tests.fixtures.library import LibraryEnv


def new_uscc(prefix: str = "12") -> str:
    return derive_uscc(uuid.uuid4().hex, division=CITY_DIVISION, prefix=prefix)


@dataclass
class Api:
    client: TestClient
    env: LibraryEnv
    keys: dict[str, str]

    def call(self, method: str, path: str, who: str | None = None, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if who is not None:
            headers["X-API-Key"] = self.keys[who]
        return self.client.request(method, path, headers=headers, **kwargs)


def stored_rows(lib: Library) -> tuple[int, int, int]:
    """Certificates, queued leaves and batches: what a refused request must leave unchanged (the access log's
    leaves aside: lookups of earlier tests are written in the background, ``ledger.holders.lookups``)."""
    with lib.sessions() as session:
        return tuple(session.execute(select(func.count()).select_from(t).where(*where)).scalar_one()  # type: ignore[return-value]
                     for t, where in ((Certificate, ()), (AnchorOutbox, (AnchorOutbox.kind != "access_log",)),
                                      (Batch, ())))


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"] and isinstance(error["details"], dict)
    return error


@pytest.fixture(scope="session")
def api(library_env: LibraryEnv) -> Iterator[Api]:
    lib = library_env.lib
    platform = ensure_platform(lib, "市数据局（平台）", new_uscc("11"))
    keys = {"admin": create_api_key(lib, platform.id, ["admin"])}
    with TestClient(create_app(lib)) as client:
        api = Api(client, library_env, keys)
        for name in ("market", "land"):
            r = api.call("POST", f"/admin/organizations/{library_env.departments[name].id}/api-keys", "admin",
                         json={"roles": ["department"]})
            assert r.status_code == 201, r.text
            keys[name] = r.json()["key"]
        r = api.call("POST", "/admin/organizations", "admin",
                     json={"kind": "counter", "name": "政务服务中心一号窗口", "uscc": new_uscc()})
        assert r.status_code == 201, r.text
        r = api.call("POST", f"/admin/organizations/{r.json()['id']}/api-keys", "admin", json={"roles": ["counter"]})
        keys["counter"] = r.json()["key"]
        yield api
