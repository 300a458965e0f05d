"""Lookups by bare identifier, written to the holders' access logs without slowing the verification.

A verification by bare identifier answers the holder masked (a counter's ``POST /counters/verify/identifier``, by
the route or the lean path; the public page of a certificate's QR code). The holder may see that it happened:
who (the counter and, for a named staff account, the staff member; for the public only "public", never an
address), when, and that the holder was shown masked. The verify path only adds to a dictionary under a lock; a
thread of the process writes what it holds every ``LOOKUP_FLUSH_S`` seconds in one transaction, one narrow row per
certificate and caller with how many lookups there were (``lookup_notes``; a loop over one certificate writes one
row per interval, not one per request), and once more when the process exits. The anchoring worker turns the notes
into access-log entries (:func:`record_noted_lookups`: the holder key, the salted record, its leaf, the entry and its
queued leaf), which it anchors as the other entries; a holder reading their log has it done first. Building the
entries in the API worker cost ~0.15 ms of its CPU per first verification, in a thread that held up the event loop.

A process killed with SIGKILL loses at most the last ``LOOKUP_FLUSH_S`` seconds of lookups; a failed write keeps
them for the next one, up to ``MAX_PENDING`` entries (while the database cannot be written, memory stays bounded:
lookups beyond are counted, dropped and reported in the log). Notes wait in the table while the access log cannot be
written (the platform has no audit writer yet), and are written once it can.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError

from ledger.app.background_writes import BackgroundWriter
from ledger.app.library import Library
from ledger.core.errors import CertledgerError
from ledger.holders.accesslog import Lookup, audit_writer, record_lookups
from ledger.storage.bulk import bulk_insert
from ledger.storage.lookup_notes import LOOKUP_NOTES
from ledger.storage.models import Organization, as_utc

log = logging.getLogger(__name__)

_Key = tuple[str, str | None, str | None]  # identifier, the counter's credit code (None: the public), staff id
MAX_PENDING = 100_000  # entries held for the next write (about 20 MB)
# A flush holds the worker's GIL while it builds its rows: a second's worth at a time (a thousand first verifications a
# worker) keeps each pause of its event loop short, where five seconds' worth made pauses of over a tenth of a second.
LOOKUP_FLUSH_S = 1.0
NOTES_PER_TRANSACTION = 5_000  # notes turned into entries in one transaction
# notes an anchoring worker's round turns into entries at most: a backlog (no worker ran for a while) is caught up
# over several rounds, with anchoring between them, and a holder's read takes one transaction's worth
NOTES_PER_ROUND = 50_000


class LookupBook(BackgroundWriter):
    """One library's lookups not yet written in this process."""

    thread_name = "lookup-log"

    def __init__(self, lib: Library, interval: float = LOOKUP_FLUSH_S) -> None:
        super().__init__(lib, interval)
        self._pending: dict[_Key, tuple[dt.datetime, int]] = {}  # first lookup, how many
        self._flushing = threading.Lock()  # one flush at a time: a caller's flush returns once a running one is written
        self._dropped = 0  # lookups not held since the last report, MAX_PENDING being reached

    def add(self, identifier: str, counter: Organization | None, staff_id: str | None) -> None:
        key = (identifier, counter.uscc if counter is not None else None, staff_id)
        now = dt.datetime.now(dt.UTC)
        with self._lock:
            first, count = self._pending.get(key, (now, 0))
            if count or len(self._pending) < MAX_PENDING:
                self._pending[key] = (first, count + 1)
            else:
                self._dropped += 1
            self._started()

    def flush(self, *, last: bool = False) -> int:
        """Write what is held in one transaction; returns how many entries were written. ``last``: at exit, when a
        failure can only be reported in one line."""
        with self._flushing:
            return self._write(last)

    def _write(self, last: bool) -> int:
        with self._lock:
            pending, self._pending = self._pending, {}
            dropped, self._dropped = self._dropped, 0
        if dropped:
            log.warning("lookups dropped: they could not be noted in the database for a while", extra={"count": dropped})
        if not pending:
            return 0
        rows = [{"identifier": ident, "counter_uscc": counter, "staff_id": staff, "first_at": first, "lookups": count}
                for (ident, counter, staff), (first, count) in pending.items()]
        try:
            with self.lib.engine.begin() as conn:
                bulk_insert(conn, LOOKUP_NOTES, rows)
            return len(rows)
        except SQLAlchemyError as exc:
            if last:
                log.warning("lookups lost at exit", extra={"count": len(rows), "error": str(exc).splitlines()[0]})
                return 0
            log.exception("lookups not noted in the database; kept for the next flush")
            with self._lock:
                for key, (first, count) in pending.items():
                    newer_first, newer = self._pending.get(key, (first, 0))
                    if newer or len(self._pending) < MAX_PENDING:
                        self._pending[key] = (min(first, newer_first), count + newer)
                    else:
                        self._dropped += count
            return 0


def book(lib: Library) -> LookupBook:
    """The process's book for ``lib`` (one per library)."""
    return LookupBook.of(lib)


def note_lookup(lib: Library, certificate: Mapping[str, Any], counter: Organization | None = None,
                staff_id: str | None = None) -> None:
    """Note one answer about ``certificate`` (a verification's summary) to ``counter`` (None: the public) if it
    showed the holder, masked: the hot path, in memory."""
    if "holder" in certificate and isinstance(certificate.get("identifier"), str):
        book(lib).add(certificate["identifier"], counter, staff_id)


def flush_lookups(lib: Library) -> int:
    """Write this process's lookups now and the oldest noted lookups into the access log (before a holder reads their
    log, so it shows the latest unless a backlog waits for the anchoring worker); how many entries were written. A
    failure is logged: the log is read as it stands."""
    LookupBook.flush_now(lib)
    try:
        return record_noted_lookups(lib, limit=NOTES_PER_TRANSACTION)
    except (SQLAlchemyError, CertledgerError):
        log.exception("noted lookups not written to the access log; the anchoring worker will")
        return 0


def record_noted_lookups(lib: Library, limit: int | None = None) -> int:
    """Turn noted lookups, oldest first, into access-log entries with their leaves queued, and delete the notes, one
    transaction per ``NOTES_PER_TRANSACTION``; until none is left (or ``limit`` notes were taken). Returns how many
    entries were written. Safe beside others doing it: each note is taken once (PostgreSQL skips rows another
    transaction locked; SQLite has one writer). Raises ServiceUnavailable ``audit_writer_missing`` with the notes kept
    while the platform has no audit writer."""
    with lib.engine.connect() as conn:  # a read first: with nothing noted, no write lock is taken (SQLite's is one)
        if conn.execute(select(LOOKUP_NOTES.c.id).limit(1)).first() is None:
            return 0
    taken = written = 0
    while limit is None or taken < limit:
        chunk = NOTES_PER_TRANSACTION if limit is None else min(NOTES_PER_TRANSACTION, limit - taken)
        with lib.sessions() as session, session.begin():
            conn = session.connection()
            c = LOOKUP_NOTES.c
            ids = select(c.id).order_by(c.id).limit(chunk).with_for_update(skip_locked=True).scalar_subquery()
            # the first statement writes: SQLite's write lock is taken before anything is read, so converters take turns
            notes = conn.execute(delete(LOOKUP_NOTES).where(c.id.in_(ids))
                                 .returning(c.id, c.identifier, c.counter_uscc, c.staff_id, c.first_at, c.lookups)).all()
            if not notes:
                return written
            writer = audit_writer(session)
            notes.sort()
            written += record_lookups(session, writer=writer, lookups=[
                Lookup(n.identifier, n.counter_uscc, n.staff_id, as_utc(n.first_at), n.lookups) for n in notes])
        taken += len(notes)
    return written
