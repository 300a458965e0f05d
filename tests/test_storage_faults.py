"""A read-only database, as a read-only file system or a PostgreSQL standby gives one: the API answers 503
``storage_read_only`` (never 500) and stores nothing, reads still work, and the anchoring worker's round fails with
that code, to be retried, instead of dying. Real faults: SQLite opened read-only, PostgreSQL sessions in
read-only transactions (SQLSTATE 25006, what a standby answers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from api.app import create_app
from ledger.app.library import Library
from ledger.app.onboarding import create_api_key
from ledger.app.worker_loop import WorkerLoop
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import issue_many
from ledger.storage.engine import connect_url, make_engine
from ledger.storage.faults import storage_fault
from ledger.storage.models import Certificate
from tests.fixtures.library import LibraryEnv, sample_request


def _read_only_engine(lib: Library) -> Engine:
    url = make_url(connect_url(lib.engine))
    if url.get_backend_name() == "sqlite":
        return make_engine(f"sqlite:///file:{Path(url.database)}?mode=ro&uri=true")
    options = f"{url.query.get('options', '')} -cdefault_transaction_read_only=on".strip()
    return make_engine(url.update_query_dict({"options": options}).render_as_string(hide_password=False))


@pytest.fixture
def read_only(library_env: LibraryEnv) -> Library:
    lib = library_env.lib
    return Library(lib.settings, _read_only_engine(lib), lib.chain, lib.contract, lib.ipfs, lib.keyring,
                   lib.seal_keystore)


def _certificates(lib: Library) -> int:
    with lib.sessions() as session:
        return session.scalar(select(func.count()).select_from(Certificate))


def test_a_read_only_database_answers_503_and_stores_nothing(library_env: LibraryEnv, read_only: Library) -> None:
    env = library_env
    issued = issue_many(env.lib, env.departments["market"], [sample_request(env.types["business_licence"])])[0]
    key = create_api_key(env.lib, env.departments["market"].id, ["department"])
    before = _certificates(env.lib)
    with TestClient(create_app(read_only)) as client:
        headers = {"X-API-Key": key}
        r = client.post("/departments/certificates", headers=headers,
                        json=sample_request(env.types["business_licence"]))
        assert r.status_code == 503, r.text
        error = r.json()["error"]
        assert error["code"] == "storage_read_only" and "只读" in error["message"] and "read-only" in error["message"]
        assert r.headers["Retry-After"]
        assert client.get(f"/departments/certificates/{issued.identifier}", headers=headers).status_code == 200
    assert _certificates(env.lib) == before


def test_the_worker_round_fails_with_the_code_and_is_retried(library_env: LibraryEnv, read_only: Library) -> None:
    env = library_env
    issue_many(env.lib, env.departments["land"], [sample_request(env.types["real_estate"])])
    loop = WorkerLoop(read_only, "anchoring", Anchorer(read_only, max_age=0)._round, guard=None, interval=0.5)
    wait = loop._round()
    assert loop.failure is not None and loop.failure.code == "storage_read_only", loop.failure
    assert 0.4 <= wait <= 0.6 and loop._round() >= 0.8, "it backs off, doubling"
    assert loop.failure.rounds == 2
    Anchorer(env.lib).run_once(force=True)  # the writable database anchors what waited


def test_what_is_not_a_storage_fault_stays_a_bug() -> None:
    assert storage_fault(ValueError("x")) is None
    assert storage_fault(FileNotFoundError(2, "No such file or directory", "/x")) is None
    assert storage_fault(OSError(28, "No space left on device")).code == "storage_full"
    assert storage_fault(OSError(30, "Read-only file system")).code == "storage_read_only"
