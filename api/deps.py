"""Request dependencies shared by the routers: the Library, and who is calling (``X-API-Key``).

The Library is built from configuration on first use (a server's workers build it as they start) and cached on
the app (it is a cache of connections and keys, not request state). A caller's key is looked up in the database
and the answer kept for ``KEY_CACHE_S`` seconds per worker, so a revoked key stops working everywhere within that
time.
"""

from __future__ import annotations

import gc
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from ledger.app import onboarding
from ledger.app.library import Library
from ledger.core.errors import Forbidden, Unauthorized
from ledger.core.messages import language
from ledger.storage.models import Organization

API_KEY_HEADER = "X-API-Key"
_api_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="an organisation's API key")
_build_lock = threading.Lock()
# A full collection only once per this many of the middle generation's (Python's default: 10). Under load a worker's
# full collection came every 2-3 s, walked all it made since the freeze below for 8-40 ms, stalling every request
# in flight, and found nothing to collect (a request's objects die by reference count once answered); its young
# generations are collected as before.
FULL_COLLECTION_EVERY = 1_000
KEY_CACHE_S = 2.0
_KEY_CACHE_MAX = 10_000
_keys: dict[tuple[int, str], tuple[float, onboarding.KeyOwner]] = {}


def library_of(app: Any) -> Library:
    """The app's Library, built from configuration by whichever thread asks first."""
    state = app.state
    if state.library is None:
        with _build_lock:
            if state.library is None:
                state.library = Library.from_settings()
                _settle_heap()
    return state.library


def get_library(request: Request) -> Library:
    return library_of(request.app)


def _settle_heap() -> None:
    """Move what lives as long as the worker (modules, the Library) out of the garbage collector's sight:
    each full collection walked all of it (~230,000 objects, 135 ms here), which was the API's p99 latency; and
    make the full collections of what the worker makes later rare (``FULL_COLLECTION_EVERY``)."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)


LibraryDep = Annotated[Library, Depends(get_library)]


def request_language(request: Request) -> str:
    """zh-CN or en, by the request's ``Accept-Language`` (``ledger.core.messages.language``)."""
    return language(request.headers.get("accept-language"))


Lang = Annotated[str, Depends(request_language)]


@dataclass(frozen=True)
class Caller:
    org: Organization
    roles: frozenset[str]
    key_prefix: str  # names the key in histories (the key itself is never kept)
    staff_id: str | None = None  # a counter staff member's own key names them
    staff_name: str | None = None


def _authenticate(lib: Library, key: str) -> onboarding.KeyOwner:
    cache_key = (id(lib), hashlib.sha256(key.encode()).hexdigest())
    now = time.monotonic()
    hit = _keys.get(cache_key)
    if hit is not None and hit[0] > now:
        return hit[1]
    owner = onboarding.authenticate(lib, key)
    if len(_keys) >= _KEY_CACHE_MAX:
        _keys.clear()
    _keys[cache_key] = (now + KEY_CACHE_S, owner)
    return owner


def forget_keys() -> None:
    """Drop this worker's cached key answers, so a key revoked or an organization deactivated here is refused at
    once by this worker (others within ``KEY_CACHE_S``)."""
    _keys.clear()


def authorize(lib: Library, key: str | None, wanted: frozenset[str]) -> Caller:
    """The caller whose ``key`` holds at least one of the roles ``wanted`` (Unauthorized, Forbidden)."""
    if not key:
        raise Unauthorized("api_key_missing", f"send your organisation's API key in the {API_KEY_HEADER} header")
    owner = _authenticate(lib, key)
    held = owner.roles
    if not wanted & set(held):
        raise Forbidden(
            "role_forbidden",
            f"this API key has roles {sorted(held)}; this call needs one of {sorted(wanted)}",
            roles=sorted(held), required=sorted(wanted),
        )
    return Caller(owner.org, frozenset(held), onboarding.key_prefix(key), owner.staff_id, owner.staff_name)


def require_role(*roles: str) -> Callable[..., Caller]:
    """A dependency admitting keys that hold at least one of ``roles``."""
    wanted = frozenset(roles)

    def dependency(lib: LibraryDep, key: Annotated[str | None, Depends(_api_key)]) -> Caller:
        return authorize(lib, key, wanted)

    return dependency
