"""The local stack: ``up`` (chain node, IPFS node, contract, demo data, then the API, the anchoring worker and the
indexer: the pieces ``serve``, ``worker`` and ``indexer`` run, in one process), ``chain`` (the local chain
alone) and ``compile`` (the contract)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any, Optional

import typer

from cli.app import LOCAL, _write_json, app, console, home_option
from ledger.app import logs
from ledger.app.config import HOME_ENV, REPO_ROOT, get_settings


def _home(home: Optional[Path]) -> Path:
    """``--home``, else CERTLEDGER_HOME (or the global ``--home``), else the repository's ``var/``."""
    return (home or Path(os.environ.get(HOME_ENV, REPO_ROOT / "var"))).resolve()


CHAIN_OPTION = typer.Option("anvil", "--chain", help="the local EVM: anvil (keeps its chain in HOME/anvil) or "
                            "hardhat (in memory: a restart loses the chain)")


def _exit_on_sigterm(signum: int, _frame: Any) -> None:
    """SIGTERM ends ``up`` through its ``finally`` (the nodes it started are stopped); by default it would end the
    process at once and leave them running. uvicorn raises the signal again after its own shutdown: it lands here."""
    raise SystemExit(128 + signum)


@app.command(rich_help_panel=LOCAL)
def up(
    home: Optional[Path] = home_option("where the stack keeps its state (else CERTLEDGER_HOME, else ./var)"),
    rpc_port: int = typer.Option(8545),
    ipfs_port: int = typer.Option(5001),
    gateway_port: int = typer.Option(8080),
    api_port: int = typer.Option(8000),
    chain_kind: str = CHAIN_OPTION,
) -> None:
    """Start the local stack (chain, IPFS, contract, API, anchoring worker, indexer) with demo data; a node that
    dies is started again."""
    import uvicorn

    from api.app import create_app
    from api.serve import listener, proxy_options
    from ledger.app.library import Library
    from ledger.devstack.stack import (
        LocalStack,
        Ports,
        demo_env_lines,
        ensure_contract,
        load_demo,
        local_environment,
        supervise_up,
    )
    from ledger.verify.platform_trust import export_trust_list

    logs.configure()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so that the children are stopped below, as on Ctrl-C
    ports = Ports(rpc_port, ipfs_port, gateway_port, api_port)
    home = _home(home)
    os.environ.update(local_environment(home, ports))
    stack = LocalStack(home, ports, chain_kind)
    try:
        stack.claim()
        with console.status(f"starting the {chain_kind} node"):
            stack.start_chain()
        with console.status("starting the IPFS node"):
            stack.start_ipfs()
        lib = Library.from_settings(get_settings())
        with console.status("deploying the ledger contract, or checking the chain against the database"):
            deployment = ensure_contract(lib, stack)
        with console.status("setting up the platform, the catalogue and demo organizations"):
            demo = load_demo(lib)
        trust_file = home / "trust.json"
        _write_json(export_trust_list(lib), trust_file)
        env_file = home / "demo.env"
        env_file.write_text("\n".join(demo_env_lines(demo)) + "\n", encoding="utf-8")
        env_file.chmod(0o600)
        config = uvicorn.Config(create_app(lib), host="127.0.0.1", port=ports.api, log_config=None, access_log=False,
                                **proxy_options())
        server = uvicorn.Server(config)
        supervise_up(stack, lib, server)  # the anchoring worker and the indexer, held while the chain node restarts
        console.print(
            f"[bold green]certledger is up[/]\n"
            f"  API         http://127.0.0.1:{ports.api}  (docs: /docs; /readyz, /metrics)\n"
            f"  chain       http://127.0.0.1:{ports.rpc}  ({chain_kind}) contract {deployment.address}\n"
            f"  IPFS API    http://127.0.0.1:{ports.ipfs_api}\n"
            f"  demo keys   source {env_file}\n"
            f"  trust list  {trust_file}  (GET /public/trust; certledger verify FILE --rpc URL --trust it)\n"
            "Stop with Ctrl-C; `./dev up` again resumes with everything kept."
        )
        server.run(sockets=[listener("127.0.0.1", ports.api)])
        if stack.supervisor is not None and stack.supervisor.failure is not None:
            raise stack.supervisor.failure
    finally:
        stack.stop()


@app.command(rich_help_panel=LOCAL)
def chain(
    home: Optional[Path] = home_option("the state folder `up` uses (else CERTLEDGER_HOME, else ./var)"),
    rpc_port: int = typer.Option(8545),
    chain_kind: str = CHAIN_OPTION,
) -> None:
    """Start only the local chain, with its state (e.g. to verify bundles with the API stopped)."""
    from ledger.devstack.stack import LocalStack, Ports

    logs.configure()
    stack = LocalStack(_home(home), Ports(rpc=rpc_port), chain_kind)
    try:
        stack.claim()
        stack.start_chain()
        console.print(f"{chain_kind} chain at http://127.0.0.1:{rpc_port}; Ctrl-C stops it")
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
