"""Keep the local nodes running while ``certledger up`` runs, and leave none behind when it is killed.

Each node (the chain, IPFS) has a pidfile under ``HOME/run/``: a node left running by an ``up`` that was
killed with -9 (the nodes run in their own sessions, so they outlive it) is stopped by the next start
(:func:`ledger.devstack.launchers.stop_orphan`). A node that dies while ``up`` runs is started again
with its state; ``on_down`` and ``on_up`` let ``up`` hold its work meanwhile and check the node before
it goes on (the chain may come back without its newest blocks: ``ledger.app.chain_check``).
"""

from __future__ import annotations

import logging
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ledger.core.errors import CertledgerError, ServiceUnavailable
from ledger.devstack.launchers import stop

log = logging.getLogger(__name__)

RESTART_ATTEMPTS = 5


@dataclass
class Node:
    """A local node: how to start it, its pidfile, and what its command line or environment names
    (its state folder), so a recorded pid is known to be this node and not a reused number."""

    name: str
    start: Callable[[], subprocess.Popen[bytes]]
    pidfile: Path
    marker: str
    proc: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        self.proc = self.start()
        self.pidfile.parent.mkdir(parents=True, exist_ok=True)
        self.pidfile.write_text(str(self.proc.pid), encoding="ascii")

    def shut(self) -> None:
        if self.proc is not None:
            stop(self.proc)
        self.pidfile.unlink(missing_ok=True)


class Supervisor:
    """A thread that restarts a node that died, up to ``RESTART_ATTEMPTS`` tries in a row.

    ``on_down(name)`` runs before the restart, ``on_up(name)`` after it; a CertledgerError from either, or
    a node that cannot be started again, ends supervision: it is kept in ``failure`` and given to
    ``on_failure``, which should stop ``up`` (and name the error).
    """

    def __init__(
        self,
        nodes: list[Node],
        *,
        on_down: Callable[[str], None],
        on_up: Callable[[str], None],
        on_failure: Callable[[CertledgerError], None],
        interval: float = 0.5,
    ) -> None:
        self.nodes = nodes
        self.on_down, self.on_up, self.on_failure = on_down, on_up, on_failure
        self.interval = interval
        self.failure: CertledgerError | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="node-supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop watching (before the nodes are stopped on purpose)."""
        self._stopping.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            for node in self.nodes:
                if node.proc is None or node.proc.poll() is None or self._stopping.is_set():
                    continue
                log.error("local node died; starting it again",
                          extra={"node": node.name, "pid": node.proc.pid, "exit_code": node.proc.returncode})
                try:
                    self.on_down(node.name)
                    self._restart(node)
                    self.on_up(node.name)
                except CertledgerError as exc:
                    self.failure = exc
                    self.on_failure(exc)
                    return

    def _restart(self, node: Node) -> None:
        last: ServiceUnavailable | None = None
        for attempt in range(1, RESTART_ATTEMPTS + 1):
            try:
                node.launch()
            except ServiceUnavailable as exc:
                last = exc
                log.warning("local node did not start again", extra={"node": node.name, "attempt": attempt,
                                                                     "code": exc.code, "error": exc.message})
                if self._stopping.wait(attempt):
                    return
                continue
            log.info("local node started again", extra={"node": node.name, "pid": node.proc.pid if node.proc else None})
            return
        raise ServiceUnavailable(
            f"{node.name}_node_down",
            f"本地{node.name}节点反复启动失败。The local {node.name} node died and did not start again in "
            f"{RESTART_ATTEMPTS} tries ({last.message if last else 'unknown'}): see its log under the stack's home",
        )
