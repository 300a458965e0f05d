"""Operator commands for organizations and trust: activate an organization (with its seal algorithm), rotate or
revoke a seal on chain, export and check the platform's trust list. The admin API does the same over HTTP."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Optional

import typer

from cli.app import (
    ORGANIZATIONS,
    LedgerTyper,
    _library,
    _organization,
    _write_json,
    app,
    console,
    err_console,
)

trust_app = LedgerTyper(no_args_is_help=True, help="The trust list: what a verifier trusts outside any bundle.")
seal_app = LedgerTyper(no_args_is_help=True, help="An organization's seal: rotation and compromise, on chain.")
app.add_typer(trust_app, name="trust", rich_help_panel=ORGANIZATIONS)
app.add_typer(seal_app, name="seal", rich_help_panel=ORGANIZATIONS)
ALGORITHM_HELP = "p256 (CMS seals, PDFs too) or sm2 (GB/T 38540 seals; no PDF seal)"


@app.command(rich_help_panel=ORGANIZATIONS)
def activate(
    org: str = typer.Argument(..., help="the department's or association's unified social credit code"),
    seal_algorithm: str = typer.Option("p256", "--seal-algorithm", help=ALGORITHM_HELP),
) -> None:
    """Activate an organization: chain account, seal certificate of the given algorithm, on-chain registration."""
    from ledger.app.onboarding import activate_department

    lib = _library()
    done = activate_department(lib, _organization(lib, org).id, seal_algorithm=seal_algorithm)
    console.print(f"{done.name} ({done.uscc}) activated: account {done.chain_address}")


@seal_app.command("rotate")
def rotate(
    org: str = typer.Argument(..., help="the organization's unified social credit code"),
    algorithm: Optional[str] = typer.Option(None, "--algorithm", help=ALGORITHM_HELP + "; default: the current one's"),
) -> None:
    """Rotate the seal: anchor what the former seal sealed, then register the new seal on chain."""
    from ledger.issue.seals import rotate_seal

    lib = _library()
    serial = rotate_seal(lib, _organization(lib, org).id, algorithm=algorithm)
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
    console.print(f"seal {serial} revoked on chain from {when.isoformat()}; rotate the seal before issuing again")


@trust_app.command("export")
def export(output: Optional[Path] = typer.Option(None, "-o", "--output", help="file to write (default: stdout)")) -> None:
    """Seal the platform's trust list with the city root key (which must be at hand) and publish it (GET /public/trust)."""
    from ledger.verify.platform_trust import export_trust_list

    _write_json(export_trust_list(_library()), output)


@trust_app.command("show")
def show(
    trust_file: Path = typer.Argument(..., help="a trust list (certledger/trust/1 JSON)"),
    root: Optional[Path] = typer.Option(None, "--root", help="the city seal root (PEM) it must be sealed by"),
) -> None:
    """Check a trust list's seal and show what it trusts, with the root fingerprints to compare out of band."""
    from ledger.verify.trust import load_trust_list

    trust = load_trust_list(trust_file.read_bytes(), root_pem=root.read_bytes() if root else None)
    console.print(f"sealed by the city root; chain {trust.chain_id}, issued {trust.issued_at}")
    for d in trust.deployments:
        console.print(f"  contract {d.address} from block {d.from_block}")
    for der in trust.seal_roots:
        console.print(f"  seal root SHA-256 {hashlib.sha256(der).hexdigest()}")
    console.print(f"  audit writer {trust.audit_writer}")
    for i in trust.issuers:
        console.print(f"  other city's issuer {i.did} ({i.name}), status lists from {i.status_url_prefix or '-'}")


@trust_app.command("add-issuer")
def add_issuer(
    did: str = typer.Argument(..., help="the other city's issuer, did:web:..."),
    name: str = typer.Option(..., "--name", help="发证机构名称 / the issuer's name"),
    did_document: Optional[Path] = typer.Option(None, "--did-document", help="its DID document (JSON), pinned in the "
                                                "trust entry (default: resolve the did:web once, now)"),
    status_url_prefix: Optional[str] = typer.Option(None, "--status-url-prefix", help="fetch its status lists only "
                                                    "from under this URL (default: revocation is not checked)"),
) -> None:
    """Put another city's credential issuer on the trust list (counters then accept its W3C VCs); run
    `certledger trust export` afterwards to publish the list with it."""
    import json

    from ledger.credentials.foreign_issuers import add_issuer as add

    document = json.loads(did_document.read_text("utf-8")) if did_document else None
    issuer = add(_library(), did, name, document, status_url_prefix)
    console.print(f"{issuer.did} ({issuer.name}) is on the trust list; publish it with: certledger trust export")


@trust_app.command("remove-issuer")
def remove_issuer(did: str = typer.Argument(..., help="the other city's issuer")) -> None:
    """Take another city's issuer off the trust list (then re-export it)."""
    from ledger.credentials.foreign_issuers import remove_issuer as remove

    remove(_library(), did)
    console.print(f"{did} is off the trust list; publish it with: certledger trust export")
