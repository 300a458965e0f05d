"""Response models of the city plan's targets (api/routers/plan_targets.py; figures from ``ledger.plan``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.schemas.common import Model


class MissingOut(Model):
    code: str = Field(description="the type's, service item's or organisation's code")
    name: str
    department_uscc: str | None = Field(description="its department's credit code (null for an association)")
    department_name: str | None
    note: str = Field(description="why it is missing, Chinese first with English beside")


class DepartmentFigureOut(Model):
    uscc: str | None
    name: str | None
    figure: int
    target: int = Field(description="how many the department has in all (0 where the target is the city's alone)")


class TargetOut(Model):
    key: str = Field(description="types_with_certificates, records, types_linked_to_materials, "
                                 "service_items_accepting, counters_connected or associations_reporting")
    title: str = Field(description="中文 / English")
    figure: int
    target: int
    share: float = Field(description="figure / target, 4 decimals (may exceed 1)")
    meets_target: bool
    departments: list[DepartmentFigureOut]
    missing: list[MissingOut]


class SeriesDepartmentOut(Model):
    uscc: str | None
    name: str | None
    counts: list[int] = Field(description="certificates collected on each day of ``days``")


class SeriesOut(Model):
    days: list[str] = Field(description="the days, oldest first (China time)")
    departments: list[SeriesDepartmentOut]


class PlanTargetsOut(Model):
    """The city plan's targets, measured live."""

    as_of: str
    today: str = Field(description="today in China, against which the last 30 days are counted")
    targets: list[TargetOut]
    series: SeriesOut


class PlanReportOut(Model):
    """A month's plan report as anchored by the audit writer: what ``certledger verify`` checks."""

    format: str = Field(description="certledger/anchored-record/1")
    month: str
    identifier: str
    record: dict[str, Any] = Field(description="the anchored record (certledger/plan-targets/1), with its salt")
    leaf: str
    anchor_status: str = Field(description="queued, pending or anchored")
    root: str | None
    proof: list[str]
    chain: dict[str, Any] | None
    verdict: str = Field(description="this service's verification: VALID once anchored, SKIPPED before")
    checks: list[dict[str, Any]]
