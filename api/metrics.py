"""``GET /metrics``: what this API counted (every worker's, in multiprocess mode) and what the database knows.

Counters and histograms come from ``ledger.app.metrics``; with ``PROMETHEUS_MULTIPROC_DIR`` set (``certledger
serve`` sets it) they are added up over every uvicorn worker. At each scrape :class:`LedgerCollector` reads
from the database what no single process knows: the anchoring queue (leaves waiting, the oldest one's age:
the anchoring lag; claimed batches not yet recorded; lookups noted and not yet in the access log), the indexer's lag behind the chain head, and each
worker's heartbeat (up, failing and for how long, heartbeat age). The workers serve no HTTP, so these gauges
are how Prometheus sees them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from ledger.app.library import Library
from ledger.storage import heartbeats
from ledger.storage.lookup_notes import LOOKUP_NOTES
from ledger.storage.models import OUTBOX, Batch, as_utc, utcnow

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST


class LedgerCollector(Collector):
    """Gauges read from the database at each scrape (see the module)."""

    def __init__(self, lib: Library) -> None:
        self.lib = lib

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._queue()
        yield from self._workers()

    def _queue(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("certledger_anchoring_queue_leaves", "leaves queued for anchoring, not yet in a "
                                  "batch", labels=["kind"])
        oldest = GaugeMetricFamily("certledger_anchoring_queue_oldest_seconds", "age of the oldest leaf queued for "
                                   "anchoring (the anchoring lag)", labels=["kind"])
        pending = GaugeMetricFamily("certledger_anchoring_pending_batches", "batches claimed but not yet recorded as "
                                    "anchored")
        notes = GaugeMetricFamily("certledger_lookup_notes_waiting", "lookups noted by the API, not yet written into "
                                  "the access log by the anchoring worker")
        notes_oldest = GaugeMetricFamily("certledger_lookup_notes_oldest_seconds", "age of the oldest noted lookup not "
                                         "yet in the access log")
        now = utcnow()
        c, n = OUTBOX.c, LOOKUP_NOTES.c
        with self.lib.sessions() as session:
            rows = session.execute(select(c.kind, func.count(), func.min(c.created_at))
                                   .where(c.batch_id.is_(None)).group_by(c.kind)).all()
            claimed = session.scalar(select(func.count()).select_from(Batch).where(Batch.status == "pending"))
            noted, first = session.execute(select(func.count(), func.min(n.first_at))).one()
        pending.add_metric([], claimed or 0)
        notes.add_metric([], noted)
        notes_oldest.add_metric([], (now - as_utc(first)).total_seconds() if first is not None else 0.0)
        for kind in ("certificate", "report", "access_log"):
            found = next((r for r in rows if r[0] == kind), None)
            depth.add_metric([kind], found[1] if found else 0)
            oldest.add_metric([kind], (now - as_utc(found[2])).total_seconds() if found else 0.0)
        yield from (depth, oldest, pending, notes, notes_oldest)

    def _workers(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("certledger_worker_up", "1 while a worker beats and its rounds go through, 0 while "
                               "they fail", labels=["kind", "worker"])
        failing = GaugeMetricFamily("certledger_worker_failing_seconds", "how long a worker's rounds have been "
                                    "failing (0 when they go through)", labels=["kind", "worker", "code"])
        age = GaugeMetricFamily("certledger_worker_heartbeat_age_seconds", "seconds since a worker's last heartbeat",
                                labels=["kind", "worker"])
        lag = GaugeMetricFamily("certledger_indexer_head_lag_blocks", "blocks between the chain head and the "
                                "indexer's cursor", labels=["worker"])
        now = utcnow()
        with self.lib.sessions() as session:
            rows = heartbeats.workers(session)
        for row in rows:
            if not heartbeats.is_alive(row, now):
                continue
            up.add_metric([row.kind, row.name], 1.0 if row.state == "running" else 0.0)
            since = (now - as_utc(row.failing_since)).total_seconds() if row.failing_since else 0.0
            failing.add_metric([row.kind, row.name, row.error_code or ""], since)
            age.add_metric([row.kind, row.name], (now - as_utc(row.beat_at)).total_seconds())
            head, cursor = row.details.get("head"), row.details.get("cursor")
            if row.kind == "indexer" and isinstance(head, int) and isinstance(cursor, int):
                lag.add_metric([row.name], max(0, head - cursor))
        yield from (up, failing, age, lag)


def render(lib: Library) -> bytes:
    """The exposition text: this process's (or every worker's) metrics, then the database's gauges."""
    if os.environ.get(MULTIPROC_ENV):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    known = CollectorRegistry()
    known.register(LedgerCollector(lib))
    return generate_latest(counted) + generate_latest(known)
