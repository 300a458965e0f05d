"""A fresh local stack for a benchmark: its own Hardhat node, IPFS node and database, torn down after.

SQLite in a temporary folder by default; with ``pg_url`` a fresh PostgreSQL schema, dropped at the end.
The contract is deployed, the catalogue imported, the market regulation department activated, and the platform
organization too, as ``certledger init`` does: it is the audit writer, so every lookup a counter makes by identifier
is written to the holder's access log as in service (without it each was refused and dropped, and the HTTP figures
left that write out).
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select, text

from ledger.app.config import Settings
from ledger.app.library import Library
from ledger.app.onboarding import activate_department, ensure_platform
from ledger.devstack.launchers import (
    free_port,
    start_chain_node,
    start_local_ipfs,
    stop,
)
from ledger.devstack.stack import PLATFORM_NAME, PLATFORM_USCC
from ledger.storage.catalogue import import_catalogue
from ledger.storage.engine import make_engine, migrate
from ledger.storage.models import CertificateType, Organization

PASSWORD = "bench-password"


@dataclass
class Stack:
    """The library, its work folder and engine, and the activated market regulation department."""

    lib: Library
    work: Path
    engine: Engine
    market: Organization
    licence: CertificateType


@contextmanager
def fresh_stack(pg_url: str | None = None, prefix: str = "certledger-bench-") -> Iterator[Stack]:
    work = Path(tempfile.mkdtemp(prefix=prefix))
    rpc_port, ipfs_port = free_port(), free_port()
    # Hardhat, as the published figures: Anvil (the local default) slows as contract storage grows.
    hardhat = start_chain_node("hardhat", rpc_port, work / "hardhat")
    ipfs = start_local_ipfs(work / "ipfs", ipfs_port, free_port(), free_port())
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        if pg_url:
            with make_engine(pg_url).begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            engine = make_engine(pg_url, connect_args={"options": f"-csearch_path={schema}"})
            db_url = pg_url
        else:
            db_url = f"sqlite:///{work / 'certledger.db'}"
            engine = make_engine(db_url)
        migrate(engine)
        settings = Settings(home=work / "home", rpc_url=f"http://127.0.0.1:{rpc_port}", database_url=db_url,
                            ipfs_api=f"http://127.0.0.1:{ipfs_port}", key_password=PASSWORD, light_kdf=True,
                            contract_address=None)
        lib = Library.from_settings(settings, engine=engine)
        lib.deploy()
        with lib.sessions() as session:
            import_catalogue(session)
        activate_department(lib, ensure_platform(lib, PLATFORM_NAME, PLATFORM_USCC).id)
        with lib.sessions() as session:
            market = session.execute(select(Organization).where(Organization.name == "市场监督管理局")).scalar_one()
            licence = session.execute(select(CertificateType).where(CertificateType.name == "营业执照")).scalar_one()
        try:
            yield Stack(lib, work, engine, activate_department(lib, market.id), licence)
        finally:
            lib.close()
            engine.dispose()
    finally:
        stop(ipfs)
        stop(hardhat)
        if pg_url:
            with make_engine(pg_url).begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        shutil.rmtree(work, ignore_errors=True)  # the chain, IPFS, database and exports of the run (GBs at 5 M)
