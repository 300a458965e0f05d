"""Counters' verifications, counted per counter and day without slowing the verification itself.

The verify path only adds one to a dictionary under a lock (well under a microsecond); a thread of the process
writes what it holds every ``FLUSH_S`` seconds in one transaction (``ledger.storage.tallies``), and once more when
the process exits. So the count table lags by at most ``FLUSH_S`` seconds, and a process killed with SIGKILL loses
at most the last ``FLUSH_S`` seconds of counts (the verifications themselves are unaffected). A failed write keeps
its counts for the next one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

from sqlalchemy.exc import SQLAlchemyError

from ledger.app.background_writes import FLUSH_S, BackgroundWriter
from ledger.app.library import Library
from ledger.storage.engine import writing
from ledger.storage.models import Organization
from ledger.storage.tallies import china_day, count_verifications

log = logging.getLogger(__name__)


class VerificationTally(BackgroundWriter):
    """The verifications of one library's process not yet written."""

    thread_name = "verification-tally"

    def __init__(self, lib: Library, interval: float = FLUSH_S) -> None:
        super().__init__(lib, interval)
        self._pending: Counter[tuple[int, dt.date]] = Counter()

    def add(self, org_id: int, at: dt.datetime | None = None) -> None:
        key = (org_id, china_day(at or dt.datetime.now(dt.UTC)))
        with self._lock:
            self._pending[key] += 1
            self._started()

    def flush(self, *, last: bool = False) -> int:
        """Write what is held in one transaction; returns how many verifications were written. ``last``: at exit,
        when a failure can only be reported in one line (the database may be gone)."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
        if not pending:
            return 0
        try:
            with writing(self.lib.engine) as conn:
                count_verifications(conn, pending)
        except SQLAlchemyError as exc:
            if last:
                log.warning("counter verifications lost at exit", extra={"count": sum(pending.values()),
                                                                         "error": str(exc).splitlines()[0]})
                return 0
            log.exception("counter verifications not written; kept for the next flush")
            with self._lock:
                self._pending.update(pending)
            return 0
        return sum(pending.values())


def tally(lib: Library) -> VerificationTally:
    """The process's tally for ``lib`` (one per library)."""
    return VerificationTally.of(lib)


def count_verification(lib: Library, org: Organization) -> None:
    """Count one verification (or intake) by ``org`` if it is a counter: the hot path, in memory only."""
    if org.kind == "counter":
        tally(lib).add(org.id)


def flush_verifications(lib: Library) -> int:
    """Write this process's counts now (before a report, so it shows this process's latest)."""
    return VerificationTally.flush_now(lib)
