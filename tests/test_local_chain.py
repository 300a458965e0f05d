"""The local chain (Anvil with its own state) survives restarts whatever was sent to it and however a process
died; what it cannot keep is reported before anything is sent again (``chain_behind_database``).

One test per way the former transaction journal broke (issue 15): a worker killed after its transaction was
mined and before it was recorded; a process that sends without the stack's settings; an outside
transaction; a lost tail of the chain (the node killed between two writes of its state); a state file cut
short.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from sqlalchemy import select

from ledger.app.chain_check import check_chain
from ledger.app.config import REPO_ROOT, Settings
from ledger.app.library import Library
from ledger.app.onboarding import activate_department
from ledger.core.errors import ServiceUnavailable
from ledger.devstack.api_process import library_environment
from ledger.devstack.launchers import free_port
from ledger.devstack.stack import LocalStack, Ports, chain_fix, ensure_contract
from ledger.issue.anchoring import CRASH_ENV, Anchorer
from ledger.issue.issuance import issue_many
from ledger.issue.status_changes import change_status
from ledger.storage.catalogue import import_catalogue
from ledger.storage.models import Batch, CertificateType, Organization
from tests.fixtures.library import ACTIVATED, KEY_PASSWORD, TYPES, sample_request

WORKER = "from ledger.issue.anchoring import Anchorer; from ledger.app.library import Library; " \
         "print(len(Anchorer(Library.from_settings()).run_once(force=True)))"


@dataclass
class LocalLedger:
    """A library on its own Anvil node and SQLite database, as ``certledger up`` runs them."""

    stack: LocalStack
    lib: Library
    org: Organization
    ctype: CertificateType

    @property
    def state(self) -> Path:
        return self.stack.chain_dir

    def issue(self, n: int = 3) -> list[str]:
        return [c.identifier for c in issue_many(self.lib, self.org, [sample_request(self.ctype) for _ in range(n)])]

    def anchor(self, n: int = 3) -> list[str]:
        identifiers = self.issue(n)
        assert Anchorer(self.lib).run_once(force=True)
        return identifiers

    def stop_chain(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop the node: SIGTERM (it writes its state and exits) or SIGKILL (it writes nothing)."""
        node = self.stack.nodes.pop()
        assert node.proc is not None
        if sig == signal.SIGKILL:
            os.killpg(node.proc.pid, signal.SIGKILL)
            node.proc.wait(10)
        node.shut()

    def restart_chain(self, sig: signal.Signals = signal.SIGTERM) -> None:
        self.stop_chain(sig)
        self.stack.start_chain()

    def check(self) -> None:
        check_chain(self.lib, fix=chain_fix(self.stack))

    def worker_env(self) -> dict[str, str]:
        """What another process (a worker, an API worker) gets: only the library's settings."""
        return {**os.environ, **library_environment(self.lib), "PYTHONPATH": str(REPO_ROOT)}


@pytest.fixture
def local(tmp_path: Path, ipfs_api: str) -> Iterator[LocalLedger]:
    home = tmp_path / "var"
    stack = LocalStack(home, Ports(rpc=free_port()), "anvil")
    stack.claim()
    stack.start_chain()
    settings = Settings(home=home, rpc_url=f"http://127.0.0.1:{stack.ports.rpc}", database_url=None,
                        ipfs_api=ipfs_api, key_password=KEY_PASSWORD, light_kdf=True, contract_address=None)
    lib = Library.from_settings(settings)
    try:
        ensure_contract(lib, stack)
        with lib.sessions() as session:
            import_catalogue(session)
        with lib.sessions() as session:
            org = session.scalar(select(Organization).where(Organization.name == ACTIVATED["hr"]))
            ctype = session.scalar(select(CertificateType).where(CertificateType.name == TYPES["skill"]))
        yield LocalLedger(stack, lib, activate_department(lib, org.id), ctype)
    finally:
        lib.close()
        stack.stop()


def _batches(lib: Library) -> list[Batch]:
    with lib.sessions() as session:
        return list(session.scalars(select(Batch).order_by(Batch.id)))


def _assert_on_chain(lib: Library, batches: list[Batch]) -> None:
    for batch in batches:
        receipt = lib.chain.w3.eth.get_transaction_receipt(batch.tx_hash)
        assert receipt["blockNumber"] == batch.block_number and receipt["status"] == 1
        issuer = lib.organization(batch.org_id).chain_address
        assert lib.require_contract().anchor_of(issuer, batch.root) is not None


def test_worker_killed_after_its_transaction_was_mined(local: LocalLedger) -> None:
    """The journal's first breakage: the batch was recovered from the chain, its journal line never written."""
    local.anchor()
    local.issue(4)
    crashed = subprocess.run([sys.executable, "-c", WORKER], env={**local.worker_env(), CRASH_ENV: "*"},
                             cwd=REPO_ROOT, capture_output=True, timeout=120)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()[-2000:]
    local.restart_chain()
    local.check()
    settled = Anchorer(local.lib).run_once()
    assert [(b.leaf_count, b.recovered) for b in settled] == [(4, True)]
    local.restart_chain()
    local.check()
    _assert_on_chain(local.lib, _batches(local.lib))


def test_another_process_sends_without_the_stack_settings(local: LocalLedger) -> None:
    """The second: an API worker started from the library's environment alone did not journal."""
    local.issue(5)
    done = subprocess.run([sys.executable, "-c", WORKER], env=local.worker_env(), cwd=REPO_ROOT,
                          capture_output=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == b"1", done.stderr.decode()[-2000:]
    local.restart_chain()
    local.check()
    _assert_on_chain(local.lib, _batches(local.lib))


def test_an_outside_transaction(local: LocalLedger) -> None:
    """The third: a transaction from outside certledger was never journalled, so a replay diverged."""
    local.anchor()
    w3 = local.lib.chain.w3
    outsider = Account.create()
    signed = outsider.sign_transaction({"to": Account.create().address, "value": 0, "gas": 21_000, "gasPrice": 0,
                                        "nonce": 0, "chainId": local.lib.chain.chain_id})
    outside = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
    local.anchor()
    local.restart_chain()
    local.check()
    _assert_on_chain(local.lib, _batches(local.lib))
    assert w3.eth.get_transaction_receipt(outside["transactionHash"])["blockNumber"] == outside["blockNumber"]
    assert w3.eth.get_transaction_count(outsider.address) == 1
    local.anchor()  # the chain goes on
    local.check()


def test_a_lost_tail_is_reported_never_anchored_into(local: LocalLedger, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fourth: a lost journal line rebuilt a chain without an anchor the database records, silently. Anvil
    killed with -9 loses what it mined since its last state write; the check names what is missing."""
    kept = local.anchor()
    local.restart_chain()  # a clean stop writes everything
    monkeypatch.setenv("ANVIL_STATE_INTERVAL", "3600")  # no write until it exits
    local.restart_chain()
    lost = local.anchor(2)
    change_status(local.lib, local.org, kept[:1], "revoke", "注销测试", actor="test")
    local.restart_chain(signal.SIGKILL)
    with pytest.raises(ServiceUnavailable) as err:
        local.check()
    assert err.value.code == "chain_behind_database"
    newest = _batches(local.lib)[-1]
    assert f"batch {newest.id} (certificate, 2 leaves)" in err.value.message
    assert "status change (revoke)" in err.value.message
    assert "链节点缺少" in err.value.message and "a backup of" in err.value.message
    assert [t["what"] for t in err.value.details["lost"]] == ["batch 2 (certificate, 2 leaves)",
                                                               "status change (revoke)"]
    assert lost  # issued and recorded anchored before the loss


def test_a_state_file_cut_short(local: LocalLedger) -> None:
    """The fifth: a truncated journal line stopped `up` with a bare JSONDecodeError. A state file cut short by a
    kill during its write is set aside; the chain starts from the previous state and the check names the
    batches that state lacks; putting back a whole state file (the fix it names) brings them back."""
    local.anchor()
    local.restart_chain()  # state.json: the first batch
    local.anchor()
    local.stop_chain()  # state.next.json: both batches
    whole = (local.state / "state.next.json").read_bytes()
    (local.state / "state.next.json").write_bytes(whole[: len(whole) // 2])
    local.stack.start_chain()
    assert list(local.state.glob("state.next.json.corrupt-*"))
    assert "was cut short" in (local.state / "anvil.log").read_text(encoding="utf-8")
    with pytest.raises(ServiceUnavailable) as err:
        local.check()
    assert err.value.code == "chain_behind_database"
    assert [t["what"] for t in err.value.details["lost"]] == ["batch 2 (certificate, 3 leaves)"]

    local.stop_chain()
    (local.state / "state.next.json").write_bytes(whole)  # the fix it names: a whole state file goes back
    local.stack.start_chain()
    local.check()
    _assert_on_chain(local.lib, _batches(local.lib))
