"""A chain node replaced under a running ``certledger worker``: reported, never anchored into; once the chain is back
(the original Anvil node started again on its state), the worker goes on by itself and nothing is lost or anchored
twice.

The replacement is the hard case: a fresh node on the same port where the same admin key deployed the contract
again, so the contract has code at the recorded address; only the recorded anchors tell the chains apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from ledger.app.chain_check import ChainGuard
from ledger.app.config import Settings
from ledger.app.library import Library
from ledger.app.onboarding import activate_department
from ledger.chain.client import ChainClient
from ledger.chain.contract import LedgerContract
from ledger.core.checks import Status
from ledger.core.errors import ServiceUnavailable
from ledger.devstack.launchers import free_port, start_chain_node, stop
from ledger.issue.issuance import issue_many
from ledger.storage.catalogue import import_catalogue
from ledger.storage.engine import migrate
from ledger.storage.models import (
    AnchorOutbox,
    Certificate,
    CertificateType,
    Organization,
    WorkerHeartbeat,
)
from ledger.verify.service import verify_identifier
from tests.fixtures.cli import start_cli, stop_gently, wait_until
from tests.fixtures.library import KEY_PASSWORD, sample_request
from tests.test_anchoring import _assert_anchored_once, _certificates, anchored_certificates


class Node:
    """An Anvil node on one port, which the test stops and starts again on another state folder (a fresh chain) or
    on the first one (the original chain, as it kept it)."""

    def __init__(self, base: Path) -> None:
        self.base, self.port = base, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = start_chain_node("anvil", self.port, base / "original")

    def restart(self, state: str) -> None:
        stop(self.proc)
        self.proc = start_chain_node("anvil", self.port, self.base / state)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    node = Node(tmp_path / "chain")
    try:
        yield node
    finally:
        stop(node.proc)


def _platform(node: Node, home: Path, ipfs_api: str) -> tuple[Library, Organization, CertificateType, dict[str, str]]:
    settings = Settings(home=home, rpc_url=node.url, ipfs_api=ipfs_api, key_password=KEY_PASSWORD, light_kdf=True,
                        database_url=None, contract_address=None)
    lib = Library.from_settings(settings)
    migrate(lib.engine)
    lib.deploy()
    with lib.sessions() as session:
        import_catalogue(session)
    with lib.sessions() as session:
        ctype = session.scalar(select(CertificateType).where(CertificateType.name == "营业执照"))
    org = activate_department(lib, ctype.department_id)
    env = {"CERTLEDGER_HOME": str(home), "CERTLEDGER_RPC_URL": node.url, "CERTLEDGER_IPFS_API": ipfs_api,
           "CERTLEDGER_KEY_PASSWORD": KEY_PASSWORD, "CERTLEDGER_LIGHT_KDF": "1", "CERTLEDGER_BATCH_MAX_AGE_S": "0.3"}
    return lib, org, ctype, env


def _heartbeat(lib: Library) -> WorkerHeartbeat | None:
    with lib.sessions() as session:
        return session.scalar(select(WorkerHeartbeat).where(WorkerHeartbeat.state != "stopped"))


def _anchored(lib: Library, ids: list[int]) -> bool:
    return all(c.proof is not None for c in _certificates(lib, ids))


def test_a_replaced_chain_node_is_reported_and_never_anchored_into(node: Node, tmp_path: Path, ipfs_api: str) -> None:
    lib, org, ctype, env = _platform(node, tmp_path / "home", ipfs_api)
    log = tmp_path / "worker.log"
    worker = start_cli(["worker", "--interval", "0.2"], env, log)
    try:
        first = [c.id for c in issue_many(lib, org, [sample_request(ctype) for _ in range(5)])]
        wait_until(lambda: _anchored(lib, first), "the first certificates anchored", timeout=90, logs=[log],
                   procs=[worker])

        node.restart("fresh")  # a fresh chain on the same port; the admin key deploys the contract there again
        again, _ = LedgerContract.deploy(ChainClient(node.url), lib.admin_account())
        assert again.address == lib.contract.address
        later = [c.id for c in issue_many(lib, org, [sample_request(ctype) for _ in range(3)])]
        wait_until(lambda: (_heartbeat(lib) or WorkerHeartbeat()).error_code == "chain_behind_database",
                   "the worker reporting chain_behind_database", timeout=60, logs=[log], procs=[worker])
        beat = _heartbeat(lib)
        assert beat.state == "failing" and beat.failing_since is not None
        assert "链节点缺少数据库已记录的上链数据" in beat.error_message and "lacks what the database records" in \
            beat.error_message and "CERTLEDGER_RPC_URL" in beat.error_message
        with pytest.raises(ServiceUnavailable) as seen:  # what /readyz reports
            ChainGuard(lib).check()
        assert seen.value.code == "chain_behind_database" and "batch" in seen.value.message
        assert again.contract.events.Anchored.get_logs(from_block=0) == [], "nothing anchored into the new chain"
        with lib.sessions() as session:
            queued = session.scalars(select(AnchorOutbox.batch_id).where(AnchorOutbox.org_id == org.id)).all()
        assert len(queued) == 3 and set(queued) == {None}, "the new certificates wait, unclaimed"

        node.restart("original")  # the original chain is back, from the state Anvil kept
        wait_until(lambda: _anchored(lib, later), "the waiting certificates anchored after recovery", timeout=120,
                   logs=[log], procs=[worker])
    finally:
        assert stop_gently(worker) == 0
    assert '"message": "worker recovered"' in log.read_text()
    certs = _certificates(lib, first + later)
    _assert_anchored_once(lib, certs)
    for cert in certs:
        assert verify_identifier(lib, cert.identifier).verdict is Status.VALID
    with lib.sessions() as session:
        assert session.scalar(select(Certificate.id).where(Certificate.id.not_in(anchored_certificates()),
                                                           Certificate.issuer_org_id == org.id)) is None
