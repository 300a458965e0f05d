"""Holders: their certificates, use codes (用证码) for counters, and who used which certificate.

A holder authenticates with a platform-signed token (``Authorization: Bearer clh_...``); the platform
admin issues one here or with ``certledger holder-token`` until the city's identity provider is
connected (``ledger.holders.tokens``).
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import Caller, LibraryDep, require_role
from api.errors import responses
from api.schemas.common import INT64_MAX, WHOLE_NUMBER
from api.schemas.holders import (
    AccessLogAnchorOut,
    AccessLogEntryOut,
    AccessLogPage,
    HolderCertificateList,
    HolderTokenOut,
    HolderTokenRequest,
    UseCodeOut,
)
from ledger.core.errors import Unauthorized
from ledger.holders import accesslog, usecodes
from ledger.holders.lookups import flush_lookups
from ledger.holders import tokens as holders

router = APIRouter(prefix="/holders", tags=["holders"])
_bearer = HTTPBearer(auto_error=False, description="a holder token from the platform (`clh_...`)")
Admin = Annotated[Caller, Depends(require_role("admin"))]
EntryId = Annotated[int, Path(ge=1, le=INT64_MAX, description="the access-log entry's id", examples=[17])]


def current_holder(
    lib: LibraryDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> bytes:
    """The holder key the bearer token proves."""
    if credentials is None:
        raise Unauthorized("holder_token_missing", "send your holder token as `Authorization: Bearer <token>`")
    return holders.authenticate(lib, credentials.credentials)


Holder = Annotated[bytes, Depends(current_holder)]


@router.post(
    "/tokens",
    summary="Issue a holder token (platform admin; stands in for the city's identity provider)",
    status_code=201,
    response_model=HolderTokenOut,
    responses=responses(401, 403, 422),
)
def issue_token(body: HolderTokenRequest, lib: LibraryDep, _caller: Admin) -> HolderTokenOut:
    token = holders.issue_token(lib, body.id_type, body.id_number, ttl=dt.timedelta(minutes=body.ttl_minutes))
    return HolderTokenOut(token=token.token, expires_at=token.expires_at)


@router.get(
    "/me/certificates",
    summary="My certificates, with their status (expired, revoked and replaced versions too)",
    response_model=HolderCertificateList,
    responses=responses(401),
)
def my_certificates(lib: LibraryDep, holder: Holder) -> HolderCertificateList:
    return HolderCertificateList.model_validate({"items": holders.certificates(lib, holder)})


@router.post(
    "/me/use-codes",
    summary="Generate a use code (用证码): one intake at a counter, by me only, within five minutes",
    status_code=201,
    response_model=UseCodeOut,
    responses=responses(401),
)
def new_use_code(lib: LibraryDep, holder: Holder) -> UseCodeOut:
    code = usecodes.issue(lib, holder)
    return UseCodeOut(code=code.code, expires_at=code.expires_at, ttl_seconds=int(usecodes.TTL.total_seconds()),
                      qr_png=base64.b64encode(code.qr_png).decode(), qr_svg=usecodes.qr_svg(code.code))


@router.get(
    "/me/access-log",
    summary="Who used my certificates, when and for what (newest first)",
    response_model=AccessLogPage,
    responses=responses(401, 422),
)
def my_access_log(
    lib: LibraryDep,
    holder: Holder,
    identifier: Annotated[str | None, Query(max_length=128, description="only uses of this certificate")] = None,
    limit: Annotated[int, Query(ge=1, le=1000), WHOLE_NUMBER] = 100,
    before: Annotated[int | None, Query(ge=0, le=INT64_MAX, description="only entries older than this id (paging)"), WHOLE_NUMBER] = None,
) -> AccessLogPage:
    flush_lookups(lib)  # this process's latest lookups, written now rather than within seconds
    items = accesslog.holder_entries(lib, holder, identifier=identifier, limit=limit, before=before)
    return AccessLogPage.model_validate({"items": items, "next_before": items[-1]["id"] if len(items) == limit else None})


@router.get(
    "/me/access-log/{entry_id}",
    summary="One entry of my access log",
    response_model=AccessLogEntryOut,
    responses=responses(401, 404, 422),
)
def my_access_log_entry(entry_id: EntryId, lib: LibraryDep, holder: Holder) -> AccessLogEntryOut:
    return AccessLogEntryOut.model_validate(accesslog.holder_entry(lib, holder, entry_id))


@router.get(
    "/me/access-log/{entry_id}/anchor",
    summary="Check that an entry of my access log is anchored on chain as shown (record, proof, root, contract)",
    response_model=AccessLogAnchorOut,
    responses=responses(401, 404, 422, 503),
)
def check_anchor(entry_id: EntryId, lib: LibraryDep, holder: Holder) -> AccessLogAnchorOut:
    return AccessLogAnchorOut.model_validate(accesslog.check_anchor(lib, holder, entry_id))
