"""The Typer app every command module registers on, and what the commands share: the home folder, consoles,
the one-line failure, the library, files in and out.

Every command finds its configuration the same way: the environment (12-factor), with ``--home`` (before the
command: ``certledger --home DIR worker``) or ``CERTLEDGER_HOME`` naming the home folder. A command that fails
says so in one line on stderr and exits 2, whether the failure is certledger's own (``[code] message``) or a
file that is missing; dependencies' warnings are not printed.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ledger.app.config import HOME_ENV, REPO_ROOT, adopt_stack_environment, get_settings
from ledger.app.logs import quiet_dependencies
from ledger.core.errors import CertledgerError
from ledger.core.messages import locale_language, localized

quiet_dependencies()
console = Console(soft_wrap=True)  # a long path or key stays on one line, for scripts to read
err_console = Console(stderr=True, soft_wrap=True)


def _report(exc: CertledgerError, label: str) -> None:
    message = localized(exc.code, exc.message, locale_language(os.environ))
    err_console.print(f"{label} {escape(f'[{exc.code}]')} {escape(message)}", soft_wrap=True)


def _warn(exc: CertledgerError) -> None:
    """One line on stderr for what the command could not do while it goes on with the rest."""
    _report(exc, "[bold yellow]warning[/]")


def _fail(exc: CertledgerError) -> NoReturn:
    """One line on stderr, exit code 2."""
    _report(exc, "[bold red]error[/]")
    raise typer.Exit(2)


def _file_error(exc: OSError) -> NoReturn:
    """A file the command was given or needs, in one line: which file, and what is wrong with it."""
    code, words = {FileNotFoundError: ("file_not_found", "找不到文件 / no such file"),
                   IsADirectoryError: ("file_is_a_folder", "这是文件夹，不是文件 / a folder, not a file"),
                   PermissionError: ("file_not_permitted", "没有权限 / permission denied")}.get(
        type(exc), ("file_unreadable", f"无法读写文件 / cannot read or write the file ({exc.strerror})"))
    err_console.print(f"[bold red]error[/] {escape(f'[{code}]')} {escape(words)}: {escape(str(exc.filename))}",
                      soft_wrap=True)
    raise typer.Exit(2)


def _guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CertledgerError as exc:
            _fail(exc)
        except OSError as exc:
            if exc.filename is None:
                raise
            _file_error(exc)

    return run


class LedgerTyper(typer.Typer):
    """A Typer whose commands answer certledger's errors and a missing file in one line (``_guarded``)."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        register = super().command(*args, **kwargs)

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            register(_guarded(fn))
            return fn

        return decorator


app = LedgerTyper(add_completion=False, no_args_is_help=True)
PRIVATE_UMASK = 0o077
PRODUCTION = "Production processes and operations"
LOCAL = "Local stack (development)"
CERTIFICATES = "Certificates and reports (operator tools; the API is the usual way)"
ORGANIZATIONS = "Organizations, seals and trust"


STACK_COMMANDS = frozenset({"up", "chain"})  # they take their own --home and write the stack's settings


@app.callback()
def _configuration(
    ctx: typer.Context,
    home: Optional[Path] = typer.Option(None, "--home", envvar=HOME_ENV, show_envvar=True,
                                        help="the home folder: keys, deployment record, local database"),
) -> None:
    """certledger: the city's e-certificate ledger. Configured by the environment (docs/deployment.md); beside a
    local stack, by what `certledger up` wrote in HOME/.env."""
    os.umask(PRIVATE_UMASK)  # the database, keys and secrets it creates are its owner's only (0600, folders 0700)
    if home is not None:
        os.environ[HOME_ENV] = str(home.resolve())
    if ctx.invoked_subcommand not in STACK_COMMANDS:
        adopt_stack_environment(Path(os.environ.get(HOME_ENV, REPO_ROOT / "var")).resolve())


def home_option(help: str = "the home folder (else CERTLEDGER_HOME, else ./var)") -> Any:
    """A command's own ``--home`` (the local stack's commands had one before the global option)."""
    return typer.Option(None, "--home", help=help)


def _library() -> Any:
    from ledger.app.library import Library

    return Library.from_settings(get_settings())


def _show_result(result: Any) -> None:
    data = result.to_dict()
    colour = {"VALID": "green", "INVALID": "red", "PENDING": "blue"}.get(data["verdict"], "yellow")
    table = Table(title=f"verdict: [bold {colour}]{data['verdict']}[/]")
    for col in ("check", "status", "reason", "message"):
        table.add_column(col)
    lang = locale_language(os.environ)
    for c in data["checks"]:
        message = localized(c["reason"], c.get("message", ""), lang) if c["status"] != "VALID" else c.get("message", "")
        table.add_row(c["name"], c["status"], c["reason"], message)
    console.print(table)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        err_console.print(f"[bold red]error[/] [file_not_json] {escape(str(path))} 不是 JSON / is not JSON: "
                          f"{escape(str(exc))}", soft_wrap=True)
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
        err_console.print(f"[bold red]error[/] [organization_not_found] 没有该统一社会信用代码的机构 / no organization "
                          f"with credit code {escape(uscc)}", soft_wrap=True)
        raise typer.Exit(2)
    return org
