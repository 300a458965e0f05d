"""One sender per chain account across processes (the database's sender lock), a lost nonce race sent again, and
a chain that cannot take a transaction answering 503 rather than a contract refusal (409)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.app.config import REPO_ROOT, Settings
from ledger.app.library import Library
from ledger.app.onboarding import create_api_key, create_organization
from ledger.chain.contract import BatchKind
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.errors import ServiceUnavailable
from ledger.core.uscc import derive_uscc
from ledger.devstack.launchers import free_port
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import issue_many
from tests.fixtures.library import LibraryEnv, sample_request

SENDER = """
import json, os, sys, time
import ledger.chain.client as client
from ledger.app.library import Library
from ledger.chain.contract import BatchKind
from ledger.storage.models import Organization

retries = []
taken = client._nonce_taken
client._nonce_taken = lambda exc: retries.append(str(exc)) or taken(exc)
lib = Library.from_settings()
with lib.sessions() as s:
    org = s.get(Organization, int(sys.argv[1]))
account = lib.org_account(org)
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
roots, errors = [], []
for _ in range(int(sys.argv[3])):
    root = os.urandom(32)
    try:
        lib.contract.anchor(account, root, 1, BatchKind.CERTIFICATES)
        roots.append(root.hex())
    except Exception as exc:
        errors.append(repr(exc))
print(json.dumps({"roots": roots, "errors": errors, "retries": retries}))
"""


def _department(env: LibraryEnv, tag: str):
    return create_organization(env.lib, kind="department", name=f"{tag}{uuid.uuid4().hex[:6]}",
                               uscc=derive_uscc(uuid.uuid4().hex, division=CITY_DIVISION))


def test_two_processes_sending_for_one_account_never_collide(library_env: LibraryEnv) -> None:
    """Two real processes, one Hardhat node, one database: every anchor lands, and no send ever found its nonce
    taken (the lock, not the retry, keeps them apart). Locked per process only, they collide at once."""
    org = _department(library_env, "双进程测试局")
    env = {**os.environ, **library_env.env}
    start, count = time.time() + 3.0, 25
    procs = [subprocess.Popen([sys.executable, "-c", SENDER, str(org.id), str(start), str(count)], env=env,
                              cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in procs]
    results = []
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["errors"] for r in results] == [[], []]
    assert [r["retries"] for r in results] == [[], []]
    roots = [bytes.fromhex(r) for result in results for r in result["roots"]]
    assert len(roots) == 2 * count
    contract = library_env.lib.contract
    assert all(contract.anchor_of(org.chain_address, r) is not None for r in roots)


def test_a_nonce_taken_by_another_sender_is_sent_again(library_env: LibraryEnv,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A sender outside the lock (another service on the same key) takes the nonce between our read and our send:
    the node refuses ours ("nonce too low"); it is sent again with the next nonce."""
    lib = library_env.lib
    org = _department(library_env, "抢先测试局")
    account = lib.org_account(org)
    eth = lib.chain.w3.eth
    read_nonce = eth.get_transaction_count
    raced: list[int] = []

    def read_then_lose_the_race(address, block="latest"):
        nonce = read_nonce(address, block)
        if not raced:  # the first time only: a real transaction with the same nonce gets in first
            raced.append(nonce)
            other = {"to": account.address, "value": 0, "gas": 21_000, "nonce": nonce, "chainId": lib.chain.chain_id,
                     "maxFeePerGas": 0, "maxPriorityFeePerGas": 0}
            eth.send_raw_transaction(account.sign_transaction(other).raw_transaction)
        return nonce

    monkeypatch.setattr(eth, "get_transaction_count", read_then_lose_the_race)
    root = os.urandom(32)
    tx = lib.contract.anchor(account, root, 1, BatchKind.CERTIFICATES)
    assert raced and lib.contract.anchor_of(org.chain_address, root).block_number == tx.block_number
    assert read_nonce(account.address) == raced[0] + 2


class _FailingNode(BaseHTTPRequestHandler):
    """A JSON-RPC gateway in front of the real node that cannot pass transactions on (as a proxy does when its
    upstream is down): every other call is forwarded."""

    upstream = ""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = json.loads(body)
        if request.get("method") == "eth_sendRawTransaction":
            answer = {"jsonrpc": "2.0", "id": request.get("id"),
                      "error": {"code": -32603, "message": "upstream connect error or disconnect before headers"}}
            data = json.dumps(answer).encode()
        else:
            data = httpx.post(self.upstream, content=body, headers={"Content-Type": "application/json"}).content
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def failing_node(rpc_url: str) -> Iterator[str]:
    port = free_port()
    handler = type("Handler", (_FailingNode,), {"upstream": rpc_url})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


def _library_at(env: LibraryEnv, rpc_url: str) -> Library:
    s = env.lib.settings
    settings = Settings(home=s.home, rpc_url=rpc_url, database_url=s.database_url, ipfs_api=s.ipfs_api,
                        key_password=s.key_password, light_kdf=True, contract_address=env.lib.contract.address)
    return Library.from_settings(settings, engine=env.lib.engine)


@pytest.mark.parametrize("node", ["unreachable", "failing"])
def test_a_chain_that_cannot_take_the_transaction_answers_503(library_env: LibraryEnv, failing_node: str,
                                                               node: str) -> None:
    market = library_env.departments["market"]
    (cert,) = issue_many(library_env.lib, market, [sample_request(library_env.types["business_licence"])])
    Anchorer(library_env.lib).run_once(force=True)
    key = create_api_key(library_env.lib, market.id, ["department"])
    lib = _library_at(library_env, failing_node if node == "failing" else f"http://127.0.0.1:{free_port()}")
    try:
        with TestClient(create_app(lib)) as client:
            r = client.post(f"/departments/certificates/{cert.identifier}/status", headers={"X-API-Key": key},
                            json={"action": "suspend", "reason": "节点故障测试"})
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == ("chain_error" if node == "failing" else "chain_unreachable")
        with pytest.raises(ServiceUnavailable):
            lib.contract.anchor(lib.org_account(market), os.urandom(32), 1, BatchKind.CERTIFICATES)
    finally:
        lib.close()
