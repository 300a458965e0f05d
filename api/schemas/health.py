"""Liveness (``/healthz``) and readiness (``/readyz``) answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from api.schemas.common import Model, UtcTime
from api.schemas.verification import CheckOut


class Alive(Model):
    """The process serves HTTP; no dependency is asked."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"status": "ok"}]})

    status: Literal["ok"]


class WorkerOut(Model):
    """A worker process as its last heartbeat describes it."""

    name: str = Field(description="kind@host:pid")
    kind: str = Field(description="anchoring | indexer")
    state: str = Field(description="running | failing | stopped")
    alive: bool = Field(description="it still beats (its last heartbeat is recent) and did not stop")
    beat_at: UtcTime
    failing_since: UtcTime | None = Field(None, description="since when its rounds fail")
    error_code: str | None = None
    error_message: str | None = None
    details: dict[str, Any] = Field(default_factory=dict, description="what its last round did (e.g. the cursor)")


class Readiness(Model):
    """200 when the database (with a current schema), the chain node (the recorded chain) and IPFS answer, else
    503 with the same body. ``workers`` reports the anchoring workers and indexers by their heartbeats; they do
    not change the status: an API that can serve keeps serving while a worker is down."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"status": "ok", "checks": [
        {"name": "database", "status": "VALID", "reason": "database_ok", "message": "", "data": {}},
        {"name": "migrations", "status": "VALID", "reason": "migrations_current", "message": "",
         "data": {"revision": "0008"}},
        {"name": "chain", "status": "VALID", "reason": "chain_ok", "message": "", "data": {"block_number": 42}},
        {"name": "ipfs", "status": "VALID", "reason": "ipfs_ok", "message": "", "data": {"version": "0.18.1"}},
    ], "workers": []}]})

    status: Literal["ok", "degraded"]
    checks: list[CheckOut]
    workers: list[WorkerOut]
