"""An import's chunks prepared on the library's worker processes, a few chunks ahead of the inserts.

The per-row work (checks, identifiers, canonical records, seals, leaves, holder keys:
:func:`ledger.issue.import_chunks.prepare_chunk`) is pure Python and would hold one core; here every core
prepares chunks while this process inserts them, each chunk in its own transaction and in file order. A
worker opens its own library on the same database (``connect_url``) and key store once and keeps it.

What crosses between processes is one chunk of rows out and its prepared rows back. A small file is
prepared in this process: spawning the workers costs more than it saves (:data:`PARALLEL_FROM_ROWS`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from typing import Any

from sqlalchemy import select

from ledger.app.config import Settings
from ledger.app.library import Library
from ledger.issue.import_chunks import Chunk, prepare_chunk
from ledger.issue.import_files import Columns, RawRow
from ledger.storage.engine import connect_url, make_engine
from ledger.storage.models import CertificateType, Organization

# below this many rows a file is prepared in this process
PARALLEL_FROM_ROWS = 20_000
_opened: dict[str, tuple[Library, dict[str, CertificateType]]] = {}  # in a worker: its library per database


def _prepare_in_worker(settings: Settings, db_url: str, org_id: int, type_code: str, cols: Columns,
                       rows: list[RawRow], known_items: set[str]) -> Chunk:
    """A worker's task: :func:`prepare_chunk` with the worker's own library (opened on its first task)."""
    if db_url not in _opened:
        _opened[db_url] = (Library.from_settings(settings, engine=make_engine(db_url)), {})
    lib, types = _opened[db_url]
    if type_code not in types:
        with lib.sessions() as session:
            types[type_code] = session.scalar(select(CertificateType).where(CertificateType.code == type_code))
    return prepare_chunk(lib, lib.organization(org_id), types[type_code], cols, rows, known_items)


def prepared_chunks(lib: Library, org: Organization, ctype: CertificateType, cols: Columns,
                    parts: Iterable[list[RawRow]], known_items: set[str], *,
                    parallel: bool) -> Iterator[tuple[list[RawRow], Chunk]]:
    """Each chunk of rows with what it comes to, in order; ``parallel``: prepared on the worker processes,
    at most two chunks per worker ahead of the caller (memory stays flat however long the file)."""
    if not parallel or lib.workers.workers < 2:
        for part in parts:
            yield part, prepare_chunk(lib, org, ctype, cols, part, known_items)
        return
    db_url = connect_url(lib.engine)
    pending: deque[tuple[list[RawRow], Future[Any]]] = deque()
    try:
        for part in parts:
            pending.append((part, lib.workers.submit(_prepare_in_worker, lib.settings, db_url, org.id, ctype.code,
                                                     cols, part, known_items)))
            if len(pending) > 2 * lib.workers.workers:
                part, future = pending.popleft()
                yield part, future.result()
        while pending:
            part, future = pending.popleft()
            yield part, future.result()
    finally:  # stopped early (a refused file, Ctrl-C): what was not taken is not needed
        for _, future in pending:
            future.cancel()
