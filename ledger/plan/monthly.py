"""The plan's figures anchored monthly, so a report to the province can be checked against the chain.

A month's report is a salted record (``certledger/plan-targets/1``, ``ledger.core.record.PLAN_KIND``): the
platform, the month, when the figures were taken and each target's figure and target. Like an access-log entry it
is queued in the transaction that stores it and anchored in a Merkle batch by the platform's audit writer account
(outbox kind ``plan_report``, on chain as the audit writer's batch kind): the writer's signed anchoring
transaction is what vouches for it, and anyone holding the report, its proof and the trust list checks it with
``certledger verify`` (``ledger.verify.standalone.verify_anchored_record``).

The anchoring worker (:class:`PlanAnchorer`) stores the report of a month in its first round after the month ends
(China time); ``certledger plan-targets --anchor [--month YYYY-MM]`` does it at once. A month has one report: asking
again returns the stored one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ledger.app.library import Library
from ledger.core.errors import BadInput, CertledgerError, NotFound
from ledger.core.merkle import split_proof
from ledger.core.record import PLAN_FORMAT, new_salt, record_bytes, record_leaf
from ledger.core.statuses import today_china
from ledger.holders.accesslog import audit_writer
from ledger.holders.lookups import NOTES_PER_ROUND, record_noted_lookups
from ledger.issue.anchoring import AnchoredBatch, Anchorer
from ledger.plan.targets import plan_targets
from ledger.plan.verifications import flush_verifications
from ledger.storage.engine import writing
from ledger.storage.models import Batch, as_utc
from ledger.storage.outbox import insert_anchored
from ledger.storage.plan_tables import PlanReport
from ledger.verify.service import service_verifier
from ledger.verify.standalone import ANCHORED_FORMAT

log = logging.getLogger(__name__)

KIND = "plan_report"
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def previous_month(today: dt.date) -> str:
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first:%Y-%m}"


def check_month(month: Any, today: dt.date | None = None) -> str:
    """A month as YYYY-MM, not after the current one (China time)."""
    today = today or today_china()
    if not isinstance(month, str) or not _MONTH.match(month):
        raise BadInput("plan_month_invalid", f"月份格式应为 YYYY-MM / the month must be YYYY-MM, not {month!r}",
                       month=str(month))
    if month > f"{today:%Y-%m}":
        raise BadInput("plan_month_in_future", f"{month} 尚未开始 / month {month} has not begun yet", month=month)
    return month


def _view(report: PlanReport, batch: Batch | None) -> dict[str, Any]:
    return {"month": report.month, "identifier": report.identifier, "record": json.loads(report.record),
            "leaf": "0x" + report.leaf.hex(), "anchor_status": "queued" if batch is None else batch.status}


def anchor_month(lib: Library, month: str | None = None) -> dict[str, Any]:
    """Store and queue the report of a month that is over (default: the previous month), with the figures as they
    are now (its ``as_of``); the stored one if it exists."""
    today = today_china()
    month = check_month(month or previous_month(today), today)
    if month == f"{today:%Y-%m}":
        raise BadInput("plan_month_not_over", f"{month} 尚未结束，月末后再生成报告 / month {month} is not over: its report "
                       "is made after its last day (a month has one report)", month=month)
    found = _stored(lib, month)
    if found is not None:
        return {**found, "created": False}
    flush_verifications(lib)
    figures = plan_targets(lib)
    with lib.sessions() as session:
        writer = audit_writer(session)
    record = {
        "format": PLAN_FORMAT, "identifier": f"PT.{writer.uscc}.{month}", "platform": writer.name,
        "platform_code": writer.uscc, "month": month, "as_of": figures["as_of"],
        "targets": [{"key": t["key"], "figure": t["figure"], "target": t["target"]} for t in figures["targets"]],
        "salt": new_salt(),
    }
    data = record_bytes(record)
    row = {"identifier": record["identifier"], "month": month, "org_id": writer.id, "record": data.decode(),
           "salt": record["salt"], "leaf": record_leaf(data), "batch_id": None, "leaf_index": None, "proof": None,
           "created_at": dt.datetime.now(dt.UTC)}
    created = True
    try:
        with writing(lib.engine) as conn:
            insert_anchored(conn, KIND, [row], org_key="org_id", seal=None)
    except IntegrityError:  # another process stored this month's report first
        created = False
    return {**_stored(lib, month), "created": created}


def _stored(lib: Library, month: str) -> dict[str, Any] | None:
    with lib.sessions() as session:
        row = session.execute(select(PlanReport, Batch).outerjoin(Batch, Batch.id == PlanReport.batch_id)
                              .where(PlanReport.month == month)).one_or_none()
    return None if row is None else _view(row.PlanReport, row.Batch)


def report_with_proof(lib: Library, month: str) -> dict[str, Any]:
    """The month's report with its proof and where it was anchored (``certledger/anchored-record/1``, what
    ``certledger verify`` checks), and this service's own verification of it."""
    month = check_month(month)
    with lib.sessions() as session:
        row = session.execute(select(PlanReport, Batch).outerjoin(Batch, Batch.id == PlanReport.batch_id)
                              .where(PlanReport.month == month)).one_or_none()
        writer = audit_writer(session) if row is not None else None
    if row is None:
        raise NotFound("plan_report_not_found", f"{month} 的指标报告尚未生成 / no plan report for {month} yet: "
                       "certledger plan-targets --anchor --month " + month, month=month)
    report, batch = row.PlanReport, row.Batch
    out = {**_view(report, batch), "format": ANCHORED_FORMAT, "root": None, "proof": [], "chain": None,
           "verdict": "PENDING", "checks": []}  # 待上链: recorded, its batch not on chain yet
    if batch is None or batch.status != "anchored" or report.proof is None:
        return out
    verifier = service_verifier(lib)
    proof = split_proof(report.proof)
    chain = {"chain_id": verifier.chain.chain_id(), "contract": verifier.chain.contract.address,
             "tx_hash": batch.tx_hash and "0x" + batch.tx_hash.hex(), "block_number": batch.block_number,
             "anchored_at": batch.block_time and as_utc(batch.block_time).isoformat()}
    out.update(root="0x" + batch.root.hex(), proof=["0x" + p.hex() for p in proof], chain=chain)
    result = verifier.verify_parts(out, b"", report.leaf, batch.root, proof, anchorer=writer.chain_address)
    return {**out, "verdict": result.verdict.value, "checks": [c.to_dict() for c in result.checks]}


class PlanAnchorer(Anchorer):
    """The anchoring worker of the service: each round it first turns the lookups the API workers noted into
    access-log entries (``ledger.holders.lookups``), so that they are anchored in the same round, and in its first
    round after a month ends it stores the month's plan report. Either, if it cannot be done (no audit writer yet),
    is logged and tried again next round; anchoring goes on."""

    _stored_month: str | None = None

    def run_once(self, force: bool = False) -> list[AnchoredBatch]:
        try:
            record_noted_lookups(self.lib, limit=NOTES_PER_ROUND)
        except CertledgerError as exc:
            log.warning("noted lookups not written to the access log", extra={"code": exc.code, "error": exc.message})
        month = previous_month(today_china())
        if self._stored_month != month:
            try:
                anchor_month(self.lib, month)
                self._stored_month = month
            except CertledgerError as exc:
                log.warning("plan report not stored", extra={"month": month, "code": exc.code, "error": exc.message})
        return super().run_once(force)
