"""Run the API under uvicorn as a child process (the CLI's ``up``, the HTTP benchmark, tests).

The workers get nothing but environment variables: each builds its own Library from them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from ledger.app.config import REPO_ROOT
from ledger.app.library import Library
from ledger.devstack.launchers import start_process, wait_until
from ledger.storage.engine import connect_url


def library_environment(lib: Library) -> dict[str, str]:
    """The environment variables under which a worker builds a Library equal to ``lib``."""
    s = lib.settings
    env = {"CERTLEDGER_HOME": str(s.home), "CERTLEDGER_RPC_URL": s.rpc_url, "DATABASE_URL": connect_url(lib.engine),
           "CERTLEDGER_IPFS_API": s.ipfs_api, "CERTLEDGER_LIGHT_KDF": "1" if s.light_kdf else "0"}
    if s.key_password:
        env["CERTLEDGER_KEY_PASSWORD"] = s.key_password
    if lib.contract is not None:
        env["CERTLEDGER_CONTRACT_ADDRESS"] = lib.contract.address
    return env


def start_api(
    port: int,
    env: dict[str, str],
    log_path: Path,
    *,
    workers: int = 1,
    timeout: float = 60.0,
) -> subprocess.Popen[bytes]:
    """Start ``api.app:app`` under uvicorn (``api.serve``) on 127.0.0.1:port; returns once /healthz answers 200.

    Stop it with ``ledger.devstack.launchers.stop``.
    """
    cmd = [sys.executable, "-m", "api.serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    proc = start_process(cmd, log_path, {"PYTHONPATH": str(REPO_ROOT), **env})
    url = f"http://127.0.0.1:{port}/healthz"
    wait_until(lambda: httpx.get(url, timeout=5.0).status_code == 200, proc, "api_server", log_path, timeout)
    return proc
