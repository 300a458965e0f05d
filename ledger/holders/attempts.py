"""Per-key lockout of guessing: wrong use codes, and unknown certificate identifiers (enumeration).

A counter key that presents ``limit`` wrong use codes within ``window`` (10 in 10 minutes), or asks for ``limit``
identifiers that name no certificate (30 in 10 minutes: identifiers are predictable, so a loop over serials
would list other departments' holders), is refused with 429 and ``Retry-After`` until the oldest of those
failures leaves the window; the lockout is logged as a warning naming the key. Failures are rows of
``key_failures`` in the shared database, so every stateless API worker counts the same attempts. The lean
verification path (``api.fast_verify``) asks :func:`locked_out` before each answer, so a locked-out key gets
nothing more there either: the route then refuses it.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, select

from ledger.app.library import Library
from ledger.core.errors import CertledgerError
from ledger.storage.driver_reads import read_one
from ledger.storage.models import KeyFailure, as_utc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    kind: str
    limit: int
    window: dt.timedelta
    message: str


USE_CODES = Limit("use_code", 10, dt.timedelta(minutes=10),
                  "此 API 密钥输错用证码次数过多，已暂时锁定。 / Too many wrong use codes from this API key")
IDENTIFIERS = Limit("unknown_identifier", 30, dt.timedelta(minutes=10),
                    "此 API 密钥查询不存在的证照标识过多，已暂时锁定（疑似枚举）。 / "
                    "Too many unknown certificate identifiers from this API key (enumeration suspected)")


class AttemptsExceeded(CertledgerError):
    http_status = 429

    def __init__(self, limit: Limit, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(f"{limit.kind}_attempts_exceeded", f"{limit.message}; retry after {seconds} s",
                         retry_after_s=seconds, limit=limit.limit, window_s=int(limit.window.total_seconds()))
        self.headers = {"Retry-After": str(seconds)}


def ensure_allowed(lib: Library, key_prefix: str, limit: Limit, now: dt.datetime | None = None) -> None:
    """AttemptsExceeded (429) while the key has ``limit.limit`` failures of this kind within the window."""
    now = now or dt.datetime.now(dt.UTC)
    with lib.sessions() as session:
        count, oldest = session.execute(
            select(func.count(), func.min(KeyFailure.at))
            .where(KeyFailure.key_prefix == key_prefix, KeyFailure.kind == limit.kind,
                   KeyFailure.at > now - limit.window)
        ).one()
    if count >= limit.limit:
        raise AttemptsExceeded(limit, (as_utc(oldest) + limit.window - now).total_seconds())


_AT = KeyFailure.__table__.c.at
_RECENT_FAILURES = (select(func.count()).select_from(KeyFailure)
                    .where(KeyFailure.key_prefix == bindparam("key_prefix"), KeyFailure.kind == bindparam("kind"),
                           KeyFailure.at > bindparam("since", type_=_AT.type)))


# A key found under its limit by :func:`locked_out` is not read again by this process for this long (as a revoked
# key is still accepted by other workers for ``api.deps.KEY_CACHE_S``); a failure recorded here forgets it at once.
UNDER_LIMIT_S = 1.0
_UNDER_LIMIT_MAX = 10_000
_under_limit: dict[tuple[int, str, str], float] = {}  # (id(lib), key prefix, kind) -> until (monotonic)


def locked_out(lib: Library, key_prefix: str, limit: Limit, now: dt.datetime | None = None) -> bool:
    """Whether :func:`ensure_allowed` would refuse the key, in one read through this thread's own connection
    (``ledger.storage.driver_reads``): the API's event loop asks it before every lean answer, and must not wait for
    a pooled one. A key under its limit is taken as such for ``UNDER_LIMIT_S`` without a read (that read was a
    sixth of a first verification's time), so a key locked out by another worker's refusals can get up to that
    long of answers for certificates that exist; unknown identifiers meet :func:`ensure_allowed`'s read each time."""
    cached = (id(lib), key_prefix, limit.kind)
    if now is None and _under_limit.get(cached, 0.0) > time.monotonic():
        return False
    since = (now or dt.datetime.now(dt.UTC)) - limit.window
    dialect = lib.engine.dialect
    stored = _AT.type.dialect_impl(dialect).bind_processor(dialect)  # the time as the ORM hands it to the driver
    row = read_one(lib.engine, _RECENT_FAILURES,
                   {"key_prefix": key_prefix, "kind": limit.kind, "since": stored(since) if stored else since},
                   own_connection=True)
    locked = row is not None and row[0] >= limit.limit
    if not locked and now is None:
        if len(_under_limit) >= _UNDER_LIMIT_MAX:
            _under_limit.clear()
        _under_limit[cached] = time.monotonic() + UNDER_LIMIT_S
    return locked


def record_failure(lib: Library, key_prefix: str, limit: Limit, now: dt.datetime | None = None) -> None:
    """Count one failure (in its own transaction: the refused request itself changes nothing) and forget the
    key's failures that left the window; the failure that reaches the limit is logged."""
    now = now or dt.datetime.now(dt.UTC)
    with lib.sessions() as session, session.begin():
        session.execute(delete(KeyFailure).where(KeyFailure.key_prefix == key_prefix, KeyFailure.kind == limit.kind,
                                                 KeyFailure.at <= now - limit.window))
        session.add(KeyFailure(key_prefix=key_prefix, kind=limit.kind, at=now))
        session.flush()
        count = session.scalar(select(func.count()).where(KeyFailure.key_prefix == key_prefix,
                                                          KeyFailure.kind == limit.kind))
    _under_limit.pop((id(lib), key_prefix, limit.kind), None)  # committed: the next lean answer reads it
    if count == limit.limit:
        log.warning("api key locked out", extra={"key_prefix": key_prefix, "kind": limit.kind, "failures": count})


@contextmanager
def guarded(lib: Library, key_prefix: str, limit: Limit, failures: frozenset[str]) -> Iterator[None]:
    """Refuse a locked-out key before the call; count the call's refusal when its code is one of ``failures``."""
    ensure_allowed(lib, key_prefix, limit)
    try:
        yield
    except CertledgerError as e:
        if e.code in failures:
            record_failure(lib, key_prefix, limit)
        raise
