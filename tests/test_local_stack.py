"""`certledger up` supervises its nodes: a chain or IPFS node that dies is started again with its state, a
node a killed `up` left running is stopped by the next `up`, and a chain node that comes back without
what the database records stops `up` with `chain_behind_database` instead of being anchored into."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ledger.core.errors import ServiceUnavailable
from ledger.devstack.stack import LocalStack
from tests.test_newcomer import (
    interrupt,
    issue_and_verify,
    stack_arguments,
    start,
    verify_identifier,
    wait_for,
)


def test_one_stack_per_home(tmp_path: Path) -> None:
    first = LocalStack(tmp_path)
    first.claim()
    try:
        with pytest.raises(ServiceUnavailable) as err:
            LocalStack(tmp_path).claim()
        assert err.value.code == "stack_running" and str(os.getpid()) in err.value.message
    finally:
        first.stop()
    LocalStack(tmp_path).claim()  # released with its holder


def _running(pid: int) -> bool:
    try:
        return "\tZ" not in Path(f"/proc/{pid}/status").read_text().split("State:")[1][:4]
    except (OSError, IndexError):
        return False


def _pid(home: Path, node: str) -> int:
    return int((home / "run" / f"{node}.pid").read_text())


def _restarted(home: Path, node: str, dead: int) -> bool:
    """A new process has the node's pid file: while ``up`` restarts it, the file is briefly gone."""
    try:
        return _pid(home, node) != dead
    except FileNotFoundError:
        return False


_WAITING = ("certledger_anchoring_queue_leaves", "certledger_anchoring_pending_batches",
            "certledger_lookup_notes_waiting")


def _nothing_waiting(api: str) -> bool:
    """Every noted lookup written into the access log and every queued leaf anchored (``/metrics``)."""
    families = text_string_to_metric_families(httpx.get(f"{api}/metrics", timeout=5).text)
    return not any(sample.value for family in families if family.name in _WAITING for sample in family.samples)


def _anchored_and_saved(api: str, home: Path, up, log: Path) -> None:  # type: ignore[no-untyped-def]
    """Wait until what the database records as sent is in Anvil's state file: the API notes its lookups once a
    second, the worker writes and anchors them, and Anvil rewrites state.next.json once a second (anvil.sh)."""
    time.sleep(1.5)
    wait_for(lambda: _nothing_waiting(api), up, log, timeout=60)
    settled = time.time()

    def saved() -> bool:
        try:
            return (home / "anvil" / "state.next.json").stat().st_mtime > settled
        except FileNotFoundError:  # not written yet since the node started
            return False

    wait_for(saved, up, log, timeout=30)


def _kill_and_see_it_back(home: Path, node: str, up, log: Path, ready) -> None:  # type: ignore[no-untyped-def]
    dead = _pid(home, node)
    os.kill(dead, signal.SIGKILL)
    wait_for(lambda: _restarted(home, node, dead) and ready(), up, log, timeout=60)


@pytest.mark.slow
def test_up_restarts_dead_nodes_and_stops_what_a_killed_up_left(tmp_path: Path) -> None:
    """On Anvil, whatever chain the other tests run on: the chain must come back with its state."""
    args, env, api, rpc = stack_arguments(tmp_path, "anvil")
    home, log = tmp_path / "var", tmp_path / "up.log"
    up = start(["up", *args], log, env)
    try:
        wait_for(lambda: httpx.get(f"{api}/healthz", timeout=2).status_code == 200, up, log)
        keys = json_keys(home)
        first = issue_and_verify(api, keys, tmp_path / "first.json", "SV-1")
        _anchored_and_saved(api, home, up, log)

        _kill_and_see_it_back(home, "chain", up, log, lambda: chain_answers(rpc))
        second = issue_and_verify(api, keys, tmp_path / "second.json", "SV-2")  # the worker goes on
        dept = keys["departments"][0]["key"]
        _kill_and_see_it_back(home, "ipfs", up, log, lambda: httpx.get(
            f"{api}/departments/certificates/{first}/document", headers={"X-API-Key": dept}).status_code == 200)

        orphans = [_pid(home, "chain"), _pid(home, "ipfs")]
        os.kill(up.pid, signal.SIGKILL)  # only `up`: its nodes run in their own sessions and outlive it
        up.wait(10)
        assert all(_running(pid) for pid in orphans)
    finally:
        if up.poll() is None:
            interrupt(up)

    up = start(["up", *args], log, {**env, "ANVIL_STATE_INTERVAL": "3600"})
    try:
        wait_for(lambda: httpx.get(f"{api}/healthz", timeout=2).status_code == 200, up, log)
        assert not any(_running(pid) for pid in orphans)
        with httpx.Client(base_url=api, timeout=60) as client:
            for identifier in (first, second):
                assert verify_identifier(client, keys["counter"]["key"], identifier)["verdict"] == "VALID"
        # Anvil now writes its state only when it stops: killed, it comes back without the newest anchor
        issue_and_verify(api, keys, tmp_path / "third.json", "SV-3")
        os.kill(_pid(home, "chain"), signal.SIGKILL)
        assert up.wait(60) == 2
    finally:
        if up.poll() is None:
            interrupt(up)
    assert "chain_behind_database" in log.read_text(encoding="utf-8")
    assert not list((home / "run").glob("*.pid"))


def json_keys(home: Path) -> dict:
    return json.loads((home / "demo-keys.json").read_text(encoding="utf-8"))


def chain_answers(rpc: str) -> bool:
    return "result" in httpx.post(rpc, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).json()
