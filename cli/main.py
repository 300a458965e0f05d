"""The ``certledger`` command: run the local stack, issue, verify, export bundles, anchor now, change
certificates over their lifecycle (status, renew, amend, history), issue holder tokens, submit
association report summaries, activate organizations, rotate or revoke seals, export the trust list."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from cli.common import (
    _fail,
    _library,
    _organization,
    _read_json,
    _show_result,
    _write_json,
    console,
    err_console,
)
from cli.organizations import activate, seal_app, trust_app
from ledger.app import logs
from ledger.app.config import REPO_ROOT, get_settings
from ledger.core.errors import CertledgerError
from ledger.verify.trust import TRUST_FILE_ENV

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
app.add_typer(trust_app, name="trust")
app.add_typer(seal_app, name="seal")
app.command()(activate)


CHAIN_OPTION = typer.Option("anvil", "--chain", help="the local EVM: anvil (keeps its chain in HOME/anvil) or "
                            "hardhat (in memory: a restart loses the chain)")


@app.command()
def up(
    home: Path = typer.Option(REPO_ROOT / "var", help="where the stack keeps its state"),
    rpc_port: int = typer.Option(8545),
    ipfs_port: int = typer.Option(5001),
    gateway_port: int = typer.Option(8080),
    api_port: int = typer.Option(8000),
    chain_kind: str = CHAIN_OPTION,
) -> None:
    """Start the local stack (chain, IPFS, contract, API, anchoring worker) with demo data; a node that dies is
    started again."""
    import uvicorn

    from api.app import create_app
    from api.serve import listener
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
    ports = Ports(rpc_port, ipfs_port, gateway_port, api_port)
    home = home.resolve()
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
        with console.status("loading the catalogue and demo organizations"):
            demo = load_demo(lib)
        trust_file = home / "trust.json"
        _write_json(export_trust_list(lib), trust_file)
        env_file = home / "demo.env"
        env_file.write_text("\n".join(demo_env_lines(demo)) + "\n", encoding="utf-8")
        env_file.chmod(0o600)
        config = uvicorn.Config(create_app(lib), host="127.0.0.1", port=ports.api, log_config=None, access_log=False)
        server = uvicorn.Server(config)
        supervise_up(stack, lib, server)
        console.print(
            f"[bold green]certledger is up[/]\n"
            f"  API         http://127.0.0.1:{ports.api}  (docs: /docs)\n"
            f"  chain       http://127.0.0.1:{ports.rpc}  ({chain_kind}) contract {deployment.address}\n"
            f"  IPFS API    http://127.0.0.1:{ports.ipfs_api}\n"
            f"  demo keys   source {env_file}\n"
            f"  trust list  {trust_file}  (GET /public/trust; certledger verify FILE --rpc URL --trust it)\n"
            "Stop with Ctrl-C; `./dev up` again resumes with everything kept."
        )
        server.run(sockets=[listener("127.0.0.1", ports.api)])
        if stack.supervisor is not None and stack.supervisor.failure is not None:
            raise stack.supervisor.failure
    except CertledgerError as exc:
        _fail(exc)
    finally:
        stack.stop()


@app.command()
def chain(
    home: Path = typer.Option(REPO_ROOT / "var", help="the state folder `up` uses"),
    rpc_port: int = typer.Option(8545),
    chain_kind: str = CHAIN_OPTION,
) -> None:
    """Start only the local chain, with its state (e.g. to verify bundles with the API stopped)."""
    from ledger.devstack.stack import LocalStack, Ports

    logs.configure()
    stack = LocalStack(home.resolve(), Ports(rpc=rpc_port), chain_kind)
    try:
        stack.claim()
        stack.start_chain()
        console.print(f"{chain_kind} chain at http://127.0.0.1:{rpc_port}; Ctrl-C stops it")
        threading.Event().wait()
    except CertledgerError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


@app.command()
def compile() -> None:
    """Recompile contracts/CertLedger.sol and rewrite ledger/chain/artifacts/ (commit the result)."""
    from ledger.chain.compiler import compile_contract, write_artifact

    path = write_artifact(compile_contract())
    console.print(f"wrote {path}")


@app.command()
def issue(
    request_file: Path = typer.Argument(..., help="JSON: one issue request or a list of them"),
    org: str = typer.Option(..., "--org", help="the issuing department's unified social credit code"),
) -> None:
    """Issue certificates from a JSON file as a department (operator tool; the API is the usual way)."""
    from ledger.issue.issuance import issue_many

    requests = _read_json(request_file)
    requests = requests if isinstance(requests, list) else [requests]
    try:
        lib = _library()
        for cert in issue_many(lib, _organization(lib, org), requests):
            console.print(cert.identifier)
    except CertledgerError as exc:
        _fail(exc)


@app.command()
def verify(
    bundle_file: Path = typer.Argument(..., help="a proof bundle (certledger/bundle/1 JSON)"),
    rpc: str = typer.Option(..., "--rpc", help="JSON-RPC URL of any node of the ledger's chain"),
    trust: Optional[Path] = typer.Option(None, "--trust", envvar=TRUST_FILE_ENV,
                                         help="the platform's trust list (GET /public/trust); required"),
    root: Optional[Path] = typer.Option(None, "--root", help="the city seal root (PEM) you trust: the trust list "
                                        "must be sealed by it"),
    document: Optional[Path] = typer.Option(None, "--document", help="the certificate's PDF, to check its digest"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Verify a proof bundle with only a JSON-RPC endpoint and the trust list: no API, no database."""
    from ledger.verify.trust import load_trust_list, no_trust_list

    if trust is None:
        _fail(no_trust_list())
    from ledger.verify.bundle import load_bundle
    from ledger.verify.standalone import verify_bundle_standalone

    try:
        trusted = load_trust_list(trust.read_bytes(), root_pem=root.read_bytes() if root else None) if trust else None
        bundle = load_bundle(bundle_file.read_bytes())
        result = verify_bundle_standalone(bundle, rpc, trusted, document=document.read_bytes() if document else None)
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
    from ledger.verify.stored import export_bundle

    try:
        bundle = export_bundle(_library(), identifier)
    except CertledgerError as exc:
        _fail(exc)
    _write_json(bundle, output)


@app.command()
def anchor(now: bool = typer.Option(False, "--now", help="anchor every queued leaf now, whatever the batch policy")) -> None:
    """Run the anchoring worker once."""
    from ledger.issue.anchoring import Anchorer

    try:
        batches = Anchorer(_library()).run_once(force=now)
    except CertledgerError as exc:
        _fail(exc)
    for b in batches:
        console.print(f"batch {b.id}: {b.leaf_count} leaves, root 0x{bytes(b.root).hex()}, tx 0x{bytes(b.tx_hash).hex()}")
    if not batches:
        console.print("nothing to anchor")


@app.command("holder-token")
def holder_token(
    id_number: str = typer.Argument(..., help="the holder's ID number (citizen ID, credit code, ...)"),
    id_type: str = typer.Option("111", "--id-type", help="持证主体代码类型: 111 citizen ID, 001 credit code, ..."),
    minutes: int = typer.Option(60, "--minutes", help="how long the token is valid (at most 1440)"),
) -> None:
    """Issue a holder token (stands in for the city's identity provider); prints only the token."""
    import datetime as dt

    from ledger.holders.tokens import issue_token

    try:
        token = issue_token(_library(), id_type, id_number, ttl=dt.timedelta(minutes=minutes))
    except CertledgerError as exc:
        _fail(exc)
    sys.stdout.write(token.token + "\n")
    err_console.print(f"valid until {token.expires_at.isoformat()}; send it as: Authorization: Bearer <token>")


# ---------------------------------------------------------------------- lifecycle (operator tools; the API is the usual way)


def _show_change(change: Any) -> None:
    console.print(f"{change.action}: {change.changed} changed, {change.already_on_chain} found on chain and recorded, "
                  f"{change.unchanged} unchanged; status {change.status}")
    for t in change.transactions:
        console.print(f"  tx {t.tx_hash} block {t.block_number}: {t.certificates} certificates, {t.gas_used:,} gas")


@app.command()
def status(
    identifier: str = typer.Argument(..., help="the certificate's identifier"),
    action: str = typer.Argument(..., help="suspend | reinstate | revoke | cancel | withdraw"),
    org: str = typer.Option(..., "--org", help="the issuing department's unified social credit code"),
    reason: str = typer.Option(..., "--reason", help="why (kept in the certificate's history)"),
    reason_code: int = typer.Option(0, "--reason-code", help="numeric reason recorded on chain"),
) -> None:
    """Change one certificate's status, on chain and in the database."""
    from ledger.issue.status_changes import change_status

    try:
        lib = _library()
        _show_change(change_status(lib, _organization(lib, org), [identifier], action, reason,
                                   reason_code=reason_code, actor="cli"))
    except CertledgerError as exc:
        _fail(exc)


@app.command("status-many")
def status_many(
    action: str = typer.Argument(..., help="suspend | reinstate | revoke | cancel | withdraw"),
    identifiers_file: Path = typer.Argument(..., help="identifiers, one per line"),
    org: str = typer.Option(..., "--org", help="the issuing department's unified social credit code"),
    reason: str = typer.Option(..., "--reason", help="why (kept in each certificate's history)"),
    reason_code: int = typer.Option(0, "--reason-code", help="numeric reason recorded on chain"),
) -> None:
    """Change many certificates' status in a few transactions (all are checked before any is sent)."""
    from ledger.issue.status_changes import change_status

    identifiers = [line.strip() for line in identifiers_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    try:
        lib = _library()
        _show_change(change_status(lib, _organization(lib, org), identifiers, action, reason,
                                   reason_code=reason_code, actor="cli"))
    except CertledgerError as exc:
        _fail(exc)


def _new_version(identifier: str, action: str, changes: dict[str, Any], org: str, reason: str) -> None:
    from ledger.issue.versions import new_version

    try:
        lib = _library()
        new = new_version(lib, _organization(lib, org), identifier, action, changes, reason=reason, actor="cli")
    except CertledgerError as exc:
        _fail(exc)
    console.print(new.issued.identifier)
    err_console.print(f"{new.supersedes} is superseded (08), tx {new.tx_hash}; the new version is queued for anchoring")


@app.command()
def renew(
    identifier: str = typer.Argument(..., help="the certificate's current version"),
    org: str = typer.Option(..., "--org", help="the issuing department's unified social credit code"),
    reason: str = typer.Option(..., "--reason"),
    valid_until: Optional[str] = typer.Option(None, "--valid-until", help="YYYY-MM-DD (default: the type's rule)"),
    valid_from: Optional[str] = typer.Option(None, "--valid-from", help="YYYY-MM-DD (default: the issue date)"),
    issue_date: Optional[str] = typer.Option(None, "--issue-date", help="YYYY-MM-DD (default: today)"),
) -> None:
    """Renew (延续): issue the next version with a new validity period; prints its identifier."""
    changes = {"valid_until": valid_until, "valid_from": valid_from, "issue_date": issue_date}
    _new_version(identifier, "renew", {k: v for k, v in changes.items() if v}, org, reason)


@app.command()
def amend(
    identifier: str = typer.Argument(..., help="the certificate's current version"),
    changes_file: Path = typer.Argument(..., help='JSON of the changes, e.g. {"fields": {"address": "..."}}'),
    org: str = typer.Option(..., "--org", help="the issuing department's unified social credit code"),
    reason: str = typer.Option(..., "--reason"),
) -> None:
    """Amend (变更): issue the next version with changed fields (never another holder); prints its identifier."""
    _new_version(identifier, "amend", _read_json(changes_file), org, reason)


@app.command()
def history(
    identifier: str = typer.Argument(...),
    as_json: bool = typer.Option(False, "--json", help="print the history as JSON"),
) -> None:
    """A certificate's history: every version's issue and status changes, with their transactions."""
    from ledger.issue.history import history as certificate_history

    try:
        found = certificate_history(_library(), identifier)
    except CertledgerError as exc:
        _fail(exc)
    if as_json:
        console.print_json(json.dumps({"identifier": found.identifier, "current_version": found.current_version,
                                       "events": [e.__dict__ for e in found.events]}, ensure_ascii=False, default=str))
        return
    table = Table(title=f"{found.identifier}\ncurrent version: {found.current_version}")
    for col in ("at", "action", "status", "version", "reason", "tx", "by"):
        table.add_column(col)
    for e in found.events:
        table.add_row(e.at.isoformat(timespec="seconds"), e.action, e.status, e.identifier.split(".")[-2],
                      e.reason or "", e.tx_hash or "", e.actor or e.by)
    console.print(table)


# ---------------------------------------------------------------------- report summaries (the API is the usual way)


@app.command("report-submit")
def report_submit(
    reports_file: Path = typer.Argument(..., help="JSON: one report summary or a list of them (API shape)"),
    org: str = typer.Option(..., "--org", help="the association's unified social credit code"),
) -> None:
    """Submit report summaries as an association (all or none); prints each identifier."""
    from ledger.issue.reports import submit_batch

    summaries = _read_json(reports_file)
    try:
        lib = _library()
        for report in submit_batch(lib, _organization(lib, org), summaries if isinstance(summaries, list) else [summaries]):
            sys.stdout.write(report.identifier + "\n")
    except CertledgerError as exc:
        _fail(exc)


@app.command("report-bundle")
def report_bundle(
    identifier: str = typer.Argument(..., help="RS.<association credit code>.<report number>"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="file to write (default: stdout)"),
) -> None:
    """Export an anchored report summary's proof bundle (verify it with `certledger verify`)."""
    from ledger.issue.reports import export_bundle

    try:
        bundle = export_bundle(_library(), identifier)
    except CertledgerError as exc:
        _fail(exc)
    _write_json(bundle, output)
