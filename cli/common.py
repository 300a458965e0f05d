"""What the ``certledger`` commands share: consoles, the one-line failure, the library, files in and out."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ledger.app.config import get_settings
from ledger.core.errors import CertledgerError

console = Console()
err_console = Console(stderr=True)


def _fail(exc: CertledgerError) -> NoReturn:
    """One line on stderr, exit code 2."""
    err_console.print(f"[bold red]error[/] {escape(f'[{exc.code}]')} {escape(exc.message)}", soft_wrap=True)
    raise typer.Exit(2)


def _library() -> Any:
    from ledger.app.library import Library

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


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        err_console.print(f"[red]{escape(str(path))} is not JSON: {escape(str(exc))}[/]")
        raise typer.Exit(2) from None


def _write_json(data: Any, output: Path | None) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        err_console.print(f"wrote {output}")
    else:
        sys.stdout.write(text + "\n")


def _organization(lib: Any, uscc: str) -> Any:
    """The organization with this credit code, or exit 2 saying there is none."""
    from sqlalchemy import select

    from ledger.storage.models import Organization

    with lib.sessions() as session:
        org = session.scalar(select(Organization).where(Organization.uscc == uscc))
    if org is None:
        err_console.print(f"[red]no organization with credit code {escape(uscc)}[/]")
        raise typer.Exit(2)
    return org
