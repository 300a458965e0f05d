"""Start the local infrastructure processes (Hardhat node, IPFS node) and wait until they answer.

Used by ``certledger up`` and by the test fixtures, so development and tests run the same stack.
"""

from __future__ import annotations

import logging
import os
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
        time.sleep(0.1)
    stop(proc)
    raise ServiceUnavailable(f"{what}_timeout", f"the {what} did not answer within {timeout:.0f}s; see {log_path}")


def start_process(cmd: list[str], log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    out = open(log_path, "ab")
    return subprocess.Popen(
        cmd, cwd=HARDHAT_DIR, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)
    except ProcessLookupError:
        pass


def rpc_ready(url: str) -> bool:
    r = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1.0)
    return r.status_code == 200 and "result" in r.json()


def start_hardhat(
    port: int,
    state_dir: Path,
    *,
    mining_interval_ms: int = 0,
    genesis_date: str | None = None,
    timeout: float = 60.0,
) -> subprocess.Popen[bytes]:
    """Start a Hardhat node on 127.0.0.1:port and return once it answers JSON-RPC.

    ``genesis_date`` (ISO 8601) dates the genesis block, for replaying a journal (ledger.chain.journal).
    """
    if not (HARDHAT_DIR / "node_modules" / ".bin" / "hardhat").exists():
        raise ServiceUnavailable("hardhat_missing", "Hardhat is not installed: run ./dev setup")
    env = {"HARDHAT_STATE_DIR": str(state_dir), "HARDHAT_MINING_INTERVAL_MS": str(mining_interval_ms)}
    if genesis_date:
        env["CERTLEDGER_GENESIS_DATE"] = genesis_date
    log_path = state_dir / "hardhat.log"
    proc = start_process([str(HARDHAT_DIR / "node.sh"), str(port)], log_path, env)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: rpc_ready(url), proc, "hardhat_node", log_path, timeout)
    log.info("hardhat node ready", extra={"url": url, "pid": proc.pid})
    return proc


def start_local_ipfs(
    repo_dir: Path,
    api_port: int,
    gateway_port: int,
    rpc_port: int | None = None,
    log_path: Path | None = None,
    timeout: float = 60.0,
) -> subprocess.Popen[bytes]:
    """Start the local js-ipfs node (hardhat-local/ipfs.sh) and return once its RPC API answers.

    Stop it with ``ledger.devstack.launchers.stop`` (SIGTERM shuts the repo down cleanly in ~2 s).
    """
    if not (HARDHAT_DIR / "node_modules" / ".bin" / "jsipfs").exists():
        raise ServiceUnavailable("ipfs_missing", "js-ipfs is not installed: run ./dev setup")
    repo_dir = Path(repo_dir).resolve()
    log_path = Path(log_path or repo_dir.parent / f"{repo_dir.name}.log")
    cmd = [str(HARDHAT_DIR / "ipfs.sh"), str(repo_dir), str(api_port), str(gateway_port)]
    proc = start_process(cmd + ([str(rpc_port)] if rpc_port is not None else []), log_path)
    url = f"http://127.0.0.1:{api_port}/api/v0/id"
    wait_until(lambda: httpx.post(url, timeout=2.0).status_code == 200, proc, "ipfs_node", log_path, timeout)
    log.info("ipfs node ready", extra={"api_port": api_port, "pid": proc.pid, "repo": str(repo_dir)})
    return proc
