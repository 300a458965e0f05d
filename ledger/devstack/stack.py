"""The local stack behind ``certledger up``: chain node, IPFS node, database, contract and demo data.

Everything it starts listens on loopback only. State lives under CERTLEDGER_HOME (``var/``): the SQLite
database, encrypted keys, the IPFS repo and the chain. The default chain, Anvil, keeps its own state in
``HOME/anvil`` (hardhat-local/anvil.sh: written every second and when it stops), so stopping and starting
``up`` loses nothing; Hardhat (``--chain hardhat``) keeps its chain in memory only. Before anything is
sent, the chain is checked against what the database records (``ledger.app.chain_check``): a node that
lost its state is reported (``chain_behind_database``), never anchored into. One ``up`` per home at a
time (a lock file); nodes a killed ``up`` left running are stopped at the next start, and a node that dies
while ``up`` runs is started again (``ledger.devstack.supervisor``).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import httpx
from sqlalchemy import select

from ledger.app.chain_check import check_chain
from ledger.app.config import STACK_ENV_FILE, read_env_file
from ledger.app.library import Library
from ledger.app.platform_setup import PLATFORM_NAME, PLATFORM_USCC, setup_platform
from ledger.chain.contract import Deployment
from ledger.core.catalogue import CITY_DIVISION, department_uscc
from ledger.core.errors import CertledgerError, ServiceUnavailable
from ledger.core.uscc import derive_uscc
from ledger.devstack.launchers import (
    rpc_ready,
    start_chain_node,
    start_local_ipfs,
    stop_orphan,
)
from ledger.devstack.services import BackgroundWorkers
from ledger.devstack.supervisor import Node, Supervisor
from ledger.storage.engine import migrate
from ledger.storage.models import CertificateType, Organization

log = logging.getLogger(__name__)

# Demo departments and the certificate types they issue (names from the catalogue).
DEMO_DEPARTMENTS = {
    "市场监督管理局": ["营业执照", "食品经营许可证"],
    "自然资源和规划局": ["不动产权证书"],
    "人力资源和社会保障局": ["专业技术职务任职资格证书"],
    "教育局": ["教师资格证书"],
}
DEMO_COUNTER = ("市政务服务中心综合窗口", "counter:city-service-centre")
DEMO_ASSOCIATION = ("市建筑业协会", "association:construction")


@dataclass
class Ports:
    rpc: int = 8545
    ipfs_api: int = 5001
    ipfs_gateway: int = 8080
    api: int = 8000


@dataclass
class LocalStack:
    """The nodes ``up`` runs (stopped in reverse order), its lock on the home folder and their supervisor."""

    home: Path
    ports: Ports = field(default_factory=Ports)
    chain: str = "anvil"
    nodes: list[Node] = field(default_factory=list)
    supervisor: Supervisor | None = None
    worker: BackgroundWorkers | None = None
    _lock: int | None = None

    @property
    def chain_dir(self) -> Path:
        return self.home / self.chain

    def claim(self) -> None:
        """Take the home folder for this process, or say which process has it."""
        run = self.home / "run"
        run.mkdir(parents=True, exist_ok=True)
        fd = os.open(run / "up.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise ServiceUnavailable(
                "stack_running",
                f"本地环境已在运行。another certledger process (pid {holder}) runs the local stack in {self.home}: "
                "stop it first, or pass another --home",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock = fd

    def _node(self, name: str, state: Path, start: Callable[[], Any]) -> Node:
        node = Node(name, start, self.home / "run" / f"{name}.pid", str(state.resolve()))
        stop_orphan(node.pidfile, node.marker)
        return node

    def start_chain(self) -> None:
        node = self._node("chain", self.chain_dir, lambda: start_chain_node(self.chain, self.ports.rpc, self.chain_dir))
        url = f"http://127.0.0.1:{self.ports.rpc}"
        try:
            busy = rpc_ready(url)
        except httpx.HTTPError:
            busy = False
        if busy:
            raise ServiceUnavailable(
                "rpc_port_busy",
                f"a chain node already answers on {url}: stop it (another `certledger up`?) or pass --rpc-port",
            )
        node.launch()
        self.nodes.append(node)

    def start_ipfs(self) -> None:
        repo = self.home / "ipfs"
        node = self._node("ipfs", repo, lambda: start_local_ipfs(repo, self.ports.ipfs_api, self.ports.ipfs_gateway,
                                                                  log_path=self.home / "ipfs.log", owned=True))
        node.launch()
        self.nodes.append(node)

    def supervise(self, *, on_down: Callable[[str], None], on_up: Callable[[str], None],
                  on_failure: Callable[[CertledgerError], None]) -> None:
        """Restart any node that dies from now on (see ``ledger.devstack.supervisor``)."""
        self.supervisor = Supervisor(self.nodes, on_down=on_down, on_up=on_up, on_failure=on_failure)
        self.supervisor.start()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.hold()
        if self.supervisor is not None:
            self.supervisor.close()
        for node in reversed(self.nodes):
            node.shut()
        self.nodes.clear()
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


def local_environment(home: Path, ports: Ports) -> dict[str, str]:
    """The settings of the local stack, written to ``home/.env`` (0600) for the other commands to find
    (``ledger.app.config.adopt_stack_environment``); the key password is generated once and kept there."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    home.chmod(0o700)  # a home made before, or by hand, with a wider mode
    env_file = home / STACK_ENV_FILE
    kept = read_env_file(env_file)
    password = os.environ.get("CERTLEDGER_KEY_PASSWORD") or kept.get("CERTLEDGER_KEY_PASSWORD") or secrets.token_urlsafe(24)
    env = {
        "CERTLEDGER_HOME": str(home),
        "CERTLEDGER_RPC_URL": f"http://127.0.0.1:{ports.rpc}",
        "CERTLEDGER_IPFS_API": f"/ip4/127.0.0.1/tcp/{ports.ipfs_api}/http",
        "CERTLEDGER_PUBLIC_URL": f"http://127.0.0.1:{ports.api}",
        "CERTLEDGER_LIGHT_KDF": "1",
        "CERTLEDGER_BATCH_MAX_AGE_S": os.environ.get("CERTLEDGER_BATCH_MAX_AGE_S", "5"),
        "CERTLEDGER_KEY_PASSWORD": password,
    }
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("# written by certledger up: the local stack's settings, read by every certledger command\n")
        f.writelines(f"{name}={value}\n" for name, value in env.items())
    return env


def chain_fix(stack: LocalStack) -> str:
    """What to do when the local chain lost transactions the database records."""
    if stack.chain == "hardhat":
        return ("修复：Hardhat 只在内存中保存链，停止即丢失。Fix: Hardhat keeps its chain in memory and lost it when it "
                f"stopped; start a new local ledger by moving {stack.home} away, or run the default chain "
                "(--chain anvil), which keeps its state.")
    return ("修复：停止本地环境，将含有这些交易的链状态文件放回，或另建本地账本。Fix: stop certledger, copy a state file "
            f"that holds these transactions (a backup of {stack.chain_dir}/state.json, or a whole "
            f"state.next.json.corrupt-* set aside there) to {stack.chain_dir}/state.next.json and start again (the "
            f"chain starts from that file), or start a new local ledger by moving {stack.home} away.")


def supervise_up(stack: LocalStack, lib: Library, server: Any) -> None:
    """Run ``up``'s anchoring worker and restart nodes that die. While the chain node is down the worker is
    held; once the node is back the chain is checked against the database before the worker goes on. A
    failed check or a node that does not come back stops ``up`` (``server.should_exit``) with that error."""
    stack.worker = BackgroundWorkers(lib)
    stack.worker.start()

    def on_down(name: str) -> None:
        if name == "chain" and stack.worker is not None:
            stack.worker.hold()

    def on_up(name: str) -> None:
        if name == "chain" and stack.worker is not None:
            check_chain(lib, fix=chain_fix(stack))
            stack.worker.start()

    def on_failure(exc: CertledgerError) -> None:
        log.error("the local stack stops", extra={"code": exc.code, "error": exc.message})
        if stack.worker is not None:
            stack.worker.hold()
        server.should_exit = True

    stack.supervise(on_down=on_down, on_up=on_up, on_failure=on_failure)


def ensure_contract(lib: Library, stack: LocalStack) -> Deployment:
    """Check the recorded deployment against the chain (``chain_behind_database`` if the chain lost what the
    database records), or deploy a new contract on a new local ledger (the database is migrated first: a
    deployment is recorded there, and its transaction takes the sender lock there)."""
    settings = lib.settings
    migrate(lib.engine)
    if not settings.deployment_file.exists():
        lib.deploy()
    check_chain(lib, fix=chain_fix(stack))
    return Deployment.load(settings.deployment_file)


def load_demo(lib: Library) -> dict[str, Any]:
    """Catalogue, platform (with its audit writer account), demo departments, a counter and an association,
    each with an API key.

    Idempotent: keys are made once and kept in home/demo-keys.json (0600).
    """
    from ledger.app import onboarding

    keys_file = lib.settings.home / "demo-keys.json"
    setup_platform(lib, admin_key=False)  # what `certledger init` does: schema, catalogue, root, audit writer
    platform = onboarding.ensure_platform(lib, PLATFORM_NAME, PLATFORM_USCC)
    if keys_file.exists():
        return json.loads(keys_file.read_text(encoding="utf-8"))

    demo: dict[str, Any] = {"admin": {"org": PLATFORM_NAME, "key": onboarding.create_api_key(lib, platform.id, ["admin"])}}
    departments = []
    for name, type_names in DEMO_DEPARTMENTS.items():
        with lib.sessions() as session:
            org = session.scalar(select(Organization).where(Organization.uscc == department_uscc(name)))
            types = session.scalars(select(CertificateType).where(CertificateType.name.in_(type_names))).all()
            type_codes = {t.name: t.code for t in types}
        org = onboarding.activate_department(lib, org.id)
        departments.append({
            "org": name, "uscc": org.uscc, "type_codes": type_codes,
            "key": onboarding.create_api_key(lib, org.id, ["department"]),
        })
    demo["departments"] = departments
    counter = onboarding.create_organization(lib, kind="counter", name=DEMO_COUNTER[0], uscc=derive_uscc(DEMO_COUNTER[1], division=CITY_DIVISION))
    demo["counter"] = {"org": DEMO_COUNTER[0], "key": onboarding.create_api_key(lib, counter.id, ["counter"])}
    association = onboarding.create_organization(
        lib, kind="association", name=DEMO_ASSOCIATION[0], uscc=derive_uscc(DEMO_ASSOCIATION[1], division=CITY_DIVISION, prefix="51")
    )
    demo["association"] = {"org": DEMO_ASSOCIATION[0], "key": onboarding.create_api_key(lib, association.id, ["association"])}
    fd = os.open(keys_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(demo, f, ensure_ascii=False, indent=2)
    return demo


def demo_env_lines(demo: dict[str, Any]) -> list[str]:
    """Shell lines a newcomer can ``source``: one API key variable per audience."""
    first = demo["departments"][0]
    return [
        f"export ADMIN_KEY={demo['admin']['key']}",
        f"export DEPT_KEY={first['key']}",
        f"export COUNTER_KEY={demo['counter']['key']}",
        f"export ASSOCIATION_KEY={demo['association']['key']}",
        f"export LICENCE_TYPE={first['type_codes'].get('营业执照', '')}",
    ]
