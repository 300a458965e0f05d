"""Database engines, write transactions and schema migration.

SQLite (WAL) is the local default so ``./dev up`` needs no server; production sets
``DATABASE_URL`` to PostgreSQL. The schema is only ever changed by the Alembic migrations shipped
inside the package, so an installed package migrates its own database with :func:`migrate`.

On SQLite a write transaction starts with ``BEGIN IMMEDIATE``: a deferred transaction that reads and then
writes asks for the write lock only at its first write, and when another writer committed since its read
SQLite refuses it at once (SQLITE_BUSY without waiting on ``busy_timeout``), which the API answered as 503
``database_busy``. Taking the lock at BEGIN makes writers queue on ``busy_timeout`` instead. A write
transaction is an explicit one: ``session.begin()`` on a :class:`LedgerSession` or :func:`writing` for Core;
a read (a session's or connection's implicit transaction) stays a deferred ``BEGIN`` that never waits on
writers (WAL). PostgreSQL is untouched.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from ledger.storage import certificate_anchors, import_tables, lookup_notes, plan_tables, trust  # noqa: F401 - every table on Base.metadata before any compare
from ledger.storage.models import dump_json

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_PRAGMAS = (
    # a new database only (a no-op once it has tables): a certificate row is about 1.4 KB, so a 4 KB page holds
    # two and a third of it stays empty; a 16 KB page holds eleven
    "PRAGMA page_size=16384",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
    "PRAGMA cache_size=-65536",
    "PRAGMA temp_store=MEMORY",
)
IMMEDIATE = "certledger_immediate"  # the execution option that marks a connection's transaction as a writer's


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (pysqlite's own handling
        # runs SELECTs outside the transaction).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        for pragma in SQLITE_PRAGMAS:
            cur.execute(pragma)
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(IMMEDIATE) else "BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``, with SQLite tuned for concurrent writers."""
    kwargs.setdefault("json_serializer", dump_json)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        _sqlite_setup(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def connect_url(engine: Engine) -> str:
    """A URL from which another process reaches the same database, and on PostgreSQL the same schema."""
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
    return url


class LedgerSession(Session):
    """A Session whose explicit ``begin()`` is a write transaction: on SQLite it takes the write lock at once."""

    def begin(self, nested: bool = False) -> Any:
        transaction = super().begin(nested)
        if not nested and self.get_bind().dialect.name == "sqlite":
            self.connection(execution_options={IMMEDIATE: True})
        return transaction


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, class_=LedgerSession, expire_on_commit=False)


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """``engine.begin()`` for a write transaction (Core): on SQLite it begins IMMEDIATE."""
    with engine.connect() as conn:
        conn.execution_options(**{IMMEDIATE: True})
        with conn.begin():
            yield conn


def alembic_config(engine: Engine) -> Config:
    cfg = Config(str(MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (idempotent; safe to call at every start)."""
    log.info("migrating database", extra={"url": engine.url.render_as_string(hide_password=True)})
    command.upgrade(alembic_config(engine), revision)


@functools.cache
def _head_revision() -> str:
    cfg = Config(str(MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head() or ""


def schema_revisions(engine: Engine) -> tuple[str | None, str]:
    """(the database's current migration, this release's newest): equal when the schema is current."""
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current, _head_revision()
