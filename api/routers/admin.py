"""Platform administration: organisations (and their activation on chain), API keys, the catalogue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import select

from api.deps import Caller, LibraryDep, require_role
from api.errors import responses
from api.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    CatalogueImported,
    CertificateTypeList,
    CertificateTypeOut,
    OrganizationCreate,
    OrganizationList,
    OrganizationOut,
    OrgKind,
)
from ledger import catalogue, onboarding
from ledger.records import CertificateType, Organization

router = APIRouter(prefix="/admin", tags=["admin"])
Admin = Annotated[Caller, Depends(require_role("admin"))]
AnyKey = Annotated[Caller, Depends(require_role("admin", "department", "counter", "association"))]
OrgId = Annotated[int, Path(description="the organisation's id", examples=[3])]


@router.post(
    "/organizations",
    summary="Register an organisation (a department also gets a chain account and a seal)",
    status_code=201,
    response_model=OrganizationOut,
    responses=responses(401, 403, 409, 422, 503),
)
def create_organization(body: OrganizationCreate, lib: LibraryDep, _caller: Admin) -> OrganizationOut:
    org = onboarding.create_organization(lib, kind=body.kind, name=body.name, uscc=body.uscc, name_en=body.name_en)
    return OrganizationOut.model_validate(org)


@router.get(
    "/organizations",
    summary="List organisations",
    response_model=OrganizationList,
    responses=responses(401, 403, 422),
)
def list_organizations(
    lib: LibraryDep, _caller: Admin, kind: Annotated[OrgKind | None, Query(description="only this kind")] = None
) -> OrganizationList:
    q = select(Organization).order_by(Organization.id)
    if kind is not None:
        q = q.where(Organization.kind == kind)
    with lib.sessions() as session:
        return OrganizationList(items=[OrganizationOut.model_validate(o) for o in session.execute(q).scalars()])


@router.get(
    "/organizations/{org_id}",
    summary="Get one organisation",
    response_model=OrganizationOut,
    responses=responses(401, 403, 404, 422),
)
def get_organization(org_id: OrgId, lib: LibraryDep, _caller: Admin) -> OrganizationOut:
    return OrganizationOut.model_validate(lib.organization(org_id))


@router.post(
    "/organizations/{org_id}/activate",
    summary="Activate a catalogue department: chain account, seal certificate, on-chain registration",
    response_model=OrganizationOut,
    responses=responses(401, 403, 404, 409, 422, 503),
)
def activate_department(org_id: OrgId, lib: LibraryDep, _caller: Admin) -> OrganizationOut:
    return OrganizationOut.model_validate(onboarding.activate_department(lib, org_id))


@router.post(
    "/organizations/{org_id}/api-keys",
    summary="Create an API key for an organisation (the key is shown once)",
    status_code=201,
    response_model=ApiKeyCreated,
    responses=responses(401, 403, 404, 422),
)
def create_api_key(org_id: OrgId, body: ApiKeyCreate, lib: LibraryDep, _caller: Admin) -> ApiKeyCreated:
    key = onboarding.create_api_key(lib, org_id, list(body.roles))
    return ApiKeyCreated(org_id=org_id, roles=list(body.roles), key=key)


def _type_out(ctype: CertificateType, department_uscc: str) -> CertificateTypeOut:
    return CertificateTypeOut(
        code=ctype.code, name=ctype.name, name_en=ctype.name_en, department_uscc=department_uscc,
        holder_kind=ctype.holder_kind, validity_years=ctype.validity_years, fields=ctype.fields, active=ctype.active,
    )


_TYPES = select(CertificateType, Organization.uscc).join(Organization, CertificateType.department_id == Organization.id)


@router.get(
    "/certificate-types",
    summary="List the certificate catalogue (any API key)",
    response_model=CertificateTypeList,
    responses=responses(401, 403, 422),
)
def list_certificate_types(
    lib: LibraryDep,
    _caller: AnyKey,
    department: Annotated[str | None, Query(description="only types defined by this credit code")] = None,
) -> CertificateTypeList:
    q = _TYPES.order_by(CertificateType.code)
    if department is not None:
        q = q.where(Organization.uscc == department)
    with lib.sessions() as session:
        return CertificateTypeList(items=[_type_out(t, uscc) for t, uscc in session.execute(q)])


@router.get(
    "/certificate-types/{code}",
    summary="Get one certificate type with its field schema (any API key)",
    response_model=CertificateTypeOut,
    responses=responses(401, 403, 404, 422),
)
def get_certificate_type(
    code: Annotated[str, Path(description="the 21-character type code", examples=["114301007463904398001"])],
    lib: LibraryDep,
    _caller: AnyKey,
) -> CertificateTypeOut:
    with lib.sessions() as session:
        ctype = catalogue.get_type(session, code)
        return _type_out(ctype, lib.organization(ctype.department_id).uscc)


@router.post(
    "/certificate-types/import",
    summary="Import (upsert) the packaged catalogue of departments, types and service items",
    response_model=CatalogueImported,
    responses=responses(401, 403, 422),
)
def import_catalogue(lib: LibraryDep, _caller: Admin) -> CatalogueImported:
    with lib.sessions() as session:
        stats = catalogue.import_catalogue(session)
    return CatalogueImported(**stats.__dict__)
