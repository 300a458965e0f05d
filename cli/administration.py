"""Administration from the command line, as the admin API does it: an organization's API keys (create, list,
revoke, rotate; a counter staff member's own key), deactivating and reactivating an organization (database and
chain), revoking a holder's tokens."""

from __future__ import annotations

import sys
from typing import Optional

import typer
from rich.table import Table

from cli.app import ORGANIZATIONS, LedgerTyper, _library, _organization, app, console, err_console

keys_app = LedgerTyper(no_args_is_help=True, help="An organization's API keys: create, list, revoke, rotate.")
org_app = LedgerTyper(no_args_is_help=True, help="Deactivate or reactivate an organization (its keys and on chain).")
app.add_typer(keys_app, name="api-key", rich_help_panel=ORGANIZATIONS)
app.add_typer(org_app, name="org", rich_help_panel=ORGANIZATIONS)
ORG_HELP = "the organization's unified social credit code"


def _print_key(key: str) -> None:
    sys.stdout.write(key + "\n")
    err_console.print("the key is shown once: keep it now (only its hash is stored)")


@keys_app.command("create")
def create(
    org: str = typer.Argument(..., help=ORG_HELP),
    role: str = typer.Option(..., "--role", help="admin (platform), department, association or counter"),
    staff_id: Optional[str] = typer.Option(None, "--staff-id", help="a counter staff member's own key: their ID"),
    staff_name: Optional[str] = typer.Option(None, "--staff-name", help="... and their name"),
) -> None:
    """Create an API key; prints only the key."""
    from ledger.app.onboarding import create_api_key

    lib = _library()
    _print_key(create_api_key(lib, _organization(lib, org).id, [role], staff_id=staff_id, staff_name=staff_name))


@keys_app.command("list")
def list_keys(org: str = typer.Argument(..., help=ORG_HELP)) -> None:
    """The organization's keys: prefix, roles, staff member, created, revoked."""
    from ledger.app.onboarding import list_api_keys

    lib = _library()
    table = Table()
    for col in ("prefix", "roles", "staff", "created", "revoked"):
        table.add_column(col)
    for k in list_api_keys(lib, _organization(lib, org).id):
        staff = f"{k.staff_id} {k.staff_name}" if k.staff_id else ""
        table.add_row(k.prefix, ",".join(k.roles), staff, f"{k.created_at:%Y-%m-%d %H:%M}",
                      f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "")
    console.print(table)


@keys_app.command("revoke")
def revoke(org: str = typer.Argument(..., help=ORG_HELP), prefix: str = typer.Argument(..., help="as listed")) -> None:
    """Revoke a key: refused from now on (by every API worker within seconds)."""
    from ledger.app.onboarding import revoke_api_key

    lib = _library()
    revoke_api_key(lib, _organization(lib, org).id, prefix)
    console.print(f"revoked {prefix}")


@keys_app.command("rotate")
def rotate(org: str = typer.Argument(..., help=ORG_HELP), prefix: str = typer.Argument(..., help="as listed")) -> None:
    """A new key with the same roles and staff member; the old one is revoked. Prints only the new key."""
    from ledger.app.onboarding import rotate_api_key

    lib = _library()
    _print_key(rotate_api_key(lib, _organization(lib, org).id, prefix))


@org_app.command("deactivate")
def deactivate(org: str = typer.Argument(..., help=ORG_HELP)) -> None:
    """Its keys refused, its queued certificates anchored, then its chain account may no longer anchor."""
    from ledger.issue import activity

    lib = _library()
    done = activity.deactivate(lib, _organization(lib, org).id)
    console.print(f"{done.name} ({done.uscc}) deactivated")


@org_app.command("reactivate")
def reactivate(org: str = typer.Argument(..., help=ORG_HELP)) -> None:
    """Its chain account's role back, then its keys."""
    from ledger.issue import activity

    lib = _library()
    done = activity.reactivate(lib, _organization(lib, org).id)
    console.print(f"{done.name} ({done.uscc}) reactivated")


@app.command("holder-revoke", rich_help_panel=ORGANIZATIONS)
def holder_revoke(
    id_number: str = typer.Argument(..., help="the holder's ID number"),
    id_type: str = typer.Option("111", "--id-type", help="持证主体代码类型: 111 citizen ID, 001 credit code, ..."),
) -> None:
    """Revoke every holder token of this holder issued until now."""
    from ledger.holders.tokens import revoke_tokens

    when = revoke_tokens(_library(), id_type, id_number)
    console.print(f"holder tokens issued until {when.isoformat()} are refused")
