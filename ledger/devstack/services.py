"""The production workers inside ``certledger up``: the anchoring worker and the indexer, as threads of its process.

They are the loops ``certledger worker`` and ``certledger indexer`` run (``PlanAnchorer.run_forever``,
``ledger.app.indexing.run_indexer``), over ``up``'s Library; the API beside them is the app ``certledger serve``
runs. :meth:`BackgroundWorkers.hold` stops both and waits for their rounds to end (before the local nodes stop,
or while the chain node is restarted); :meth:`BackgroundWorkers.start` starts them again.
"""

from __future__ import annotations

import threading

from ledger.app.indexing import run_indexer
from ledger.app.library import Library
from ledger.plan.monthly import PlanAnchorer

HOLD_TIMEOUT_S = 60.0


class BackgroundWorkers:
    def __init__(self, lib: Library) -> None:
        self.lib = lib
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=PlanAnchorer(self.lib).run_forever, args=(self._stop,), name="anchoring-worker",
                             daemon=True),
            threading.Thread(target=run_indexer, args=(self.lib, self._stop), name="indexer", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def hold(self) -> None:
        """Stop both loops and wait for their current rounds to end."""
        self._stop.set()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(HOLD_TIMEOUT_S)
        self._threads = []
