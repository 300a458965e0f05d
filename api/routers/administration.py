"""Administration beyond onboarding: an organisation's API keys (list, revoke, rotate), deactivating and
reactivating an organisation (database and chain), and revoking a holder's tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from api.deps import Caller, LibraryDep, forget_keys, require_role
from api.errors import responses
from api.routers.admin import OrgId
from api.schemas.admin import ApiKeyCreated, OrganizationOut
from api.schemas.administration import ApiKeyList, ApiKeyOut, ApiKeyRevoked, HolderRevoke, HolderRevoked
from ledger.app import onboarding
from ledger.holders import tokens
from ledger.issue import activity

router = APIRouter(prefix="/admin", tags=["admin"])
Admin = Annotated[Caller, Depends(require_role("admin"))]
Prefix = Annotated[str, Path(max_length=16, description="the key's prefix, as listed", examples=["clk_3f9a0c1e"])]


@router.get(
    "/organizations/{org_id}/api-keys",
    summary="List an organisation's API keys (prefixes, roles, staff member, revoked or not)",
    response_model=ApiKeyList,
    responses=responses(401, 403, 404, 422),
)
def list_api_keys(org_id: OrgId, lib: LibraryDep, _caller: Admin) -> ApiKeyList:
    keys = onboarding.list_api_keys(lib, org_id)
    return ApiKeyList(org_id=org_id, items=[ApiKeyOut.model_validate(k) for k in keys])


@router.post(
    "/organizations/{org_id}/api-keys/{prefix}/revoke",
    summary="Revoke an API key: refused from now on",
    response_model=ApiKeyRevoked,
    responses=responses(401, 403, 404, 422),
)
def revoke_api_key(org_id: OrgId, prefix: Prefix, lib: LibraryDep, _caller: Admin) -> ApiKeyRevoked:
    onboarding.revoke_api_key(lib, org_id, prefix)
    forget_keys()
    return ApiKeyRevoked(org_id=org_id, prefix=prefix, revoked=True)


@router.post(
    "/organizations/{org_id}/api-keys/{prefix}/rotate",
    summary="Rotate an API key: a new key with the same roles and staff member; the old one is revoked",
    status_code=201,
    response_model=ApiKeyCreated,
    responses=responses(401, 403, 404, 422),
)
def rotate_api_key(org_id: OrgId, prefix: Prefix, lib: LibraryDep, _caller: Admin) -> ApiKeyCreated:
    key = onboarding.rotate_api_key(lib, org_id, prefix)
    forget_keys()
    new = next(k for k in onboarding.list_api_keys(lib, org_id) if k.prefix == onboarding.key_prefix(key))
    return ApiKeyCreated(org_id=org_id, roles=list(new.roles), key=key, prefix=new.prefix, staff_id=new.staff_id,
                         staff_name=new.staff_name)


@router.post(
    "/organizations/{org_id}/deactivate",
    summary="Deactivate an organisation: its keys are refused and its chain account can no longer anchor",
    description="Queued certificates are anchored first; what it anchored keeps verifying.",
    response_model=OrganizationOut,
    responses=responses(401, 403, 404, 422, 503),
)
def deactivate(org_id: OrgId, lib: LibraryDep, _caller: Admin) -> OrganizationOut:
    org = activity.deactivate(lib, org_id)
    forget_keys()
    return OrganizationOut.model_validate(org)


@router.post(
    "/organizations/{org_id}/reactivate",
    summary="Reactivate an organisation: its chain account's role back, then its keys",
    response_model=OrganizationOut,
    responses=responses(401, 403, 404, 409, 422, 503),
)
def reactivate(org_id: OrgId, lib: LibraryDep, _caller: Admin) -> OrganizationOut:
    return OrganizationOut.model_validate(activity.reactivate(lib, org_id))


@router.post(
    "/holders/revoke-tokens",
    summary="Revoke every holder token of a holder issued until now",
    response_model=HolderRevoked,
    responses=responses(401, 403, 422),
)
def revoke_holder_tokens(body: HolderRevoke, lib: LibraryDep, _caller: Admin) -> HolderRevoked:
    return HolderRevoked(revoked_before=tokens.revoke_tokens(lib, body.id_type, body.id_number))
