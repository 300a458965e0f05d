"""The loop of a long-running worker (the anchoring worker, the indexer): it outlives every error.

Each round first checks that the chain node is the chain the database knows (``ledger.app.chain_check``),
then does one step. An error of any kind - the chain node gone or replaced, the database down, a full or
read-only disk, a bug - is logged as one JSON line (its code, since when rounds fail, when the next try
comes), and the worker waits, doubling the wait from its interval up to :data:`MAX_BACKOFF_S` (with jitter,
so workers that failed together do not retry together), and tries again. Nothing a round did half-way is
lost: the outbox and the indexer's cursor make every step safe to repeat.

A heartbeat thread writes the worker's state every :data:`HEARTBEAT_S` seconds (``ledger.storage.heartbeats``)
even while a round is blocked, for instance waiting for a receipt: ``/readyz`` and ``/metrics`` read what is
wrong and since when. When ``stop`` is set (SIGTERM) the current round finishes, the loop leaves and the last
heartbeat says ``stopped``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ledger.app.chain_check import ChainGuard
from ledger.app.library import Library
from ledger.core.errors import CertledgerError
from ledger.storage import heartbeats
from ledger.storage.faults import storage_fault
from ledger.storage.models import utcnow

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0
MAX_BACKOFF_S = 60.0


@dataclass(frozen=True)
class Failure:
    code: str
    message: str
    since: dt.datetime
    rounds: int


def describe(exc: BaseException) -> tuple[str, str, bool]:
    """(code, message, unexpected) of a failed round: certledger's own errors and storage faults keep their code;
    anything else is ``unexpected_error`` (logged with its traceback)."""
    if isinstance(exc, CertledgerError):
        return exc.code, exc.message, False
    fault = storage_fault(exc)
    if fault is not None:
        return fault.code, f"{fault.message} ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})", False
    return "unexpected_error", f"意外错误 / unexpected error: {type(exc).__name__}: {exc}", True


def backoff(interval: float, failures: int, cap: float = MAX_BACKOFF_S) -> float:
    """Seconds to wait after ``failures`` failed rounds in a row: doubling from ``interval``, at most ``cap``."""
    return min(cap, interval * 2 ** min(failures - 1, 16)) * random.uniform(0.8, 1.2)


class WorkerLoop:
    """Runs ``step`` (which returns what the heartbeat should show, e.g. a cursor) round after round until stopped."""

    def __init__(self, lib: Library, kind: str, step: Callable[[], dict[str, Any]], *, guard: ChainGuard | None,
                 interval: float = 1.0, max_backoff: float = MAX_BACKOFF_S) -> None:
        self.lib, self.kind, self.step, self.guard = lib, kind, step, guard
        self.interval, self.max_backoff = interval, max_backoff
        self.name = f"{kind}@{socket.gethostname()}:{os.getpid()}"
        self.started_at = utcnow()
        self.failure: Failure | None = None
        self.details: dict[str, Any] = {}
        self._beat_failed: str | None = None  # the code of the heartbeat's write failure, until one succeeds

    def run(self, stop: threading.Event) -> None:
        done = threading.Event()
        beater = threading.Thread(target=self._beat_until, args=(done,), name=f"{self.kind}-heartbeat", daemon=True)
        beater.start()
        log.info("worker started", extra={"worker": self.name, "kind": self.kind})
        try:
            while not stop.is_set():
                stop.wait(self._round())
        finally:
            done.set()
            beater.join(HEARTBEAT_S + 5)
            self._beat("stopped")
            log.info("worker stopped", extra={"worker": self.name, "kind": self.kind})

    def _round(self) -> float:
        """One round; returns how long to wait before the next."""
        try:
            if self.guard is not None:
                self.guard.check()
            self.details = self.step() or {}
        except Exception as exc:  # noqa: BLE001 - a worker survives every error; it is logged and retried
            return self._failed(exc)
        if self.failure is not None:
            log.info("worker recovered", extra={"worker": self.name, "kind": self.kind, "code": self.failure.code,
                                                "failing_since": self.failure.since.isoformat(),
                                                "failed_rounds": self.failure.rounds})
            self.failure = None
            self._beat("running")
        return self.interval

    def _failed(self, exc: Exception) -> float:
        code, message, unexpected = describe(exc)
        before = self.failure
        rounds = before.rounds + 1 if before else 1
        self.failure = Failure(code, message, before.since if before and before.code == code else utcnow(), rounds)
        wait = backoff(self.interval, rounds, self.max_backoff)
        log.error("worker round failed", exc_info=exc if unexpected else None,
                  extra={"worker": self.name, "kind": self.kind, "code": code, "error": message,
                         "failing_since": self.failure.since.isoformat(), "failed_rounds": rounds,
                         "retry_in_s": round(wait, 1)})
        if before is None or before.code != code:
            self._beat("failing")
        return wait

    def _beat_until(self, done: threading.Event) -> None:
        while True:
            self._beat("failing" if self.failure else "running")
            if done.wait(HEARTBEAT_S):
                return

    def _beat(self, state: str) -> None:
        """Write the heartbeat; a database that cannot take it is logged once, not fatal."""
        failure = self.failure
        beat = heartbeats.Beat(self.name, self.kind, socket.gethostname(), os.getpid(), self.started_at, state,
                               failure.since if failure else None, failure.code if failure else None,
                               failure.message if failure else None, dict(self.details))
        try:
            with self.lib.sessions() as session, session.begin():
                heartbeats.record(session, beat)
                if state == "stopped":
                    heartbeats.forget_gone(session)
        except Exception as exc:  # noqa: BLE001 - the heartbeat reports; it must never stop the worker
            code, message, _ = describe(exc)
            if self._beat_failed is None:
                log.warning("heartbeat not written", extra={"worker": self.name, "code": code, "error": message})
            self._beat_failed = code
            return
        if self._beat_failed is not None:
            log.info("heartbeat written again", extra={"worker": self.name, "code": self._beat_failed})
        self._beat_failed = None
