"""Alembic environment: runs against the engine that ``ledger.storage.engine.migrate`` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, Engine

from ledger.storage.engine import make_engine
from ledger.storage.models import Base

config = context.config
engine: Engine = config.attributes.get("engine") or make_engine(config.get_main_option("sqlalchemy.url"))


def _foreign_keys(connection: Connection, on: bool) -> None:
    # a PRAGMA that takes effect only outside a transaction, so on the driver's connection between them
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _refuse_dangling_references(connection: Connection) -> None:
    dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if dangling:
        raise RuntimeError(f"migration left rows pointing at missing rows: {dangling[:5]}")


with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # batch mode rebuilds a table (copy, drop, rename) that other tables reference: SQLite would refuse
        # the drop, so keys are checked once, at the end, inside the migration's transaction
        _foreign_keys(connection, on=False)
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,
            transactional_ddl=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                _refuse_dangling_references(connection)
    finally:
        if sqlite:
            connection.rollback()
            _foreign_keys(connection, on=True)
