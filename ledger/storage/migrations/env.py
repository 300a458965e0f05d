"""Alembic environment: runs against the engine that ``ledger.storage.engine.migrate`` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from ledger.storage.engine import make_engine
from ledger.storage.models import Base

config = context.config
engine: Engine = config.attributes.get("engine") or make_engine(config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()
