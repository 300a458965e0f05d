"""One JSON error shape for everything the API refuses: ``{"error": {"code", "message", "details"}}``.

Domain errors (``ledger.core.errors.CertledgerError``) keep their code and status; request validation
failures become 422 ``request_invalid`` naming each bad field; framework HTTP errors (unknown
route, wrong method, body over the limit) get a code of their own; a full or read-only disk or an
unreachable database is 503 (``ledger.storage.faults``), never 500.

Messages come from the catalogue (``ledger.core.messages``) in the caller's language (``Accept-Language``, zh-CN
unless English is preferred), followed by the specific message; ``code`` never changes with the language.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from api.schemas.common import ErrorResponse
from ledger.core.errors import CertledgerError
from ledger.core.messages import language, localized
from ledger.storage.faults import storage_fault

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "request_malformed",
    401: "unauthorized",
    403: "forbidden",
    404: "route_not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "upload_too_large",
    415: "media_type_unsupported",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None,
               request: Request | None = None) -> dict[str, Any]:
    """The error shape; with ``request``, the message in its language (the catalogue's sentence first)."""
    lang = language(request.headers.get("accept-language")) if request is not None else "zh-CN"
    return {"error": {"code": code, "message": localized(code, message, lang), "details": details or {}}}


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


async def _ledger_error(request: Request, exc: CertledgerError) -> JSONResponse:
    if exc.http_status >= 500:
        log.warning("request failed", extra={"code": exc.code, "error_message": exc.message})
    return JSONResponse(
        error_body(exc.code, exc.message, exc.details, request), status_code=exc.http_status, headers=getattr(exc, "headers", None)
    )


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"field": _location(e.get("loc", ())), "type": e.get("type", ""), "message": e.get("msg", "")}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    message = f"{first['field']}: {first['message']}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
    return JSONResponse(error_body("request_invalid", message, {"errors": errors}, request), status_code=422)


def body_limit_message(limit: int) -> str:
    return f"the request body is larger than {limit // (1024 * 1024)} MB; send a smaller file"


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    details: dict[str, Any] = {}
    if exc.status_code == 400:  # a body the framework cannot parse (e.g. broken multipart): invalid input, as documented
        return JSONResponse(error_body(code, f"请求体无法解析。 / The request body cannot be parsed: {exc.detail}"),
                            status_code=422, headers=exc.headers)
    if exc.status_code == 413:
        details["max_bytes"] = request.app.state.api_settings.max_body_bytes
        message = body_limit_message(details["max_bytes"])
    elif exc.status_code == 404:
        message = f"no route {request.method} {request.url.path}; see /docs for the API"
    else:
        message = str(exc.detail)
    return JSONResponse(error_body(code, message, details, request), status_code=exc.status_code, headers=exc.headers)


async def _storage_or_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A full or read-only disk, a database that cannot be reached: 503 (the transaction was rolled back, nothing
    was stored; ``ledger.storage.faults``); any other error of these kinds is a bug: 500."""
    fault = storage_fault(exc)
    if fault is None:
        return await _unexpected(request, exc)
    log.error("storage unavailable", extra={"code": fault.code, "error": f"{type(exc).__name__}: {exc}"})
    return JSONResponse(error_body(fault.code, fault.message, request=request), status_code=503, headers={"Retry-After": "5"})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(
        error_body("internal_error", "the server failed on this request; the error is logged", request=request),
        status_code=500
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(CertledgerError, _ledger_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(SQLAlchemyError, _storage_or_unexpected)
    app.add_exception_handler(OSError, _storage_or_unexpected)
    app.add_exception_handler(Exception, _unexpected)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry documenting a route's error statuses with the shared error model."""
    return {s: {"model": ErrorResponse, "description": _DESCRIPTIONS.get(s, "error")} for s in statuses}


_DESCRIPTIONS = {
    401: "missing or unknown API key (`api_key_missing`, `api_key_invalid`)",
    403: "the key's organisation or role may not do this",
    404: "not found",
    409: "conflicts with existing state (e.g. `certificate_duplicate`)",
    410: "no longer available (`share_link_expired`, `share_link_revoked`)",
    413: "request body over the limit (`upload_too_large`)",
    422: "invalid input (`request_invalid` or a field-specific code); nothing was stored",
    429: "too many requests from this address (`rate_limited`), or too many failures from this key "
         "(`use_code_attempts_exceeded`, `unknown_identifier_attempts_exceeded`); see Retry-After",
    503: "a dependency (database, chain node, IPFS node) is unavailable",
}
