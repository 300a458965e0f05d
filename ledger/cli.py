"""The ``certledger`` command: run the local stack, issue, verify, export bundles, anchor now."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from ledger import logs
from ledger.config import REPO_ROOT, get_settings
from ledger.errors import CertledgerError

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console()
err_console = Console(stderr=True)
log = logging.getLogger("certledger")


def _fail(exc: CertledgerError) -> None:
    err_console.print(f"[bold red]error[/] [{exc.code}] {exc.message}")
    raise typer.Exit(2)


def _library():
    from ledger.library import Library

    return Library.from_settings(get_settings())


def _show_result(result: Any) -> None:
    data = result.to_dict()
    colour = {"VALID": "green", "INVALID": "red"}.get(data["verdict"], "yellow")
    table = Table(title=f"verdict: [bold {colour}]{data['verdict']}[/]")
    for col in ("check", "status", "reason", "message"):
        table.add_column(col)
    for c in data["checks"]:
        table.add_row(c["name"], c["status"], c["reason"], c.get("message", ""))
    console.print(table)


@app.command()
def up(
    home: Path = typer.Option(REPO_ROOT / "var", help="where the stack keeps its state"),
    rpc_port: int = typer.Option(8545),
    ipfs_port: int = typer.Option(5001),
    gateway_port: int = typer.Option(8080),
    api_port: int = typer.Option(8000),
) -> None:
    """Start the local stack (Hardhat, IPFS, contract, API, anchoring worker) with demo data."""
    import uvicorn

    from api.app import create_app
    from api.serve import listener
    from ledger.anchoring import Anchorer
    from ledger.library import Library
    from ledger.stack import LocalStack, Ports, demo_env_lines, ensure_contract, load_demo, local_environment

    logs.configure()
    ports = Ports(rpc_port, ipfs_port, gateway_port, api_port)
    home = home.resolve()
    os.environ.update(local_environment(home, ports))
    stack = LocalStack(home, ports)
    stop_worker = threading.Event()
    try:
        with console.status("starting the Hardhat node and replaying its journal"):
            stack.start_chain()
        with console.status("starting the IPFS node"):
            stack.start_ipfs()
        lib = Library.from_settings(get_settings())
        with console.status("deploying or finding the ledger contract"):
            deployment = ensure_contract(lib, stack.journal)
        with console.status("loading the catalogue and demo organizations"):
            demo = load_demo(lib)
        env_file = home / "demo.env"
        env_file.write_text("\n".join(demo_env_lines(demo)) + "\n", encoding="utf-8")
        env_file.chmod(0o600)
        worker = threading.Thread(target=Anchorer(lib).run_forever, args=(stop_worker,), daemon=True)
        worker.start()
        console.print(
            f"[bold green]certledger is up[/]\n"
            f"  API         http://127.0.0.1:{ports.api}  (docs: /docs)\n"
            f"  chain       http://127.0.0.1:{ports.rpc}  contract {deployment.address}\n"
            f"  IPFS API    http://127.0.0.1:{ports.ipfs_api}\n"
            f"  demo keys   source {env_file}\n"
            "Stop with Ctrl-C; `./dev up` again resumes with everything kept."
        )
        config = uvicorn.Config(create_app(lib), host="127.0.0.1", port=ports.api, log_config=None, access_log=False)
        uvicorn.Server(config).run(sockets=[listener("127.0.0.1", ports.api)])
    except CertledgerError as exc:
        _fail(exc)
    finally:
        stop_worker.set()
        stack.stop()


@app.command()
def chain(
    home: Path = typer.Option(REPO_ROOT / "var", help="the state folder `up` uses"),
    rpc_port: int = typer.Option(8545),
) -> None:
    """Start only the local chain, rebuilt from its journal (e.g. to verify bundles with the API stopped)."""
    from ledger.chain import ChainClient
    from ledger.stack import LocalStack, Ports

    logs.configure()
    stack = LocalStack(home.resolve(), Ports(rpc=rpc_port))
    try:
        stack.start_chain()
        replayed = stack.journal.replay(ChainClient(f"http://127.0.0.1:{rpc_port}").w3)
        console.print(f"chain at http://127.0.0.1:{rpc_port}: {replayed} transactions replayed; Ctrl-C stops it")
        threading.Event().wait()
    except CertledgerError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


@app.command()
def compile() -> None:
    """Recompile contracts/CertLedger.sol and rewrite ledger/artifacts/ (commit the result)."""
    from ledger.compiler import compile_contract, write_artifact

    path = write_artifact(compile_contract())
    console.print(f"wrote {path}")


@app.command()
def issue(
    request_file: Path = typer.Argument(..., help="JSON: one issue request or a list of them"),
    org: str = typer.Option(..., "--org", help="the issuing department's unified social credit code"),
) -> None:
    """Issue certificates from a JSON file as a department (operator tool; the API is the usual way)."""
    from sqlalchemy import select

    from ledger.issuance import issue_many
    from ledger.records import Organization

    try:
        requests = json.loads(request_file.read_text(encoding="utf-8"))
    except ValueError as exc:
        err_console.print(f"[red]{request_file} is not JSON: {exc}[/]")
        raise typer.Exit(2)
    requests = requests if isinstance(requests, list) else [requests]
    try:
        lib = _library()
        with lib.sessions() as session:
            department = session.scalar(select(Organization).where(Organization.uscc == org))
        if department is None:
            err_console.print(f"[red]no organization with credit code {org}[/]")
            raise typer.Exit(2)
        for cert in issue_many(lib, department, requests):
            console.print(cert.identifier)
    except CertledgerError as exc:
        _fail(exc)


@app.command()
def verify(
    bundle_file: Path = typer.Argument(..., help="a proof bundle (certledger/bundle/1 JSON)"),
    rpc: str = typer.Option(..., "--rpc", help="JSON-RPC URL of any node of the ledger's chain"),
    root: Optional[Path] = typer.Option(None, "--root", help="the city seal root (PEM) you trust"),
    document: Optional[Path] = typer.Option(None, "--document", help="the certificate's PDF, to check its digest"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Verify a proof bundle with only a JSON-RPC endpoint: no API, no database."""
    from ledger.bundle import load_bundle, verify_bundle_standalone

    try:
        bundle = load_bundle(bundle_file.read_bytes())
        result = verify_bundle_standalone(
            bundle, rpc, root_pem=root.read_bytes() if root else None,
            document=document.read_bytes() if document else None,
        )
    except CertledgerError as exc:
        _fail(exc)
    if as_json:
        console.print_json(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        _show_result(result)
    raise typer.Exit(0 if result.verdict.value == "VALID" else 1)


@app.command("export-bundle")
def export_bundle_cmd(
    identifier: str = typer.Argument(...),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="file to write (default: stdout)"),
) -> None:
    """Export a certificate's self-contained proof bundle."""
    from ledger.bundle import export_bundle

    try:
        bundle = export_bundle(_library(), identifier)
    except CertledgerError as exc:
        _fail(exc)
    text = json.dumps(bundle, ensure_ascii=False, indent=2)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        err_console.print(f"wrote {output}")
    else:
        sys.stdout.write(text + "\n")


@app.command()
def anchor(now: bool = typer.Option(False, "--now", help="anchor every queued leaf now, whatever the batch policy")) -> None:
    """Run the anchoring worker once."""
    from ledger.anchoring import Anchorer

    try:
        batches = Anchorer(_library()).run_once(force=now)
    except CertledgerError as exc:
        _fail(exc)
    for b in batches:
        console.print(f"batch {b.id}: {b.leaf_count} leaves, root 0x{bytes(b.root).hex()}, tx 0x{bytes(b.tx_hash).hex()}")
    if not batches:
        console.print("nothing to anchor")
