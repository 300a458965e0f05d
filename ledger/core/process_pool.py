"""One lazily started pool of worker processes per library, for CPU work that would otherwise hold one core.

Sealing PDFs and preparing an import's chunks are pure CPU work in Python; a process per core lets a
2-core machine use both. The pool is spawned, not forked (an API worker's threads must not be forked),
and started only when first used, so a worker that never seals a PDF or imports a file never pays for it.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any


class ProcessPool:
    """``workers`` spawned processes (default: one per core), started on the first :meth:`submit`."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: Executor | None = None
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``fn(*args)`` in a worker (``fn`` and the arguments must pickle: a module-level function)."""
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
            return self._pool.submit(fn, *args)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
                self._pool = None
