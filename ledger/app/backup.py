"""``certledger backup`` and ``certledger restore``: certledger's own state in one archive, with a checked manifest.

The archive is a tar file (``certledger-backup-<UTC time>.tar``, mode 0600) holding:

- ``manifest.json``: format ``certledger/backup/1``, when, the schema revision, and every other member with
  its size and SHA-256; also which secrets were taken from the environment and so are *not* in the archive;
- ``home/``: what ``CERTLEDGER_HOME`` holds of certledger's state: ``keys/`` (the platform admin keystore and
  the seal key store: encrypted with ``CERTLEDGER_KEY_PASSWORD``, which is never archived), the deployment
  record, the document key files (``document-kek*.key``) and the platform secret file when they are files
  (production sets both in the environment: they are then kept in the safes, not here), the trust list;
- the database: SQLite copied with its online backup API (``database.sqlite3``, consistent while the
  services run), PostgreSQL with ``pg_dump --format=custom`` of certledger's schema (``database.pgdump``);
  without ``pg_dump`` on the host it refuses and says so: use the base backups and WAL archive then.

Restore checks every member against the manifest before it writes anything, refuses a home or database that
already holds a platform unless forced, puts the home files back (0600), then the database (SQLite: the file,
written beside and renamed; PostgreSQL: ``pg_restore --clean --if-exists --no-owner``). IPFS data and the chain
are not in the archive: the cluster and the validators are their copies (docs/deployment.md, "Backup").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from ledger.app.config import Settings
from ledger.core.errors import BadInput, ServiceUnavailable
from ledger.documents.envelope import KEY_ENV, KEY_FILE, RETIRED_KEY_GLOB
from ledger.storage.engine import schema_revisions

log = logging.getLogger(__name__)

FORMAT = "certledger/backup/1"
MANIFEST = "manifest.json"
HOME_PATTERNS = ("keys/**/*", "deployment.json", KEY_FILE, RETIRED_KEY_GLOB, "platform-secret.key", "trust.json")
SECRETS_IN_ENV = (KEY_ENV, "CERTLEDGER_PLATFORM_SECRET")
SQLITE_MEMBER, PG_MEMBER = "database.sqlite3", "database.pgdump"


@dataclass(frozen=True)
class BackupDone:
    path: Path
    members: int
    bytes: int


def _sha256(stream: Any) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return _sha256(f)


def _home_files(home: Path) -> list[Path]:
    found = {p for pattern in HOME_PATTERNS for p in home.glob(pattern) if p.is_file()}
    return sorted(found)


def pg_connection(engine: Engine) -> tuple[list[str], dict[str, str], str]:
    """(the libpq connection argument for pg_dump / pg_restore, their environment, certledger's schema)."""
    from psycopg import pq
    from psycopg.conninfo import make_conninfo

    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        raise ServiceUnavailable("pg_dump_missing", "此主机没有 pg_dump / pg_restore。pg_dump and pg_restore are not "
                                 "installed on this host (Debian: postgresql-client): install them, or back the "
                                 "database up with its base backups and WAL archive (docs/deployment.md)")
    _args, found = engine.dialect.create_connect_args(engine.url)
    libpq = {option.keyword.decode() for option in pq.Conninfo.get_defaults()}
    params = {k: v for k, v in found.items() if k in libpq and v is not None}  # not the driver's own arguments
    password = params.pop("password", None)
    env = {**os.environ, **({"PGPASSWORD": str(password)} if password else {})}
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    return ["--dbname", make_conninfo(**{k: str(v) for k, v in params.items()})], env, schema


def _dump_database(engine: Engine, settings: Settings, folder: Path) -> Path:
    if engine.dialect.name == "sqlite":
        target = folder / SQLITE_MEMBER
        source = sqlite3.connect(make_url(settings.database).database)
        with sqlite3.connect(target) as copy:
            source.backup(copy)
        source.close()
        return target
    target = folder / PG_MEMBER
    conn, env, schema = pg_connection(engine)
    done = subprocess.run(["pg_dump", "--format=custom", f"--schema={schema}", "--no-owner", f"--file={target}",
                           *conn], env=env, capture_output=True, text=True, timeout=7200)
    if done.returncode != 0:
        raise ServiceUnavailable("pg_dump_failed", f"pg_dump 失败 / pg_dump failed: {done.stderr.strip()[:500]}")
    return target


def create_backup(settings: Settings, engine: Engine, output: Path) -> BackupDone:
    """Write an archive of the home files and the database into the folder ``output``; returns its path."""
    output.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = output / f"certledger-backup-{stamp}.tar"
    home = settings.home
    with tempfile.TemporaryDirectory(prefix="certledger-backup-") as tmp:
        dump = _dump_database(engine, settings, Path(tmp))
        members = [(f"home/{p.relative_to(home)}", p) for p in _home_files(home)] + [(dump.name, dump)]
        manifest = {
            "format": FORMAT,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "database": {"dialect": engine.dialect.name, "member": dump.name, "revision": schema_revisions(engine)[0]},
            "secrets_in_environment": [name for name in SECRETS_IN_ENV if os.environ.get(name)],
            "members": [{"name": name, "bytes": p.stat().st_size, "sha256": _file_sha256(p)} for name, p in members],
        }
        partial = path.with_suffix(".tar.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
            body = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode = len(body), 0o600
            tar.addfile(info, io.BytesIO(body))
            for name, p in members:
                tar.add(p, arcname=name, recursive=False)
        partial.rename(path)
    log.info("backup written", extra={"path": str(path), "members": len(members)})
    return BackupDone(path, len(members), path.stat().st_size)


def read_manifest(archive: Path) -> dict[str, Any]:
    """The archive's manifest, after checking every member's size and SHA-256 against it (BadInput if not)."""
    with tarfile.open(archive, mode="r:") as tar:
        try:
            manifest = json.loads(tar.extractfile(MANIFEST).read())  # type: ignore[union-attr]
        except (KeyError, ValueError, AttributeError) as exc:
            raise BadInput("backup_invalid", f"{archive} 不是 certledger 备份 / is not a certledger backup (no "
                           f"readable {MANIFEST}: {exc})") from None
        if manifest.get("format") != FORMAT:
            raise BadInput("backup_invalid", f"{archive}: unknown backup format {manifest.get('format')!r}")
        names = set(tar.getnames()) - {MANIFEST}
        listed = {m["name"]: m for m in manifest["members"]}
        if names != set(listed):
            raise BadInput("backup_damaged", f"{archive}: members {sorted(names ^ set(listed))} differ from the "
                           "manifest")
        for member in tar.getmembers():
            if member.name == MANIFEST:
                continue
            digest = _sha256(tar.extractfile(member))
            if digest != listed[member.name]["sha256"]:
                raise BadInput("backup_damaged", f"备份已损坏 / {archive}: {member.name} does not match its checksum")
    return manifest
