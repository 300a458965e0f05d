"""Response models of the city plan's targets (api/routers/plan_targets.py; figures from ``ledger.plan``)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

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


_MISSING = {"code": "11430000006122244L002", "name": "不动产登记证明", "department_uscc": "11430000006122244L",
            "department_name": "自然资源和规划局", "note": "尚无证照 / no certificate yet"}
_TARGET = {"key": "types_with_certificates", "title": "汇聚证照种类 / certificate types holding certificates",
           "figure": 4, "target": 150, "share": 0.0267, "meets_target": False,
           "departments": [{"uscc": "11430000006122244L", "name": "自然资源和规划局", "figure": 1, "target": 6}],
           "missing": [_MISSING]}


class PlanTargetsOut(Model):
    """The city plan's targets, measured live."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "as_of": "2026-12-06T06:09:39+00:00", "today": "2026-12-06", "targets": [_TARGET],
        "series": {"days": ["2026-12-05", "2026-12-06"], "departments": [
            {"uscc": "11430000006122244L", "name": "自然资源和规划局", "counts": [0, 3]}]}}]})

    as_of: str
    today: str = Field(description="today in China, against which the last 30 days are counted")
    targets: list[TargetOut]
    series: SeriesOut


class PlanReportOut(Model):
    """A month's plan report as anchored by the audit writer: what ``certledger verify`` checks."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "format": "certledger/anchored-record/1", "month": "2026-11", "identifier": "PT.12430100MB1234567X.2026-11",
        "record": {"format": "certledger/plan-targets/1", "identifier": "PT.12430100MB1234567X.2026-11",
                   "platform": "市电子证照库平台", "platform_code": "12430100MB1234567X", "month": "2026-11",
                   "as_of": "2026-12-01T00:00:03+00:00", "targets": [{"key": "records", "figure": 5, "target": 5000000}],
                   "salt": "9f" * 32},
        "leaf": "0x" + "bd" * 32, "anchor_status": "anchored", "root": "0x" + "1a" * 32, "proof": ["0x" + "2b" * 32],
        "chain": {"chain_id": 31337, "contract": "0x9F90468B47CD03f938e5827705F455Dfb33675b3", "tx_hash": "0x" + "3c" * 32,
                  "block_number": 8, "anchored_at": "2026-12-01T00:00:05+00:00"},
        "verdict": "VALID", "checks": [{"name": "record_integrity", "status": "VALID", "reason": "leaf_matches"}]}]})

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
