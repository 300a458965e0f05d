"""State at rest and process hygiene (issue 11): a fresh `up` home is its owner's only (files 0600, folders 0700),
and SIGTERM stops `up` and every node it started."""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import httpx
import pytest

from tests.test_local_stack import _running
from tests.test_newcomer import interrupt, stack_arguments, start, wait_for

SECRETS = (".env", "certledger.db", "document-kek.key", "platform-secret.key", "demo.env", "keys")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.slow
def test_a_fresh_home_is_private_and_sigterm_leaves_no_child(tmp_path: Path) -> None:
    args, env, api, _rpc = stack_arguments(tmp_path, "anvil")
    home, log = tmp_path / "var", tmp_path / "up.log"
    up = start(["up", *args], log, env)
    try:
        wait_for(lambda: httpx.get(f"{api}/healthz", timeout=2).status_code == 200, up, log)
        assert _mode(home) == 0o700
        present = [home / name for name in SECRETS if (home / name).exists()]
        assert {p.name for p in present} >= {".env", "certledger.db", "document-kek.key", "keys"}, sorted(os.listdir(home))
        for path in present:
            for each in [path, *path.rglob("*")]:
                assert _mode(each) == (0o700 if each.is_dir() else 0o600), (each, oct(_mode(each)))
        widened = [p for p in home.rglob("*") if _mode(p) & 0o077]
        assert not widened, [(str(p.relative_to(home)), oct(_mode(p))) for p in widened]
        children = [int(p.read_text()) for p in (home / "run").glob("*.pid")]
        assert len(children) == 2 and all(_running(pid) for pid in children)
        os.kill(up.pid, signal.SIGTERM)  # `up` alone: its nodes run in sessions of their own
        up.wait(60)
        assert not any(_running(pid) for pid in children), log.read_text()[-2000:]
        assert not list((home / "run").glob("*.pid"))
    finally:
        if up.poll() is None:
            interrupt(up)
