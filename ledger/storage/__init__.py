"""The database: tables (``models``), fast bulk inserts (``bulk``), the anchoring outbox protocol
(``outbox``), identifier serials, the catalogue's tables, the seal registry, engines and Alembic
migrations. SQLite and PostgreSQL alike. May import ``ledger.core`` and ``signer``.
"""
