"""Request dependencies shared by the routers: the Library, and who is calling (``X-API-Key``).

The Library is built from configuration on first use and cached on the app (it is a cache of
connections and keys, not request state); the caller is looked up in the database on every request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from ledger import onboarding
from ledger.errors import Forbidden, Unauthorized
from ledger.library import Library
from ledger.records import Organization

API_KEY_HEADER = "X-API-Key"
_api_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="an organisation's API key")
_build_lock = threading.Lock()


def get_library(request: Request) -> Library:
    state = request.app.state
    if state.library is None:
        with _build_lock:
            if state.library is None:
                state.library = Library.from_settings()
    return state.library


LibraryDep = Annotated[Library, Depends(get_library)]


@dataclass(frozen=True)
class Caller:
    org: Organization
    roles: frozenset[str]


def require_role(*roles: str) -> Callable[..., Caller]:
    """A dependency admitting keys that hold at least one of ``roles``."""
    wanted = frozenset(roles)

    def dependency(lib: LibraryDep, key: Annotated[str | None, Depends(_api_key)]) -> Caller:
        if not key:
            raise Unauthorized("api_key_missing", f"send your organisation's API key in the {API_KEY_HEADER} header")
        org, held = onboarding.authenticate(lib, key)
        if not wanted & set(held):
            raise Forbidden(
                "role_forbidden",
                f"this API key has roles {sorted(held)}; this call needs one of {sorted(wanted)}",
                roles=sorted(held), required=sorted(wanted),
            )
        return Caller(org, frozenset(held))

    return dependency
