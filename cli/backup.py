"""``certledger backup`` and ``certledger restore`` (``ledger.app.backup``, ``ledger.app.restore``)."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.app import PRODUCTION, app, console, err_console
from ledger.app.config import get_settings
from ledger.storage.engine import make_engine


@app.command(rich_help_panel=PRODUCTION)
def backup(output: Path = typer.Option(..., "--output", "-o", help="folder the archive is written into")) -> None:
    """Archive certledger's own state: keys, deployment record, document key and platform secret files, the
    database (SQLite online backup, or pg_dump), with a manifest of checksums. Keep it like the secrets."""
    from ledger.app.backup import create_backup

    settings = get_settings()
    done = create_backup(settings, make_engine(settings.database), output)
    console.print(f"wrote {done.path} ({done.members} files, {done.bytes:,} bytes)")


@app.command(rich_help_panel=PRODUCTION)
def restore(
    archive: Path = typer.Argument(..., help="an archive written by certledger backup"),
    force: bool = typer.Option(False, "--force", help="overwrite a home and database that already hold a platform"),
) -> None:
    """Put an archive of certledger backup back: every checksum checked first, then the home files and the database."""
    from ledger.app.restore import restore_backup

    settings = get_settings()
    done = restore_backup(settings, make_engine(settings.database), archive, force=force)
    console.print(f"restored {done.home_files} files into {settings.home} and the database ({done.database})")
    if done.secrets_in_environment:
        err_console.print(f"not in the archive (they were in the environment): {', '.join(done.secrets_in_environment)}"
                          ": set them again from the safes")
    err_console.print("next: certledger migrate (if this release is newer), then start serve, worker and indexer")
