"""The local stack: ``up`` (chain node, IPFS node, contract, demo data, then the API, the anchoring worker and the
indexer: the pieces ``serve``, ``worker`` and ``indexer`` run, in one process), ``chain`` (the local chain
alone) and ``compile`` (the contract)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Optional

import typer

from cli.app import LOCAL, _write_json, app, console, home_option
from ledger.app import logs
from ledger.app.config import HOME_ENV, REPO_ROOT, get_settings


def _home(home: Optional[Path]) -> Path:
    """``--home``, else CERTLEDGER_HOME (or the global ``--home``), else the repository's ``var/``."""
    return (home or Path(os.environ.get(HOME_ENV, REPO_ROOT / "var"))).resolve()


@app.command(rich_help_panel=LOCAL)
def up(
    home: Optional[Path] = home_option("where the stack keeps its state (else CERTLEDGER_HOME, else ./var)"),
    rpc_port: int = typer.Option(8545),
    ipfs_port: int = typer.Option(5001),
    gateway_port: int = typer.Option(8080),
    api_port: int = typer.Option(8000),
) -> None:
    """Start the local stack (Hardhat, IPFS, contract, API, anchoring worker, indexer) with demo data."""
    import uvicorn

    from api.app import create_app
    from api.serve import listener
    from ledger.app.library import Library
    from ledger.devstack.services import BackgroundWorkers
    from ledger.devstack.stack import (
        LocalStack,
        Ports,
        demo_env_lines,
        ensure_contract,
        load_demo,
        local_environment,
    )
    from ledger.verify.platform_trust import export_trust_list

    logs.configure()
    ports = Ports(rpc_port, ipfs_port, gateway_port, api_port)
    home = _home(home)
    os.environ.update(local_environment(home, ports))
    stack = LocalStack(home, ports)
    workers: BackgroundWorkers | None = None
    try:
        with console.status("starting the Hardhat node and replaying its journal"):
            stack.start_chain()
        with console.status("starting the IPFS node"):
            stack.start_ipfs()
        lib = Library.from_settings(get_settings())
        with console.status("deploying or finding the ledger contract"):
            deployment = ensure_contract(lib, stack.journal)
        with console.status("setting up the platform, the catalogue and demo organizations"):
            demo = load_demo(lib)
        trust_file = home / "trust.json"
        _write_json(export_trust_list(lib), trust_file)
        env_file = home / "demo.env"
        env_file.write_text("\n".join(demo_env_lines(demo)) + "\n", encoding="utf-8")
        env_file.chmod(0o600)
        workers = BackgroundWorkers(lib)
        workers.start()
        console.print(
            f"[bold green]certledger is up[/]\n"
            f"  API         http://127.0.0.1:{ports.api}  (docs: /docs; /readyz, /metrics)\n"
            f"  chain       http://127.0.0.1:{ports.rpc}  contract {deployment.address}\n"
            f"  IPFS API    http://127.0.0.1:{ports.ipfs_api}\n"
            f"  demo keys   source {env_file}\n"
            f"  trust list  {trust_file}  (GET /public/trust; certledger verify FILE --rpc URL --trust it)\n"
            "Stop with Ctrl-C; `./dev up` again resumes with everything kept."
        )
        config = uvicorn.Config(create_app(lib), host="127.0.0.1", port=ports.api, log_config=None, access_log=False)
        uvicorn.Server(config).run(sockets=[listener("127.0.0.1", ports.api)])
    finally:
        if workers is not None:
            workers.hold()
        stack.stop()


@app.command(rich_help_panel=LOCAL)
def chain(
    home: Optional[Path] = home_option("the state folder `up` uses (else CERTLEDGER_HOME, else ./var)"),
    rpc_port: int = typer.Option(8545),
) -> None:
    """Start only the local chain, rebuilt from its journal (e.g. to verify bundles with the API stopped)."""
    from ledger.chain.client import ChainClient
    from ledger.devstack.replay import replay
    from ledger.devstack.stack import LocalStack, Ports

    logs.configure()
    stack = LocalStack(_home(home), Ports(rpc=rpc_port))
    try:
        stack.start_chain()
        replayed = replay(stack.journal, ChainClient(f"http://127.0.0.1:{rpc_port}").w3)
        console.print(f"chain at http://127.0.0.1:{rpc_port}: {replayed} transactions replayed; Ctrl-C stops it")
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


@app.command(rich_help_panel=LOCAL)
def compile() -> None:
    """Recompile contracts/CertLedger.sol and rewrite ledger/chain/artifacts/ (commit the result)."""
    from ledger.chain.compiler import compile_contract, write_artifact

    path = write_artifact(compile_contract())
    console.print(f"wrote {path}")
