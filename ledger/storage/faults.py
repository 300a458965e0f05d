"""Storage faults as what they are for a caller: the service is unavailable (503), nothing was stored.

A full disk, a read-only file system, a database that cannot be reached or is shutting down, a standby that
refuses writes: none is the caller's error or a bug, and in each the failed transaction was rolled back.
:func:`storage_fault` names them (``ServiceUnavailable`` with a code and a message in Chinese and English), so
the API answers 503 instead of 500 and the workers log, back off and retry.
"""

from __future__ import annotations

import errno

from sqlalchemy.exc import DBAPIError, DisconnectionError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ledger.core.errors import ServiceUnavailable

_NOTHING_STORED = "本次操作未保存任何内容，请稍后重试。Nothing of this operation was stored; retry later."
_MESSAGES = {
    "storage_full": "服务器存储空间已满。The server's storage is full (operators: free disk space or grow the "
                    "volume).",
    "storage_read_only": "服务器存储为只读。The server's storage is read-only (operators: check the file system, "
                         "or that the database is the primary).",
    "storage_io_error": "服务器存储读写出错。The server's storage failed to read or write (operators: check the "
                        "disk and the database's log).",
    "database_unavailable": "无法连接数据库。The database cannot be reached or is restarting (operators: check "
                            "DATABASE_URL and the database server).",
    "database_busy": "数据库繁忙。The database is busy (a lock was not granted in time).",
}
# SQLite primary result codes (sqlite3 exceptions carry them as sqlite_errorcode & 0xff)
_SQLITE = {13: "storage_full", 8: "storage_read_only", 10: "storage_io_error", 14: "storage_io_error",
           5: "database_busy", 6: "database_busy"}
# PostgreSQL SQLSTATE prefixes (psycopg errors carry them as sqlstate)
_SQLSTATE = {"53100": "storage_full", "25006": "storage_read_only", "58030": "storage_io_error",
             "53300": "database_unavailable", "57P0": "database_unavailable", "08": "database_unavailable",
             "55P03": "database_busy", "40P01": "database_busy"}
_ERRNO = {errno.ENOSPC: "storage_full", errno.EDQUOT: "storage_full", errno.EFBIG: "storage_full",
          errno.EROFS: "storage_read_only", errno.EIO: "storage_io_error"}


def _code(exc: BaseException) -> str | None:
    if isinstance(exc, OSError):
        return _ERRNO.get(exc.errno or 0)
    if isinstance(exc, (DisconnectionError, PoolTimeout)):
        return "database_unavailable"
    if not isinstance(exc, DBAPIError):
        return None
    orig = exc.orig
    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    if sqlite_code is not None:
        return _SQLITE.get(sqlite_code & 0xFF)
    state = getattr(orig, "sqlstate", None)
    if state:
        return next((code for prefix, code in _SQLSTATE.items() if state.startswith(prefix)), None)
    return "database_unavailable" if exc.connection_invalidated or type(orig).__name__ == "OperationalError" else None


def storage_fault(exc: BaseException) -> ServiceUnavailable | None:
    """The 503 this exception stands for when it is a storage fault (see the module), else None."""
    if not isinstance(exc, (OSError, SQLAlchemyError)):
        return None
    code = _code(exc)
    if code is None:
        return None
    return ServiceUnavailable(code, f"{_MESSAGES[code]} {_NOTHING_STORED}", cause=type(exc).__name__)
