"""Start the local infrastructure processes (the chain node: Anvil or Hardhat; the IPFS node), wait until
they answer, stop them, and stop what a killed ``certledger up`` left running.

Used by ``certledger up`` and by the test fixtures, so development and tests run the same stack. Every
node runs in its own session (a Ctrl-C meant for a test runner does not reach it), so ``stop`` signals
its process group.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable

import httpx

from ledger.app.config import REPO_ROOT
from ledger.core.errors import ServiceUnavailable

log = logging.getLogger(__name__)

HARDHAT_DIR = REPO_ROOT / "hardhat-local"
# The local EVMs: Anvil keeps its chain on disk (the default), Hardhat in memory (a second EVM for tests).
CHAINS = ("anvil", "hardhat")
# Anvil writes its whole state when it exits on SIGTERM: a SIGKILL during that write costs the session.
STOP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(ready: Callable[[], bool], proc: subprocess.Popen[bytes], what: str, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceUnavailable(
                f"{what}_exited", f"the {what} exited with code {proc.returncode}; see {log_path}"
            )
        try:
            if ready():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    stop(proc)
    raise ServiceUnavailable(f"{what}_timeout", f"the {what} did not answer within {timeout:.0f}s; see {log_path}")


def start_process(cmd: list[str], log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        return subprocess.Popen(
            cmd, cwd=HARDHAT_DIR, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
            start_new_session=True,
        )


def stop(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the process group and wait for the exit (Anvil writes its state then); SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        log.error("process ignored SIGTERM; killing it", extra={"pid": proc.pid, "timeout": timeout})
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)
    except ProcessLookupError:
        pass


def _process_mentions(pid: int, marker: str) -> bool:
    """Whether process ``pid`` runs with ``marker`` in its command line or environment (not another program
    that reuses a recorded pid)."""
    try:
        seen = [Path(f"/proc/{pid}/{part}").read_bytes() for part in ("cmdline", "environ")]
    except OSError:
        return False
    return any(marker.encode() in blob for blob in seen)


def stop_orphan(pidfile: Path, marker: str, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop the node recorded in ``pidfile`` if it still runs (its ``up`` was killed with -9): SIGTERM, wait
    for it to exit, SIGKILL after ``timeout``. Returns whether there was one."""
    try:
        pid = int(pidfile.read_text(encoding="ascii"))
    except (OSError, ValueError):
        return False
    found = _process_mentions(pid, marker)
    if found:
        log.warning("stopping a node left running by an earlier run", extra={"pid": pid, "pidfile": str(pidfile)})
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and _process_mentions(pid, marker):
                time.sleep(0.05)
            if not _process_mentions(pid, marker):
                break
    pidfile.unlink(missing_ok=True)
    return found


def rpc_ready(url: str) -> bool:
    r = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1.0)
    return r.status_code == 200 and "result" in r.json()


def start_chain_node(
    kind: str,
    port: int,
    state_dir: Path,
    *,
    block_time: float | None = None,
    state_interval: float | None = None,
    timeout: float = 60.0,
) -> subprocess.Popen[bytes]:
    """Start a local chain node on 127.0.0.1:port and return once it answers JSON-RPC.

    ``anvil`` (hardhat-local/anvil.sh) keeps its chain in ``state_dir`` across restarts, written every
    ``state_interval`` seconds (default 1) and when it stops; ``hardhat`` (node.sh) keeps it in memory.
    ``block_time`` (seconds) mines on a timer instead of one block per transaction. Stop it with
    :func:`stop` and let it exit: Anvil writes its state on SIGTERM.
    """
    if kind not in CHAINS:
        raise ServiceUnavailable("chain_kind_unknown", f"no local chain {kind!r}; choose one of {', '.join(CHAINS)}")
    state_dir = Path(state_dir).resolve()
    if kind == "anvil":
        if not any((HARDHAT_DIR / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil")):
            raise ServiceUnavailable("anvil_missing", "Anvil is not installed: run ./dev setup")
        cmd = [str(HARDHAT_DIR / "anvil.sh"), str(state_dir), str(port)]
        env = {"ANVIL_BLOCK_TIME": str(block_time)} if block_time else {}
        if state_interval:
            env["ANVIL_STATE_INTERVAL"] = str(state_interval)
        log_path = state_dir / "anvil.log"
    else:
        if not (HARDHAT_DIR / "node_modules" / ".bin" / "hardhat").exists():
            raise ServiceUnavailable("hardhat_missing", "Hardhat is not installed: run ./dev setup")
        cmd = [str(HARDHAT_DIR / "node.sh"), str(port)]
        env = {"HARDHAT_STATE_DIR": str(state_dir),
               "HARDHAT_MINING_INTERVAL_MS": str(int((block_time or 0) * 1000))}
        log_path = state_dir / "hardhat.log"
    state_dir.mkdir(parents=True, exist_ok=True)
    proc = start_process(cmd, log_path, env)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: rpc_ready(url), proc, f"{kind}_node", log_path, timeout)
    log.info("chain node ready", extra={"chain": kind, "url": url, "pid": proc.pid})
    return proc


def start_local_ipfs(
    repo_dir: Path,
    api_port: int,
    gateway_port: int,
    rpc_port: int | None = None,
    log_path: Path | None = None,
    timeout: float = 60.0,
    *,
    owned: bool = False,
) -> subprocess.Popen[bytes]:
    """Start the local js-ipfs node (hardhat-local/ipfs.sh) and return once its RPC API answers.

    ``owned``: the caller knows no other node uses this repo (``up`` holds its home), so a ``repo.lock`` left
    by a node killed with -9 is removed (js-ipfs would refuse the repo for 20 s). Stop the node with
    ``ledger.devstack.launchers.stop`` (SIGTERM shuts the repo down cleanly in ~2 s).
    """
    if not (HARDHAT_DIR / "node_modules" / ".bin" / "jsipfs").exists():
        raise ServiceUnavailable("ipfs_missing", "js-ipfs is not installed: run ./dev setup")
    repo_dir = Path(repo_dir).resolve()
    if owned and (repo_dir / "repo.lock").exists():
        log.warning("removing the lock a killed IPFS node left", extra={"repo": str(repo_dir)})
        shutil.rmtree(repo_dir / "repo.lock", ignore_errors=True)
    log_path = Path(log_path or repo_dir.parent / f"{repo_dir.name}.log")
    cmd = [str(HARDHAT_DIR / "ipfs.sh"), str(repo_dir), str(api_port), str(gateway_port)]
    proc = start_process(cmd + ([str(rpc_port)] if rpc_port is not None else []), log_path)
    url = f"http://127.0.0.1:{api_port}/api/v0/id"
    wait_until(lambda: httpx.post(url, timeout=2.0).status_code == 200, proc, "ipfs_node", log_path, timeout)
    log.info("ipfs node ready", extra={"api_port": api_port, "pid": proc.pid, "repo": str(repo_dir)})
    return proc
