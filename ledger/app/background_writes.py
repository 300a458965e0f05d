"""What a hot path notes in memory and a thread of the process writes later: counters' verifications, holders'
lookups. The hot path only adds under a lock; a daemon thread, started by the first note, calls ``flush`` every
``interval`` seconds, and every writer flushes once more (``last=True``) when the process exits. One writer per
library and kind in a process (:meth:`BackgroundWriter.of`).
"""

from __future__ import annotations

import atexit
import threading
import time
from typing import ClassVar, TypeVar

from ledger.app.library import Library

FLUSH_S = 5.0
_W = TypeVar("_W", bound="BackgroundWriter")
_writers: dict[tuple[type, int], BackgroundWriter] = {}
_registry_lock = threading.Lock()


class BackgroundWriter:
    """Subclasses hold their entries under ``self._lock``, call :meth:`_started` from their ``add`` with the lock
    held, and write in ``flush``."""

    thread_name: ClassVar[str] = "background-writer"

    def __init__(self, lib: Library, interval: float = FLUSH_S) -> None:
        self.lib = lib
        self.interval = interval
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def flush(self, *, last: bool = False) -> int:
        """Write what is held; how many entries. ``last``: at exit, when a failure can only be reported."""
        raise NotImplementedError

    def _started(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:  # a daemon thread: it ends with the process, whose exit flushes once more
            time.sleep(self.interval)
            self.flush()

    @classmethod
    def of(cls: type[_W], lib: Library) -> _W:
        """This process's writer of this kind for ``lib``."""
        key = (cls, id(lib))
        found = _writers.get(key)
        if found is None or found.lib is not lib:
            with _registry_lock:
                found = _writers.get(key)
                if found is None or found.lib is not lib:
                    found = _writers[key] = cls(lib)
        return found  # type: ignore[return-value]

    @classmethod
    def flush_now(cls, lib: Library) -> int:
        """Write this process's entries of this kind now, if it has a writer for ``lib``."""
        found = _writers.get((cls, id(lib)))
        return found.flush() if found is not None and found.lib is lib else 0


def _flush_all() -> None:
    for found in list(_writers.values()):
        found.flush(last=True)


atexit.register(_flush_all)
