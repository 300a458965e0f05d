"""Request and response models of association report summaries (api/routers/associations.py,
api/routers/report_search.py). The ledger (``ledger.issue.reports``) enforces the domain rules, so their
errors keep specific codes; these models fix the shape and document it."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import ConfigDict, Field

from api.schemas.common import EXAMPLE_CID, EXAMPLE_HASH, AnchorInfo, DocumentRef, Model

EXAMPLE_ASSOCIATION = "51430100513343076P"
EXAMPLE_NUMBER = "湘建检〔2026〕第0001号"
EXAMPLE_REPORT = f"RS.{EXAMPLE_ASSOCIATION}.{EXAMPLE_NUMBER}"

_SUBMIT_EXAMPLE: dict[str, Any] = {
    "name": "长沙示例大厦主体结构检测报告", "number": EXAMPLE_NUMBER, "kind": "检测报告",
    "issuing_body": "湖南示例建设工程质量检测有限公司", "subject": "长沙示例大厦（岳麓区示例路1号）",
    "report_date": "2026-11-20", "conclusion": "主体结构混凝土强度符合设计要求。",
    "catalogue": ["一、工程概况", "二、检测依据", {"section": "三", "title": "检测结果", "page": 5}],
    "document_sha256": EXAMPLE_HASH,
}


class ReportSubmission(Model):
    """One report summary. Give ``document_sha256``, the document (base64), or both (they must agree)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_SUBMIT_EXAMPLE]})

    name: str = Field(max_length=200, description="报告名称")
    number: str = Field(max_length=64, description="报告编号: unique per association; letters, digits, Chinese, "
                        "- _ . ( ) （ ） 〔 〕 [ ] 【 】", examples=[EXAMPLE_NUMBER])
    kind: str = Field(max_length=50, description="报告类型, e.g. 检测报告, 评估报告, 审计报告")
    issuing_body: str = Field(max_length=200, description="出具单位")
    subject: str = Field(max_length=200, description="报告对象 (project, entity or product reported on)")
    report_date: dt.date = Field(description="报告日期 (not in the future)")
    conclusion: str = Field(max_length=4000, description="结论摘要")
    catalogue: list[str | dict[str, str | int]] = Field(default_factory=list, max_length=1000,
                                                        description="目录: entries as texts or flat objects")
    document_sha256: str | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$",
                                        description="SHA-256 (hex) of the report document")
    document: str | None = Field(None, description="the report document, base64 (stored encrypted in IPFS)")
    document_media_type: str | None = Field(None, max_length=100, description="default application/pdf")


class ReportBatchRequest(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reports": [_SUBMIT_EXAMPLE]}]})

    reports: list[ReportSubmission] = Field(min_length=1, max_length=10_000,
                                            description="stored all together or not at all")


class SubmittedReport(Model):
    identifier: str = Field(description="RS.<association credit code>.<number>", examples=[EXAMPLE_REPORT])
    number: str
    leaf: str = Field(description="the Merkle leaf (hex) queued for anchoring")
    anchor_status: Literal["queued"]
    document_sha256: str
    document: DocumentRef | None = Field(None, description="where the encrypted document is, when it was sent")


class SubmittedReports(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reports": [{
        "identifier": EXAMPLE_REPORT, "number": EXAMPLE_NUMBER, "leaf": "0x" + EXAMPLE_HASH,
        "anchor_status": "queued", "document_sha256": EXAMPLE_HASH, "document": None}]}]})

    reports: list[SubmittedReport]


class ReportOut(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        **{k: v for k, v in _SUBMIT_EXAMPLE.items() if k != "document_sha256"},
        "identifier": EXAMPLE_REPORT, "association": "市建筑业协会", "association_code": EXAMPLE_ASSOCIATION,
        "document_sha256": EXAMPLE_HASH, "document": {"cid": EXAMPLE_CID, "sha256": EXAMPLE_HASH}, "status": "01",
        "anchor": {"batch_id": 7, "status": "anchored", "root": "0x" + EXAMPLE_HASH, "tx_hash": "0x" + EXAMPLE_HASH,
                   "block_number": 42, "anchored_at": "2026-11-20T08:00:05Z"},
    }]})

    identifier: str
    association: str = Field(description="the submitting association's name")
    association_code: str = Field(description="its unified social credit code")
    name: str
    number: str
    kind: str
    issuing_body: str
    subject: str
    report_date: dt.date
    conclusion: str
    catalogue: list[Any]
    document_sha256: str
    document: DocumentRef | None
    status: str = Field(description="01 valid")
    anchor: AnchorInfo


class ReportPage(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "items": [ReportOut.model_config["json_schema_extra"]["examples"][0]],  # type: ignore[index]
        "next_after": 1234,
    }]})

    items: list[ReportOut]
    next_after: int | None = Field(description="pass as `after` for the next page; null on the last page")


class VerifyReportRequest(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"identifier": EXAMPLE_REPORT}]})

    identifier: str = Field(max_length=120, description="RS.<association credit code>.<number>")
