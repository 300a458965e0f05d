"""Platform administration: organisations (and their activation on chain), API keys, seals (rotation and
compromise), the catalogue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query
from sqlalchemy import select

from api.deps import Caller, LibraryDep, require_role
from api.errors import responses
from api.schemas.admin import (
    ApiKeyCreate,
    ApiKeyCreated,
    CatalogueImported,
    CertificateTypeList,
    CertificateTypeOut,
    OrganizationCreate,
    OrganizationList,
    OrganizationOut,
    SealChoice,
    SealCompromise,
    SealList,
    SealOut,
)
from api.schemas.common import INT64_MAX, OrgKind
from api.schemas.service_items import (
    CoverageOut,
    ServiceItemIn,
    ServiceItemList,
    ServiceItemOut,
    ServiceItemUpdate,
)
from ledger.app import onboarding
from ledger.app.library import Library
from ledger.holders import service_items as services
from ledger.issue import seals
from ledger.storage import catalogue
from ledger.storage import seals as seals_store
from ledger.storage.models import CertificateType, Organization, as_utc

router = APIRouter(prefix="/admin", tags=["admin"])
Admin = Annotated[Caller, Depends(require_role("admin"))]
AnyKey = Annotated[Caller, Depends(require_role("admin", "department", "counter", "association"))]
OrgId = Annotated[int, Path(ge=1, le=INT64_MAX, description="the organisation's id", examples=[3])]
SEAL_EXAMPLES = {"sm2": {"summary": "an SM2 seal (GB/T 38540)", "value": {"algorithm": "sm2"}},
                 "p256": {"summary": "a P-256 seal (CMS; PDFs too)", "value": {"algorithm": "p256"}}}


@router.post(
    "/organizations",
    summary="Register an organisation (a department also gets a chain account and a seal)",
    status_code=201,
    response_model=OrganizationOut,
    responses=responses(401, 403, 409, 422, 503),
)
def create_organization(body: OrganizationCreate, lib: LibraryDep, _caller: Admin) -> OrganizationOut:
    org = onboarding.create_organization(lib, kind=body.kind, name=body.name, uscc=body.uscc, name_en=body.name_en,
                                         seal_algorithm=body.seal_algorithm)
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
    summary="Activate a catalogue department: chain account, seal certificate (P-256 or SM2), on-chain registration",
    response_model=OrganizationOut,
    responses=responses(401, 403, 404, 409, 422, 503),
)
def activate_department(org_id: OrgId, lib: LibraryDep, _caller: Admin,
                        body: Annotated[SealChoice | None, Body(openapi_examples=SEAL_EXAMPLES)] = None
                        ) -> OrganizationOut:
    algorithm = body.algorithm if body is not None and body.algorithm else "p256"
    return OrganizationOut.model_validate(onboarding.activate_department(lib, org_id, seal_algorithm=algorithm))


@router.post(
    "/organizations/{org_id}/api-keys",
    summary="Create an API key for an organisation (the key is shown once)",
    status_code=201,
    response_model=ApiKeyCreated,
    responses=responses(401, 403, 404, 422),
)
def create_api_key(org_id: OrgId, body: ApiKeyCreate, lib: LibraryDep, _caller: Admin) -> ApiKeyCreated:
    key = onboarding.create_api_key(lib, org_id, list(body.roles), staff_id=body.staff_id, staff_name=body.staff_name)
    return ApiKeyCreated(org_id=org_id, roles=list(body.roles), key=key, prefix=onboarding.key_prefix(key),
                         staff_id=body.staff_id and body.staff_id.strip(),
                         staff_name=body.staff_name and body.staff_name.strip())


def _seals(lib: Library, org_id: int) -> list[SealOut]:
    lib.organization(org_id)
    q = (select(seals_store.SealCertificateRow, seals_store.SealRevocationRow.compromise_time)
         .outerjoin(seals_store.SealRevocationRow,
                    seals_store.SealRevocationRow.serial == seals_store.SealCertificateRow.serial)
         .where(seals_store.SealCertificateRow.org_id == org_id)
         .order_by(seals_store.SealCertificateRow.created_at.desc(), seals_store.SealCertificateRow.serial.desc()))
    with lib.sessions() as session:
        rows = session.execute(q).all()
    return [
        SealOut(org_id=org_id, serial=row.serial, fingerprint="0x" + row.fingerprint.hex(), algorithm=row.algorithm,
                valid_from=as_utc(row.valid_from), valid_until=as_utc(row.valid_until), current=n == 0,
                compromise_time=as_utc(compromised) if compromised else None)
        for n, (row, compromised) in enumerate(rows)
    ]


@router.get(
    "/organizations/{org_id}/seals",
    summary="An organisation's seal certificates, current and former, with any recorded compromise",
    response_model=SealList,
    responses=responses(401, 403, 404, 422),
)
def list_seals(org_id: OrgId, lib: LibraryDep, _caller: Admin) -> SealList:
    return SealList(items=_seals(lib, org_id))


@router.post(
    "/organizations/{org_id}/seals/rotate",
    summary="Rotate the organisation's seal (P-256 or SM2): leaves sealed with the former seal are anchored first, "
            "then the new seal is registered on chain; former seals still verify",
    status_code=201,
    response_model=SealOut,
    responses=responses(401, 403, 404, 409, 422, 503),
)
def rotate_seal(org_id: OrgId, lib: LibraryDep, _caller: Admin,
                body: Annotated[SealChoice | None, Body(openapi_examples=SEAL_EXAMPLES)] = None) -> SealOut:
    serial = f"{seals.rotate_seal(lib, org_id, algorithm=body.algorithm if body else None):x}"
    return next(s for s in _seals(lib, org_id) if s.serial == serial)


@router.post(
    "/organizations/{org_id}/seals/compromise",
    summary="Report a seal key compromised at a time (a revokeSeal transaction): what it sealed, or what was "
            "anchored, from then on fails; issuance is refused (409 seal_compromised) until the seal is rotated",
    response_model=SealOut,
    responses=responses(401, 403, 404, 409, 422, 503),
)
def report_seal_compromise(org_id: OrgId, body: SealCompromise, lib: LibraryDep, _caller: Admin) -> SealOut:
    serial = body.serial.lower().lstrip("0") or "0"
    seals.report_seal_compromise(lib, org_id, int(serial, 16), body.compromise_time)
    return next(s for s in _seals(lib, org_id) if s.serial == serial)


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


# --- service items and their materials ---

ServiceItemCode = Annotated[str, Path(description="事项编码", examples=["YJS117001"])]


@router.post(
    "/service-items",
    summary="Define a service item with its required materials, each linked to a certificate type or not",
    status_code=201,
    response_model=ServiceItemOut,
    responses=responses(401, 403, 409, 422),
)
def define_service_item(body: ServiceItemIn, lib: LibraryDep, _caller: Admin) -> ServiceItemOut:
    with lib.sessions() as session:
        item = services.define_service_item(session, body.model_dump())
    return ServiceItemOut.model_validate(item)


@router.put(
    "/service-items/{code}",
    summary="Redefine (or define) a service item: its name, department, holder kind and materials",
    response_model=ServiceItemOut,
    responses=responses(401, 403, 422),
)
def redefine_service_item(code: ServiceItemCode, body: ServiceItemUpdate, lib: LibraryDep, _caller: Admin) -> ServiceItemOut:
    with lib.sessions() as session:
        item = services.define_service_item(session, {"code": code, **body.model_dump()}, replace=True)
    return ServiceItemOut.model_validate(item)


@router.get(
    "/service-items",
    summary="List the service items with their materials (any API key)",
    response_model=ServiceItemList,
    responses=responses(401, 403, 422),
)
def list_service_items(
    lib: LibraryDep,
    _caller: AnyKey,
    department: Annotated[str | None, Query(description="only this department's items (credit code)")] = None,
) -> ServiceItemList:
    with lib.sessions() as session:
        items = services.list_service_items(session, department)
    return ServiceItemList(items=[ServiceItemOut.model_validate(i) for i in items])


@router.get(
    "/service-items/{code}",
    summary="Get one service item with its materials (any API key)",
    response_model=ServiceItemOut,
    responses=responses(401, 403, 404, 422),
)
def get_service_item(code: ServiceItemCode, lib: LibraryDep, _caller: AnyKey) -> ServiceItemOut:
    with lib.sessions() as session:
        return ServiceItemOut.model_validate(services.get_service_item(session, code))


@router.get(
    "/material-coverage",
    summary="Coverage: the share of service materials linked to a certificate type (target 100%)",
    response_model=CoverageOut,
    responses=responses(401, 403, 422),
)
def material_coverage(
    lib: LibraryDep,
    _caller: Admin,
    department: Annotated[str | None, Query(description="only this department's items (credit code)")] = None,
) -> CoverageOut:
    with lib.sessions() as session:
        return CoverageOut.model_validate(services.coverage(session, department).to_dict())
