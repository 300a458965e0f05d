"""One access-log line and the request metrics for every HTTP request (the outermost middleware).

The line is JSON (``ledger.app.logs``), logger ``certledger.access``: ``request_id`` (the caller's
``X-Request-ID`` when it is a plain token, else a new one; sent back in the same header), ``method``,
``route`` (the route's template, e.g. ``/departments/certificates/{identifier}``, never the path itself),
``status``, ``duration_ms`` and ``key_prefix`` (the prefix that names an API key in histories). Nothing else
of the request: no path parameters, query, body, address, API key or holder token, so the log holds no
personal data and no secret. The same labels count ``certledger_http_requests_total`` and time
``certledger_http_request_duration_seconds``.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import API_KEY_HEADER
from api.fast_verify import PATH as FAST_VERIFY_PATH
from ledger.app.metrics import HTTP_DURATION, HTTP_REQUESTS
from ledger.app.onboarding import KEY_PREFIX, key_prefix

log = logging.getLogger("certledger.access")

REQUEST_ID_HEADER = b"x-request-id"
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
_KEY = API_KEY_HEADER.lower().encode()


def _headers(scope: Scope) -> dict[bytes, bytes]:
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        found.setdefault(name, value)
    return found


def _route(scope: Scope) -> str:
    """The matched route's template; the counters' lean path has none (it answers before routing)."""
    route = scope.get("route")
    if route is not None and hasattr(route, "path"):
        return route.path
    return FAST_VERIFY_PATH if scope["path"] == FAST_VERIFY_PATH else "unmatched"


class Observe:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        given = headers.get(REQUEST_ID_HEADER, b"")
        request_id = given.decode() if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        status = 500  # unless a response starts: an exception escaped and the server answers 500
        started = time.perf_counter()

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []),
                                                  (REQUEST_ID_HEADER, request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            self._record(scope, headers, request_id, status, time.perf_counter() - started)

    @staticmethod
    def _record(scope: Scope, headers: dict[bytes, bytes], request_id: str, status: int, duration: float) -> None:
        method, route = scope["method"], _route(scope)
        HTTP_REQUESTS.labels(method, route, str(status)).inc()
        HTTP_DURATION.labels(method, route).observe(duration)
        key = headers.get(_KEY, b"").decode("latin-1")
        log.info("request", extra={"request_id": request_id, "method": method, "route": route, "status": status,
                                   "duration_ms": round(duration * 1000, 2),
                                   "key_prefix": key_prefix(key) if key.startswith(KEY_PREFIX) else None})
