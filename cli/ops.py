"""The production commands (docs/deployment.md, "Commands"), each configured by the environment alone:

- long-running, stopping cleanly on SIGTERM (or SIGINT, SIGHUP): ``serve`` (the API, ``CERTLEDGER_WORKERS``
  processes), ``worker`` (anchoring; any number at once), ``indexer`` (chain events into the database);
- one-shot: ``migrate``, ``deploy`` (the contract, from the platform admin key), ``init`` (a new platform).

``backup`` and ``restore`` are ``cli.backup``'s. ``up`` runs the same worker and indexer loops and the same app.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any, Optional

import typer

from cli.app import PRODUCTION, _library, app, console, err_console
from ledger.app import logs


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM, SIGINT or SIGHUP: the loop finishes its round and leaves."""
    stop = threading.Event()

    def handle(signum: int, _frame: Any) -> None:
        logging.getLogger(__name__).info("stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, handle)
    return stop


@app.command(rich_help_panel=PRODUCTION)
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (0.0.0.0: every interface)"),
    port: int = typer.Option(8000, "--port"),
    workers: Optional[int] = typer.Option(None, "--workers", help="worker processes (default: CERTLEDGER_WORKERS, "
                                          "else 1)"),
    log_level: str = typer.Option("info", "--log-level", help="info logs one line per request; warning does not"),
) -> None:
    """Serve the HTTP API until SIGTERM: uvicorn worker processes, JSON logs, /healthz, /readyz, /metrics."""
    from api.serve import serve as run
    from api.serve import workers_from_env

    try:
        count = workers or workers_from_env()
    except ValueError as exc:
        err_console.print(f"[bold red]error[/] [workers_invalid] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    run(host, port, count, log_level)


@app.command(rich_help_panel=PRODUCTION)
def worker(interval: float = typer.Option(1.0, "--interval", help="seconds between rounds while all is well")) -> None:
    """The anchoring worker: queued leaves into Merkle batches on chain, until SIGTERM. Several at once are safe."""
    from ledger.plan.monthly import PlanAnchorer

    logs.configure()
    stop = stop_on_signals()
    PlanAnchorer(_library()).run_forever(stop, interval)


@app.command(rich_help_panel=PRODUCTION)
def indexer(interval: float = typer.Option(1.0, "--interval", help="seconds between rounds at the chain head")) -> None:
    """The chain indexer: the contract's events into the database, CERTLEDGER_LOG_RANGE blocks a query, until SIGTERM."""
    from ledger.app.indexing import run_indexer

    logs.configure()
    stop = stop_on_signals()
    run_indexer(_library(), stop, interval)


@app.command(rich_help_panel=PRODUCTION)
def migrate() -> None:
    """Bring the database schema to this release (idempotent; run once per release before the services start)."""
    from ledger.app.config import get_settings
    from ledger.storage.engine import make_engine, schema_revisions
    from ledger.storage.engine import migrate as upgrade

    engine = make_engine(get_settings().database)
    before, head = schema_revisions(engine)
    if before == head:
        console.print(f"the database schema is current (migration {head})")
        return
    upgrade(engine)
    console.print(f"database migrated from {before or 'empty'} to {head}")


@app.command(rich_help_panel=PRODUCTION)
def deploy(
    again: bool = typer.Option(False, "--again", help="deploy a new contract even though one is recorded (a new "
                               "version: the earlier one stays on the trust list)"),
) -> None:
    """Deploy the ledger contract from the platform admin key and record it; prints its address and block."""
    from ledger.chain.contract import Deployment
    from ledger.core.errors import ServiceUnavailable
    from ledger.storage.engine import schema_revisions

    lib = _library()
    current, head = schema_revisions(lib.engine)
    if current != head:
        raise ServiceUnavailable("migrations_pending", f"数据库结构不是本版本的 / the database schema is at {current}, "
                                 f"this release needs {head}: run certledger migrate first")
    recorded = lib.settings.deployment_file
    if recorded.exists() and not again:
        known = Deployment.load(recorded)
        console.print(f"already deployed: {known.address} in block {known.block_number} (chain {known.chain_id}); "
                      "--again deploys a new version")
        return
    done = lib.deploy()
    console.print(f"contract {done.address} deployed in block {done.block_number} (chain {done.chain_id}), "
                  f"recorded in {recorded}")
    err_console.print(f"next: set CERTLEDGER_CONTRACT_ADDRESS={done.address}, run `certledger init`, then "
                      "`certledger trust export` (needs the city root)")


@app.command(rich_help_panel=PRODUCTION)
def init(
    name: Optional[str] = typer.Option(None, "--platform-name", help="the platform organisation's name"),
    uscc: Optional[str] = typer.Option(None, "--platform-uscc", help="its unified social credit code"),
) -> None:
    """Set up a new platform: schema, catalogue, city seal root, admin chain key, platform organisation, audit
    writer, a first admin API key. Idempotent; it says which steps need the offline city root."""
    from ledger.app.platform_setup import (
        PLATFORM_NAME,
        PLATFORM_USCC,
        Step,
        setup_platform,
    )

    colours = {"done": "green", "already": "cyan", "waiting": "yellow"}

    def report(step: Step) -> None:
        root = " [magenta]\\[city root][/]" if step.needs_root else ""
        console.print(f"[{colours[step.outcome]}]{step.outcome:>7}[/]  {step.name}{root}: {step.detail}",
                      soft_wrap=True)

    steps = setup_platform(_library(), name or PLATFORM_NAME, uscc or PLATFORM_USCC, report=report)
    if any(s.needs_root for s in steps):
        err_console.print("[city root]: in production this step is the offline key ceremony (docs/deployment.md, "
                          "Key ceremony); today the root key is made and kept here, encrypted")
    if any(s.outcome == "waiting" for s in steps):
        err_console.print("some steps wait for the contract: run `certledger deploy`, then `certledger init` again")
