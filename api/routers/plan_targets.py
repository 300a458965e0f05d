"""The city plan's targets for the platform administrator: the figures (JSON or CSV), the monthly reports anchored
on chain, and the administrator's page (``api/static/targets.*``; the administrator types the admin key in)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from api.deps import Caller, LibraryDep, require_role
from api.errors import responses
from api.schemas.common import WHOLE_NUMBER
from api.schemas.plan_targets import PlanReportOut, PlanTargetsOut
from api.static_pages import StaticPage
from ledger.plan.export import targets_csv
from ledger.plan.monthly import report_with_proof
from ledger.plan.targets import MAX_SERIES_DAYS, SERIES_DAYS, plan_targets
from ledger.plan.verifications import flush_verifications

router = APIRouter(prefix="/admin", tags=["admin"])
Admin = Annotated[Caller, Depends(require_role("admin"))]
Days = Annotated[int, Query(ge=1, le=MAX_SERIES_DAYS, description="days of the daily series (the chart)"), WHOLE_NUMBER]
CSV_NAME = "plan-targets.csv"
CSV_RESPONSE = {"content": {"text/csv": {"schema": {"type": "string"}, "example": "\ufeff指标 key,指标 target,…\r\n"
                                         "records,证照数据总量 / certificate records,5,5000000,0.0000,,,,,\r\n"}}}
TARGETS = StaticPage("the targets page", "targets.html", {"targets.css": "text/css; charset=utf-8",
                                                         "targets.js": "text/javascript; charset=utf-8"})


def _csv(lib: LibraryDep, days: int) -> Response:
    flush_verifications(lib)
    return Response(targets_csv(plan_targets(lib, days=days)), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{CSV_NAME}"'})


@router.get(
    "/plan-targets",
    summary="The city plan's targets, measured live: figure, target, share, per department, what is missing",
    response_model=PlanTargetsOut,
    responses={**responses(401, 403, 422), 200: CSV_RESPONSE},
)
def targets(lib: LibraryDep, _caller: Admin, days: Days = SERIES_DAYS,
            format: Annotated[Literal["json", "csv"], Query(description="csv: the same as /admin/plan-targets.csv")]
            = "json") -> PlanTargetsOut | Response:
    if format == "csv":
        return _csv(lib, days)
    flush_verifications(lib)
    return PlanTargetsOut.model_validate(plan_targets(lib, days=days))


@router.get(
    "/plan-targets.csv",
    summary="The city plan's targets as CSV for Excel (UTF-8 with BOM): one row per missing item",
    response_class=Response,
    responses={**responses(401, 403, 422), 200: CSV_RESPONSE},
)
def targets_as_csv(lib: LibraryDep, _caller: Admin, days: Days = SERIES_DAYS) -> Response:
    return _csv(lib, days)


@router.get(
    "/plan-targets/reports/{month}",
    summary="A month's plan report as anchored by the audit writer, with its proof (certledger verify checks it)",
    response_model=PlanReportOut,
    responses=responses(401, 403, 404, 422),
)
def monthly_report(
    lib: LibraryDep, _caller: Admin,
    month: Annotated[str, Path(description="YYYY-MM", examples=["2026-11"])],
) -> PlanReportOut:
    return PlanReportOut.model_validate(report_with_proof(lib, month))


@router.get("/targets", include_in_schema=False)
def page() -> Response:
    return TARGETS.page()


@router.get("/targets/assets/{name}", include_in_schema=False)
def asset(name: str) -> Response:
    return TARGETS.asset(name)
