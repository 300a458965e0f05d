"""Worker heartbeats: each worker process upserts its row every few seconds; readiness and metrics read them.

A row is a worker's own account of itself: ``running`` (its last round went through), ``failing`` (its rounds
fail: ``error_code``, ``error_message`` and ``failing_since`` say how and since when) or ``stopped`` (it left on
a signal). A process killed outright leaves its row behind, which then goes stale: a beat older than
:data:`STALE_AFTER_S` means the process is gone. Rows of workers gone for a day are removed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ledger.storage.models import WorkerHeartbeat, as_utc, utcnow

STALE_AFTER_S = 30.0
FORGET_AFTER = dt.timedelta(days=1)


@dataclass(frozen=True)
class Beat:
    """What a worker says about itself in one heartbeat."""

    name: str
    kind: str
    host: str
    pid: int
    started_at: dt.datetime
    state: str
    failing_since: dt.datetime | None = None
    error_code: str | None = None
    error_message: str | None = None
    details: dict[str, Any] | None = None


def record(session: Session, beat: Beat) -> None:
    """Upsert the worker's row (one statement; the caller commits)."""
    values = {**beat.__dict__, "details": beat.details or {}, "beat_at": utcnow()}
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(WorkerHeartbeat.__table__).values(**values)
    session.execute(stmt.on_conflict_do_update(index_elements=["name"],
                                               set_={k: v for k, v in values.items() if k != "name"}))


def forget_gone(session: Session) -> None:
    """Remove the rows of workers that have not beaten for a day (the caller commits)."""
    session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_at < utcnow() - FORGET_AFTER))


def is_alive(row: WorkerHeartbeat, now: dt.datetime | None = None) -> bool:
    """The process still beats (and did not say it stopped)."""
    now = now or utcnow()
    return row.state != "stopped" and (now - as_utc(row.beat_at)).total_seconds() <= STALE_AFTER_S


def workers(session: Session) -> list[WorkerHeartbeat]:
    """Every known worker row, by kind then name."""
    return list(session.execute(select(WorkerHeartbeat).order_by(WorkerHeartbeat.kind, WorkerHeartbeat.name))
                .scalars())
