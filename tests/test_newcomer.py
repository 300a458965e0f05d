"""What the README promises a newcomer, over HTTP against `certledger up` run as a real process, on both
local EVMs.

Start the stack, issue a business licence with the demo department's key, verify it at a counter (by
identifier and by its PDF), export its bundle and verify it with only a JSON-RPC endpoint, stop
everything. On Anvil (the default, which keeps its chain): verify the bundle with only the chain running,
then start `up` again: the certificate still verifies. On Hardhat (in memory): `up` again finds the chain
gone and stops with `chain_behind_database` rather than anchoring into an empty chain.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ledger.app.config import REPO_ROOT
from ledger.devstack.launchers import free_port

CLI = str(Path(sys.executable).parent / "certledger")
pytestmark = [pytest.mark.slow, pytest.mark.chains("anvil", "hardhat")]


def start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([CLI, *args], stdout=open(log, "ab"), stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)


def wait_for(ready, proc: subprocess.Popen[bytes], log: Path, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"process exited early:\n{log.read_text()[-3000:]}"
        try:
            if ready():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"not ready in {timeout}s:\n{log.read_text()[-3000:]}")


def interrupt(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as a user stops `up`."""
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


@pytest.fixture
def stack_args(tmp_path: Path, chain_kind: str) -> tuple[list[str], dict[str, str], str, str]:
    return stack_arguments(tmp_path, chain_kind)


def stack_arguments(tmp_path: Path, chain_kind: str) -> tuple[list[str], dict[str, str], str, str]:
    """`up`'s arguments on free ports with its home in ``tmp_path``, its environment, the API and RPC URLs."""
    api, rpc = free_port(), free_port()
    args = ["--home", str(tmp_path / "var"), "--rpc-port", str(rpc), "--ipfs-port", str(free_port()),
            "--gateway-port", str(free_port()), "--api-port", str(api), "--chain", chain_kind]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTLEDGER_") and k != "DATABASE_URL"}
    env["CERTLEDGER_BATCH_MAX_AGE_S"] = "1"
    env["PYTHONPATH"] = str(REPO_ROOT)  # this checkout's code, not the one the console script was installed from
    return args, env, f"http://127.0.0.1:{api}", f"http://127.0.0.1:{rpc}"


def verify_identifier(client: httpx.Client, key: str, identifier: str) -> dict:
    r = client.post("/counters/verify/identifier", json={"identifier": identifier}, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return r.json()


def verify_standalone(bundle: Path, rpc: str, env: dict[str, str], trust: Path) -> str:
    """`certledger verify` with only a JSON-RPC endpoint and the platform's trust list."""
    done = subprocess.run([CLI, "verify", str(bundle), "--rpc", rpc, "--json", "--trust", str(trust)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return json.loads(done.stdout)["verdict"]


def test_newcomer_issues_and_verifies_over_http_across_restarts(tmp_path: Path, stack_args, chain_kind: str) -> None:
    args, env, api, rpc = stack_args
    log = tmp_path / "up.log"
    bundle = tmp_path / "bundle.json"
    up = start(["up", *args], log, env)
    try:
        wait_for(lambda: httpx.get(f"{api}/healthz", timeout=2).status_code == 200, up, log)
        keys = json.loads((tmp_path / "var" / "demo-keys.json").read_text(encoding="utf-8"))
        identifier = issue_and_verify(api, keys, bundle)
        assert verify_standalone(bundle, rpc, env, tmp_path / "var" / "trust.json") == "VALID"
    finally:
        interrupt(up)
    assert up.returncode is not None
    if chain_kind == "hardhat":
        again = subprocess.run([CLI, "up", *args], capture_output=True, text=True, env=env, timeout=240)
        assert again.returncode == 2 and "chain_behind_database" in again.stderr, again.stdout + again.stderr
        return

    # The API is stopped; only the chain runs, with its state: the bundle verifies.
    chain = start(["chain", "--home", args[1], "--rpc-port", rpc.rsplit(":", 1)[1]], tmp_path / "chain.log", env)
    try:
        wait_for(lambda: httpx.post(rpc, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}),
                 chain, tmp_path / "chain.log")
        assert verify_standalone(bundle, rpc, env, tmp_path / "var" / "trust.json") == "VALID"
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{api}/healthz", timeout=2)
    finally:
        interrupt(chain)

    # `up` again: everything issued before still verifies.
    up = start(["up", *args], log, env)
    try:
        wait_for(lambda: httpx.get(f"{api}/healthz", timeout=2).status_code == 200, up, log)
        with httpx.Client(base_url=api, timeout=60) as client:
            assert verify_identifier(client, keys["counter"]["key"], identifier)["verdict"] == "VALID"
    finally:
        interrupt(up)


def issue_and_verify(api: str, keys: dict, bundle: Path, number: str = "BL-2026-000001") -> str:
    """Issue a business licence as the demo department, wait until a counter finds it VALID (by identifier and
    by its PDF), and save its proof bundle; returns its identifier."""
    dept, counter = keys["departments"][0], keys["counter"]["key"]
    licence = dept["type_codes"]["营业执照"]
    with httpx.Client(base_url=api, timeout=60) as client:
        schema = client.get(f"/admin/certificate-types/{licence}", headers={"X-API-Key": dept["key"]})
        assert schema.status_code == 200 and schema.json()["name"] == "营业执照"
        issued = client.post("/departments/certificates", headers={"X-API-Key": dept["key"]}, json={
            "type_code": licence, "number": number, "issue_date": "2026-11-27",
            "holder": "长沙示例科技有限公司", "holder_id": "11430100303989522P", "holder_id_type": "001",
            "fields": {"unified_social_credit_code": "11430100303989522P", "entity_type": "其他有限责任公司",
                       "legal_representative": "张三", "established_on": "2020-06-18",
                       "address": "长沙市岳麓区示例路1号", "business_scope": "软件开发；信息技术咨询服务"},
        })
        assert issued.status_code == 201, issued.text
        identifier = issued.json()["identifier"]

        deadline = time.monotonic() + 60
        while (result := verify_identifier(client, counter, identifier))["verdict"] != "VALID":
            assert time.monotonic() < deadline, result
            time.sleep(0.5)
        assert {c["name"]: c["status"] for c in result["checks"]}["anchor_on_chain"] == "VALID"

        pdf = client.get(f"/departments/certificates/{identifier}/document", headers={"X-API-Key": dept["key"]})
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        by_pdf = client.post("/counters/verify/pdf", headers={"X-API-Key": counter},
                             files={"file": ("licence.pdf", pdf.content, "application/pdf")})
        assert by_pdf.status_code == 200 and by_pdf.json()["verdict"] == "VALID", by_pdf.text

        exported = client.get(f"/departments/certificates/{identifier}/bundle", headers={"X-API-Key": dept["key"]})
        assert exported.status_code == 200
        bundle.write_bytes(exported.content)
    return identifier
