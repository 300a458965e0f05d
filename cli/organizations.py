"""Operator commands for organizations and trust: activate an organization (with its seal algorithm), rotate or
revoke a seal on chain, export and check the platform's trust list. The admin API does the same over HTTP."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Optional

import typer

from cli.common import _fail, _library, _organization, _write_json, console, err_console
from ledger.core.errors import CertledgerError

trust_app = typer.Typer(no_args_is_help=True, help="The trust list: what a verifier trusts outside any bundle.")
seal_app = typer.Typer(no_args_is_help=True, help="An organization's seal: rotation and compromise, on chain.")
ALGORITHM_HELP = "p256 (CMS seals, PDFs too) or sm2 (GB/T 38540 seals; no PDF seal)"


def activate(
    org: str = typer.Argument(..., help="the department's or association's unified social credit code"),
    seal_algorithm: str = typer.Option("p256", "--seal-algorithm", help=ALGORITHM_HELP),
) -> None:
    """Activate an organization: chain account, seal certificate of the given algorithm, on-chain registration."""
    from ledger.app.onboarding import activate_department

    try:
        lib = _library()
        done = activate_department(lib, _organization(lib, org).id, seal_algorithm=seal_algorithm)
    except CertledgerError as exc:
        _fail(exc)
    console.print(f"{done.name} ({done.uscc}) activated: account {done.chain_address}")


@seal_app.command("rotate")
def rotate(
    org: str = typer.Argument(..., help="the organization's unified social credit code"),
    algorithm: Optional[str] = typer.Option(None, "--algorithm", help=ALGORITHM_HELP + "; default: the current one's"),
) -> None:
    """Rotate the seal: anchor what the former seal sealed, then register the new seal on chain."""
    from ledger.issue.seals import rotate_seal

    try:
        lib = _library()
        serial = rotate_seal(lib, _organization(lib, org).id, algorithm=algorithm)
    except CertledgerError as exc:
        _fail(exc)
    console.print(f"new seal {serial:x} registered on chain")


@seal_app.command("compromise")
def compromise(
    org: str = typer.Argument(..., help="the organization's unified social credit code"),
    serial: str = typer.Argument(..., help="the compromised seal certificate's serial (hex)"),
    at: Optional[str] = typer.Option(None, "--at", help="ISO 8601 time the key was last known safe (default: now)"),
) -> None:
    """Report a seal compromised (revokeSeal on chain): seals made or anchored from then on fail; rotate next."""
    from ledger.issue.seals import report_seal_compromise

    try:
        when = dt.datetime.fromisoformat(at) if at else dt.datetime.now(dt.UTC)
        lib = _library()
        report_seal_compromise(lib, _organization(lib, org).id, int(serial, 16), when)
    except ValueError as exc:
        err_console.print(f"[red]{exc}: give the serial in hex and the time as ISO 8601[/]")
        raise typer.Exit(2) from None
    except CertledgerError as exc:
        _fail(exc)
    console.print(f"seal {serial} revoked on chain from {when.isoformat()}; rotate the seal before issuing again")


@trust_app.command("export")
def export(output: Optional[Path] = typer.Option(None, "-o", "--output", help="file to write (default: stdout)")) -> None:
    """Seal the platform's trust list with the city root key (which must be at hand) and publish it (GET /public/trust)."""
    from ledger.verify.platform_trust import export_trust_list

    try:
        doc = export_trust_list(_library())
    except CertledgerError as exc:
        _fail(exc)
    _write_json(doc, output)


@trust_app.command("show")
def show(
    trust_file: Path = typer.Argument(..., help="a trust list (certledger/trust/1 JSON)"),
    root: Optional[Path] = typer.Option(None, "--root", help="the city seal root (PEM) it must be sealed by"),
) -> None:
    """Check a trust list's seal and show what it trusts, with the root fingerprints to compare out of band."""
    from ledger.verify.trust import load_trust_list

    try:
        trust = load_trust_list(trust_file.read_bytes(), root_pem=root.read_bytes() if root else None)
    except CertledgerError as exc:
        _fail(exc)
    console.print(f"sealed by the city root; chain {trust.chain_id}, issued {trust.issued_at}")
    for d in trust.deployments:
        console.print(f"  contract {d.address} from block {d.from_block}")
    for der in trust.seal_roots:
        console.print(f"  seal root SHA-256 {hashlib.sha256(der).hexdigest()}")
    console.print(f"  audit writer {trust.audit_writer}")
