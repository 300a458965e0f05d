"""``GET /healthz``: does this worker reach its database, chain node and IPFS node?"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import LibraryDep
from api.schemas.admin import Health
from ledger.app.library import Library
from ledger.core.checks import Check, Status
from ledger.core.errors import CertledgerError

router = APIRouter(tags=["health"])


def _database(lib: Library) -> Check:
    try:
        with lib.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "unreachable" here
        return Check("database", Status.ERROR, "database_unavailable", f"{exc.__class__.__name__}: {exc}")
    return Check("database", Status.VALID, "database_ok", "the database answers", {"dialect": lib.engine.dialect.name})


def _chain(lib: Library) -> Check:
    try:
        block = lib.chain.call_rpc(lambda: lib.chain.w3.eth.block_number)
    except CertledgerError as exc:
        return Check("chain", Status.ERROR, exc.code, exc.message)
    data = {"block_number": block, "contract": lib.contract.address if lib.contract else None}
    if lib.contract is None:
        return Check("chain", Status.ERROR, "contract_not_deployed", "the chain answers but no contract is configured", data)
    return Check("chain", Status.VALID, "chain_ok", "the chain node answers", data)


@router.get(
    "/healthz",
    summary="Check the worker's dependencies",
    response_model=Health,
    responses={503: {"model": Health, "description": "a dependency is down"}},
)
def healthz(lib: LibraryDep) -> JSONResponse:
    checks = [_database(lib), _chain(lib), lib.ipfs.health()]
    ok = all(c.status is Status.VALID for c in checks)
    body = Health(status="ok" if ok else "degraded", checks=[c.to_dict() for c in checks])
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ok else 503)
