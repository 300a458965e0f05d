"""Probes and metrics for the operators: ``/healthz`` (alive), ``/readyz`` (can serve), ``/metrics`` (Prometheus).

``/healthz`` touches nothing: only a failing ``/healthz`` should restart the process. ``/readyz`` asks the
database (and whether its schema is this release's), the chain node (and whether it is still the chain the
database records: ``ledger.app.chain_check``) and the IPFS node, for the load balancers; it also shows the
workers' heartbeats, which do not change its status. None of the three is routed from outside.
"""

from __future__ import annotations

import threading

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api import metrics
from api.deps import LibraryDep
from api.schemas.health import Alive, Readiness, WorkerOut
from ledger.app.chain_check import ChainGuard
from ledger.app.library import Library
from ledger.core.checks import Check, Status
from ledger.core.errors import CertledgerError
from ledger.storage import heartbeats
from ledger.storage.engine import schema_revisions
from ledger.storage.faults import storage_fault

router = APIRouter(tags=["health"])
_guard_lock = threading.Lock()


def _database(lib: Library) -> list[Check]:
    """The database answers, and its schema is this release's."""
    try:
        with lib.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current, head = schema_revisions(lib.engine)
    except Exception as exc:  # noqa: BLE001 - any driver error means "unavailable" here
        fault = storage_fault(exc)
        code = fault.code if fault else "database_unavailable"
        return [Check("database", Status.ERROR, code, f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}")]
    ok = Check("database", Status.VALID, "database_ok", "the database answers", {"dialect": lib.engine.dialect.name})
    if current != head:
        return [ok, Check("migrations", Status.ERROR, "migrations_pending",
                         f"数据库结构不是本版本的 / the database schema is at {current}, this release needs {head}: "
                         "run certledger migrate", {"revision": current, "head": head})]
    return [ok, Check("migrations", Status.VALID, "migrations_current", "the schema is this release's",
                      {"revision": current})]


def _chain(request: Request, lib: Library) -> Check:
    """The chain guard the workers use: the whole check the first time (and after a failure), then a quick one."""
    state = request.app.state
    with _guard_lock:
        if getattr(state, "chain_guard", None) is None or state.chain_guard.lib is not lib:
            state.chain_guard = ChainGuard(lib)
    try:
        state.chain_guard.check()
        block = lib.chain.call_rpc(lambda: lib.chain.w3.eth.block_number)
    except CertledgerError as exc:
        return Check("chain", Status.ERROR, exc.code, exc.message, exc.details)
    return Check("chain", Status.VALID, "chain_ok", "the chain node answers and holds what the database records",
                 {"block_number": block, "contract": lib.require_contract().address})


def _workers(lib: Library) -> list[WorkerOut]:
    try:
        with lib.sessions() as session:
            rows = heartbeats.workers(session)
    except Exception:  # noqa: BLE001 - the database check reports why
        return []
    return [WorkerOut(name=r.name, kind=r.kind, state=r.state, alive=heartbeats.is_alive(r), beat_at=r.beat_at,
                      failing_since=r.failing_since, error_code=r.error_code, error_message=r.error_message,
                      details=r.details) for r in rows]


@router.get("/healthz", summary="Is this process alive? (asks no dependency)", response_model=Alive)
def healthz() -> Alive:
    return Alive(status="ok")


@router.get(
    "/readyz",
    summary="Can this process serve? Database and schema, chain node, IPFS node; and the workers' heartbeats",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "a dependency is down or not what the database records"}},
)
def readyz(request: Request, lib: LibraryDep) -> JSONResponse:
    checks = [*_database(lib), _chain(request, lib), lib.ipfs.health()]
    ok = all(c.status is Status.VALID for c in checks)
    body = Readiness(status="ok" if ok else "degraded", checks=[c.to_dict() for c in checks], workers=_workers(lib))
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ok else 503)


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics(lib: LibraryDep) -> Response:
    return Response(metrics.render(lib), media_type=metrics.CONTENT_TYPE)
