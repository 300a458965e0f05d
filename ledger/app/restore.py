"""``certledger restore``: an archive of ``certledger backup`` (``ledger.app.backup``) back into place.

Every member is checked against the manifest first; then the home files go back (folders 0700, files 0600),
then the database: SQLite through its backup API into the configured file (so no stale ``-wal`` survives),
PostgreSQL with ``pg_restore --clean --if-exists --no-owner --single-transaction`` into the configured
database and schema. A home or database that already holds a platform is refused unless ``force``.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from ledger.app.backup import PG_MEMBER, SQLITE_MEMBER, pg_connection, read_manifest
from ledger.app.config import Settings
from ledger.core.errors import BadInput, Conflict, ServiceUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestoreDone:
    home_files: int
    database: str
    secrets_in_environment: list[str]


def _refuse_existing(settings: Settings, engine: Engine) -> None:
    held = [p for p in ("keys", "deployment.json") if (settings.home / p).exists()]
    if inspect(engine).has_table("organizations"):
        with engine.connect() as conn:
            if conn.execute(text("SELECT count(*) FROM organizations")).scalar_one():
                held.append("the database")
    if held:
        raise Conflict("restore_target_not_empty", f"恢复目标已有数据 / {', '.join(held)} already hold a platform "
                       f"({settings.home}, {engine.url.render_as_string(hide_password=True)}): restore into an empty "
                       "home and database, or pass --force to overwrite them")


def _put_home_file(home: Path, name: str, data: bytes) -> None:
    relative = PurePosixPath(name).relative_to("home")
    if relative.is_absolute() or ".." in relative.parts:
        raise BadInput("backup_invalid", f"the archive names a file outside the home folder: {name}")
    target = home.joinpath(*relative.parts)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _load_database(engine: Engine, settings: Settings, dump: Path) -> None:
    engine.dispose()
    if engine.dialect.name == "sqlite":
        target = make_url(settings.database).database
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(dump) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        return
    conn, env, _schema = pg_connection(engine)
    done = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
                           "--single-transaction", *conn, str(dump)], env=env, capture_output=True, text=True,
                          timeout=7200)
    if done.returncode != 0:
        raise ServiceUnavailable("pg_restore_failed", f"pg_restore 失败 / pg_restore failed: {done.stderr.strip()[:500]}")


def restore_backup(settings: Settings, engine: Engine, archive: Path, *, force: bool = False) -> RestoreDone:
    """Put ``archive`` back (see the module); returns what was restored."""
    manifest = read_manifest(archive)
    database = manifest["database"]
    if database["dialect"] != engine.dialect.name:
        raise BadInput("backup_wrong_database", f"备份来自 {database['dialect']} 数据库 / the archive holds a "
                       f"{database['dialect']} database; DATABASE_URL names {engine.dialect.name}")
    if not force:
        _refuse_existing(settings, engine)
    files = 0
    with tarfile.open(archive, mode="r:") as tar, tempfile.TemporaryDirectory(prefix="certledger-restore-") as tmp:
        for member in tar.getmembers():
            data = tar.extractfile(member)
            if member.name.startswith("home/") and data is not None:
                _put_home_file(settings.home, member.name, data.read())
                files += 1
            elif member.name in (SQLITE_MEMBER, PG_MEMBER) and data is not None:
                dump = Path(tmp) / member.name
                with dump.open("wb") as f:
                    for chunk in iter(lambda: data.read(1 << 20), b""):
                        f.write(chunk)
        _load_database(engine, settings, Path(tmp) / database["member"])
    log.info("backup restored", extra={"archive": str(archive), "home_files": files})
    return RestoreDone(files, f"{database['dialect']} at migration {database['revision']}",
                       manifest.get("secrets_in_environment", []))
