"""Certificates and report summaries from the command line (operator tools; the API is the usual way): issue,
verify a bundle, export bundles, anchor now, holder tokens, status changes, renewals, amendments, history."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from cli.app import (
    CERTIFICATES,
    _fail,
    _library,
    _organization,
    _read_json,
    _show_result,
    _warn,
    _write_json,
    app,
    console,
    err_console,
)
from ledger.verify.trust import TRUST_FILE_ENV


@app.command(rich_help_panel=CERTIFICATES)
def issue(
    request_file: Path = typer.Argument(..., help="JSON: one issue request or a list of them"),
    org: str = typer.Option(..., "--org", help="the issuing department's unified social credit code"),
) -> None:
    """Issue certificates from a JSON file as a department (operator tool; the API is the usual way)."""
    from ledger.issue.issuance import issue_many

    requests = _read_json(request_file)
    requests = requests if isinstance(requests, list) else [requests]
    lib = _library()
    for cert in issue_many(lib, _organization(lib, org), requests):
        console.print(cert.identifier)


# certledger verify's exit codes by verdict (2 is every refusal: no trust list, a file that is not a bundle...)
VERIFY_EXIT_CODES = {"VALID": 0, "INVALID": 1, "PENDING": 3, "ERROR": 4}


@app.command(rich_help_panel=CERTIFICATES)
def verify(
    bundle_file: Path = typer.Argument(..., help="a proof bundle (certledger/bundle/1 JSON), or an anchored record "
                                       "(certledger/anchored-record/1: the monthly plan report)"),
    rpc: str = typer.Option(..., "--rpc", help="JSON-RPC URL of any node of the ledger's chain"),
    trust: Optional[Path] = typer.Option(None, "--trust", envvar=TRUST_FILE_ENV,
                                         help="the platform's trust list (GET /public/trust); required"),
    root: Optional[Path] = typer.Option(None, "--root", help="the city seal root (PEM) you trust: the trust list "
                                        "must be sealed by it"),
    document: Optional[Path] = typer.Option(None, "--document", help="the certificate's PDF, to check its digest"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Verify a proof bundle with only a JSON-RPC endpoint and the trust list: no API, no database.

    Exit code: 0 VALID, 1 INVALID, 2 refused (no trust list, unreadable file), 3 PENDING (待上链: sealed, not yet
    anchored), 4 ERROR (the chain node could not answer)."""
    from ledger.verify.bundle import MAX_BUNDLE_BYTES, load_bundle
    from ledger.verify.standalone import ANCHORED_FORMAT, verify_anchored_record, verify_bundle_standalone
    from ledger.verify.trust import load_trust_list, no_trust_list

    if trust is None:
        _fail(no_trust_list())
    trusted = load_trust_list(trust.read_bytes(), root_pem=root.read_bytes() if root else None)
    data = bundle_file.read_bytes()
    try:
        doc = json.loads(data) if len(data) <= MAX_BUNDLE_BYTES else None
    except ValueError:
        doc = None  # load_bundle says what is wrong with it
    if isinstance(doc, dict) and doc.get("format") == ANCHORED_FORMAT:  # the audit writer's: the monthly plan report
        result = verify_anchored_record(doc, rpc, trusted)
    else:
        bundle = load_bundle(data)
        result = verify_bundle_standalone(bundle, rpc, trusted, document=document.read_bytes() if document else None)
    if as_json:
        console.print_json(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        _show_result(result)
    raise typer.Exit(VERIFY_EXIT_CODES[result.verdict.value])


@app.command("export-bundle", rich_help_panel=CERTIFICATES)
def export_bundle_cmd(
    identifier: str = typer.Argument(...),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="file to write (default: stdout)"),
) -> None:
    """Export a certificate's self-contained proof bundle."""
    from ledger.verify.stored import export_bundle

    _write_json(export_bundle(_library(), identifier), output)


@app.command(rich_help_panel=CERTIFICATES)
def anchor(now: bool = typer.Option(False, "--now", help="anchor every queued leaf now, whatever the batch policy")) -> None:
    """Run the anchoring worker once: noted lookups into the access log, then what is due (everything with --now)."""
    from ledger.core.errors import CertledgerError
    from ledger.holders.lookups import record_noted_lookups
    from ledger.issue.anchoring import Anchorer

    lib = _library()
    try:
        record_noted_lookups(lib)
    except CertledgerError as exc:
        _warn(exc)
    batches = Anchorer(lib).run_once(force=now)
    for b in batches:
        console.print(f"batch {b.id}: {b.leaf_count} leaves, root 0x{bytes(b.root).hex()}, tx 0x{bytes(b.tx_hash).hex()}")
    if not batches:
        console.print("nothing to anchor")


@app.command("holder-token", rich_help_panel=CERTIFICATES)
def holder_token(
    id_number: str = typer.Argument(..., help="the holder's ID number (citizen ID, credit code, ...)"),
    id_type: str = typer.Option("111", "--id-type", help="持证主体代码类型: 111 citizen ID, 001 credit code, ..."),
    minutes: int = typer.Option(60, "--minutes", help="how long the token is valid (at most 1440)"),
) -> None:
    """Issue a holder token (stands in for the city's identity provider); prints only the token."""
    from ledger.holders.tokens import issue_token

    token = issue_token(_library(), id_type, id_number, ttl=dt.timedelta(minutes=minutes))
    sys.stdout.write(token.token + "\n")
    err_console.print(f"valid until {token.expires_at.isoformat()}; send it as: Authorization: Bearer <token>")


# ---------------------------------------------------------------------- lifecycle


def _show_change(change: Any) -> None:
    console.print(f"{change.action}: {change.changed} changed, {change.already_on_chain} found on chain and recorded, "
                  f"{change.unchanged} unchanged; status {change.status}")
    for t in change.transactions:
        console.print(f"  tx {t.tx_hash} block {t.block_number}: {t.certificates} certificates, {t.gas_used:,} gas")


def _change(identifiers: list[str], action: str, org: str, reason: str, reason_code: int) -> None:
    from ledger.issue.status_changes import change_status

    lib = _library()
    _show_change(change_status(lib, _organization(lib, org), identifiers, action, reason,
                               reason_code=reason_code, actor="cli"))


@app.command(rich_help_panel=CERTIFICATES)
def status(
    identifier: str = typer.Argument(..., help="the certificate's identifier"),
    action: str = typer.Argument(..., help="suspend | reinstate | revoke | cancel | withdraw"),
    org: str = typer.Option(..., "--org", help="the issuing department's unified social credit code"),
    reason: str = typer.Option(..., "--reason", help="why (kept in the certificate's history)"),
    reason_code: int = typer.Option(0, "--reason-code", help="numeric reason recorded on chain"),
) -> None:
    """Change one certificate's status, on chain and in the database."""
    _change([identifier], action, org, reason, reason_code)


@app.command("status-many", rich_help_panel=CERTIFICATES)
def status_many(
    action: str = typer.Argument(..., help="suspend | reinstate | revoke | cancel | withdraw"),
    identifiers_file: Path = typer.Argument(..., help="identifiers, one per line"),
    org: str = typer.Option(..., "--org", help="the issuing department's unified social credit code"),
    reason: str = typer.Option(..., "--reason", help="why (kept in each certificate's history)"),
    reason_code: int = typer.Option(0, "--reason-code", help="numeric reason recorded on chain"),
) -> None:
    """Change many certificates' status in a few transactions (all are checked before any is sent)."""
    identifiers = [line.strip() for line in identifiers_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    _change(identifiers, action, org, reason, reason_code)


def _new_version(identifier: str, action: str, changes: dict[str, Any], org: str, reason: str) -> None:
    from ledger.issue.versions import new_version

    lib = _library()
    new = new_version(lib, _organization(lib, org), identifier, action, changes, reason=reason, actor="cli")
    console.print(new.issued.identifier)
    err_console.print(f"{new.supersedes} is superseded (08), tx {new.tx_hash}; the new version is queued for anchoring")


@app.command(rich_help_panel=CERTIFICATES)
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


@app.command(rich_help_panel=CERTIFICATES)
def amend(
    identifier: str = typer.Argument(..., help="the certificate's current version"),
    changes_file: Path = typer.Argument(..., help='JSON of the changes, e.g. {"fields": {"address": "..."}}'),
    org: str = typer.Option(..., "--org", help="the issuing department's unified social credit code"),
    reason: str = typer.Option(..., "--reason"),
) -> None:
    """Amend (变更): issue the next version with changed fields (never another holder); prints its identifier."""
    _new_version(identifier, "amend", _read_json(changes_file), org, reason)


@app.command(rich_help_panel=CERTIFICATES)
def history(
    identifier: str = typer.Argument(...),
    as_json: bool = typer.Option(False, "--json", help="print the history as JSON"),
) -> None:
    """A certificate's history: every version's issue and status changes, with their transactions."""
    from ledger.issue.history import history as certificate_history

    found = certificate_history(_library(), identifier)
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


# ---------------------------------------------------------------------- report summaries


@app.command("report-submit", rich_help_panel=CERTIFICATES)
def report_submit(
    reports_file: Path = typer.Argument(..., help="JSON: one report summary or a list of them (API shape)"),
    org: str = typer.Option(..., "--org", help="the association's unified social credit code"),
) -> None:
    """Submit report summaries as an association (all or none); prints each identifier."""
    from ledger.issue.reports import submit_batch

    summaries = _read_json(reports_file)
    lib = _library()
    for report in submit_batch(lib, _organization(lib, org), summaries if isinstance(summaries, list) else [summaries]):
        sys.stdout.write(report.identifier + "\n")


@app.command("report-bundle", rich_help_panel=CERTIFICATES)
def report_bundle(
    identifier: str = typer.Argument(..., help="RS.<association credit code>.<report number>"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="file to write (default: stdout)"),
) -> None:
    """Export an anchored report summary's proof bundle (verify it with `certledger verify`)."""
    from ledger.issue.reports import export_bundle

    _write_json(export_bundle(_library(), identifier), output)
