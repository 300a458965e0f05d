"""A full disk under ``certledger serve`` and ``certledger worker``: the API answers 503 (never 500), nothing answered
2xx is lost, a refused request stored nothing, and once there is room again the worker anchors everything.

The disk is real: a 64 MB tmpfs holding the home and the SQLite database, mounted in a user and mount namespace
of the two processes (``unshare -rm``, allowed to unprivileged users on Debian), filled by a file the test
writes through ``/proc/PID/root``. (A read-only remount is refused while the database is open for writing, so the
read-only case is a read-only database instead: tests/test_storage_faults.py.)
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from ledger.app.onboarding import create_api_key
from ledger.devstack.launchers import free_port
from tests.fixtures.cli import CLI, wait_until
from tests.fixtures.library import LibraryEnv, sample_request

LAUNCH = """set -e
mount -t tmpfs -o size=64m certledger-disk "$DISK"
cp -a "$PREP/." "$DISK/"
"$CLI" worker --interval 0.2 >> "$LOGS/worker.log" 2>&1 &
exec "$CLI" serve --port "$PORT" --log-level warning >> "$LOGS/serve.log" 2>&1
"""


def _namespaces_allowed() -> str | None:
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, text=True, timeout=30)
    return None if probe.returncode == 0 else f"user namespaces are not allowed here: {probe.stderr.strip()}"


@pytest.fixture
def sqlite_env(library_env: LibraryEnv) -> LibraryEnv:
    if not library_env.env["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("the disk under test holds a SQLite database; PostgreSQL's own disk is the server's")
    reason = _namespaces_allowed()
    if reason:
        pytest.skip(reason)
    return library_env


class Confined:
    """serve and worker in their namespace, over a copy of the library's home and database on the small disk."""

    def __init__(self, env: LibraryEnv, tmp: Path) -> None:
        prep, self.disk, self.logs = tmp / "prep", tmp / "disk", tmp / "logs"
        for folder in (self.disk, self.logs):
            folder.mkdir()
        shutil.copytree(env.lib.settings.home, prep, ignore=shutil.ignore_patterns("*.db*"))
        source = sqlite3.connect(make_url(env.env["DATABASE_URL"]).database)
        with sqlite3.connect(prep / "certledger.db") as copy:  # a consistent copy, through SQLite's backup API
            source.backup(copy)
        source.close()
        self.port = free_port()
        settings = {k: v for k, v in env.env.items() if k != "DATABASE_URL"}  # SQLite in the home, on the disk
        self.proc = subprocess.Popen(
            ["unshare", "-rm", "bash", "-c", LAUNCH], start_new_session=True,
            env={**os.environ, **settings, "CERTLEDGER_HOME": str(self.disk), "CERTLEDGER_BATCH_MAX_AGE_S": "0.3",
                 "DISK": str(self.disk), "PREP": str(prep), "LOGS": str(self.logs), "CLI": CLI,
                 "PORT": str(self.port)})
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)
        wait_until(self._ready, "serve answering /readyz", timeout=90, procs=[self.proc],
                   logs=[self.logs / "serve.log", self.logs / "worker.log"])

    def _ready(self) -> bool:
        try:
            return self.http.get("/readyz").status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def inside(self) -> Path:
        """The disk as the namespace sees it (through the server's root)."""
        return Path(f"/proc/{self.proc.pid}/root{self.disk}")

    def fill(self) -> None:
        with (self.inside / "filler").open("wb") as f:
            try:
                while True:
                    f.write(b"\0" * (1 << 20))
                    f.flush()
            except OSError as exc:
                assert exc.errno == 28, exc  # ENOSPC: the disk is full

    def close(self) -> None:
        self.http.close()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


@pytest.fixture
def department_key(sqlite_env: LibraryEnv) -> str:
    return create_api_key(sqlite_env.lib, sqlite_env.departments["market"].id, ["department"])


@pytest.fixture
def confined(sqlite_env: LibraryEnv, department_key: str, tmp_path: Path) -> Iterator[Confined]:
    """The copy on the small disk is taken after the department key was made."""
    box = Confined(sqlite_env, tmp_path)
    try:
        yield box
    finally:
        box.close()


def _issue_until_refused(box: Confined, key: str, requests: list[dict[str, Any]]) -> tuple[list[str], dict[str, Any]]:
    """Issue one request at a time until the API refuses one: the identifiers it issued, and the refused request."""
    issued = []
    for request in requests:
        r = box.http.post("/departments/certificates", headers={"X-API-Key": key}, json=request)
        assert r.status_code in (201, 503), r.text  # never 500
        if r.status_code == 503:
            assert r.headers["Retry-After"] and r.json()["error"]["code"].startswith("storage_"), r.text
            return issued, request
        issued.append(r.json()["identifier"])
    raise AssertionError(f"{len(requests)} certificates issued on a full disk")


def _anchored(box: Confined, key: str, identifiers: list[str]) -> bool:
    for ident in identifiers:
        r = box.http.get(f"/departments/certificates/{ident}", headers={"X-API-Key": key})
        if r.status_code != 200 or r.json()["anchor"]["status"] != "anchored":
            return False
    return True


def _issue(box: Confined, key: str, request: dict[str, Any]) -> str:
    r = box.http.post("/departments/certificates", headers={"X-API-Key": key}, json=request)
    assert r.status_code == 201, r.text
    return r.json()["identifier"]


def test_a_full_disk_answers_503_and_loses_nothing(sqlite_env: LibraryEnv, department_key: str,
                                                               confined: Confined) -> None:
    box, key = confined, department_key
    licence = sqlite_env.types["business_licence"]
    kept = [_issue(box, key, sample_request(licence)) for _ in range(3)]
    worker_log, serve_log = box.logs / "worker.log", box.logs / "serve.log"

    box.fill()
    more, refused = _issue_until_refused(box, key, [sample_request(licence) for _ in range(2000)])
    kept += more
    wait_until(lambda: '"code": "storage_full"' in worker_log.read_text(), "the worker logging storage_full",
               timeout=60, procs=[box.proc], logs=[worker_log])
    (box.inside / "filler").unlink()
    kept.append(_issue(box, key, refused))  # the refused request stored nothing: its number is still free

    wait_until(lambda: _anchored(box, key, kept), "every certificate answered 201 anchored", timeout=120,
               procs=[box.proc], logs=[worker_log, serve_log])
    # what met the full disk (a round claiming a batch, the heartbeat, or both: which comes first is timing) said so
    # with its code, and says it went through again
    recoveries = {'"message": "worker round failed"': '"message": "worker recovered"',
                  '"message": "heartbeat not written"': '"message": "heartbeat written again"'}
    met = [failed for failed in recoveries if failed in worker_log.read_text()]
    assert met, worker_log.read_text()[-3000:]
    wait_until(lambda: all(recoveries[failed] in worker_log.read_text() for failed in met), "the worker recovering",
               timeout=30, procs=[box.proc], logs=[worker_log])
    assert "internal_error" not in serve_log.read_text() and "Traceback" not in worker_log.read_text()
