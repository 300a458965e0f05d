"""One sender per chain account across processes: a database lock held around nonce allocation and the send.

API workers (status changes), the anchoring worker and the CLI may all send for one department's account. Each
send takes the account's row in ``chain_senders`` with an UPDATE inside a transaction: PostgreSQL holds that
row's lock until the transaction ends, SQLite its single write lock; a second process wanting the same account
waits, so two processes never read the same pending nonce. ``ledger.chain.client.ChainClient`` calls it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from sqlalchemy import Connection, Engine, update
from sqlalchemy.dialects import postgresql, sqlite

from ledger.storage.engine import IMMEDIATE
from ledger.storage.models import ChainSender, utcnow

SENDERS = ChainSender.__table__


def _ensure_row(conn: Connection, address: str) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(SENDERS).values(address=address).on_conflict_do_nothing())


def sender_lock(engine: Engine) -> Callable[[str], contextlib.AbstractContextManager[None]]:
    """A lock per account address, shared by every process that uses ``engine``'s database."""

    @contextlib.contextmanager
    def lock(address: str) -> Iterator[None]:
        with engine.connect() as conn:
            conn.execution_options(**{IMMEDIATE: True})  # writes only: on SQLite each begins IMMEDIATE
            with conn.begin():
                _ensure_row(conn, address)
            with conn.begin():
                conn.execute(update(SENDERS).where(SENDERS.c.address == address).values(locked_at=utcnow()))
                yield

    return lock
