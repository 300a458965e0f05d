"""The plan's figures as CSV that Excel opens as is (UTF-8 with a byte-order mark, CRLF): one row per missing
item, and one row for a target with nothing missing, so the whole report is one flat sheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

HEADER = ("指标 key", "指标 target", "完成 figure", "目标 goal", "比例 share", "缺项编码 code", "缺项名称 name",
          "部门代码 department code", "部门 department", "说明 note")


def _cell(value: Any) -> Any:
    """A cell Excel will not run as a formula (a name starting with = + - @ is shown as text)."""
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") else value


def targets_csv(figures: Mapping[str, Any]) -> bytes:
    """``ledger.plan.targets.plan_targets``'s answer as CSV bytes."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for t in figures["targets"]:
        head = (t["key"], t["title"], t["figure"], t["target"], f"{t['share']:.4f}")
        if not t["missing"]:
            writer.writerow((*head, "", "", "", "", ""))
        for m in t["missing"]:
            writer.writerow((*head, *(_cell(m[k]) for k in ("code", "name", "department_uscc", "department_name",
                                                               "note"))))
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
