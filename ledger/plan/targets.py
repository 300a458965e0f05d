"""The city plan's targets, each as a figure against its target with what is missing (``GET /admin/plan-targets``,
``certledger plan-targets``, the administrator's page).

The targets (the city's work plan): 150 kinds of certificate collected and over 5,000,000 records; every certificate
type linked to the material list of at least one service item; every service item accepting at least one
e-certificate; every counter connected (a verification or an intake in the last 30 days); every association
reporting its summaries. Everything is read from count tables kept in step with the rows they count
(``ledger.storage.tallies``) and from the catalogue's small tables: a report costs the same at 5,000,000
certificates as at 5.

A type "holds certificates" when at least one of its certificates is in force (valid 01 or suspended 02): a type
whose certificates were all revoked, cancelled or withdrawn is listed as missing, with its count.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.app.library import Library
from ledger.core.statuses import today_china
from ledger.storage.models import CertificateType, Organization, ServiceItem, ServiceMaterial
from ledger.storage.plan_tables import (
    CERTIFICATE_DAILY,
    CERTIFICATE_TALLIES,
    COUNTER_VERIFICATIONS,
    REPORT_TALLIES,
)

TYPES_TARGET = 150
RECORDS_TARGET = 5_000_000
ACTIVE_DAYS = 30
IN_FORCE = frozenset({"01", "02"})
SERIES_DAYS = 30
MAX_SERIES_DAYS = 366


@dataclass
class Target:
    """One target: its figure against its target, per department where that applies, and what is missing."""

    key: str
    title: str
    figure: int
    target: int
    departments: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        share = round(self.figure / self.target, 4) if self.target else 1.0
        return {"key": self.key, "title": self.title, "figure": self.figure, "target": self.target,
                "share": share, "meets_target": self.figure >= self.target, "departments": self.departments,
                "missing": self.missing}


class _Orgs:
    """The organisations by id (a few hundred rows): names and departments for every list."""

    def __init__(self, session: Session) -> None:
        o = Organization
        self.rows = {r.id: r for r in session.execute(select(o.id, o.kind, o.uscc, o.name, o.parent_id, o.active))}

    def of_kind(self, kind: str) -> list[Any]:
        return sorted((o for o in self.rows.values() if o.kind == kind and o.active), key=lambda o: o.uscc)

    def ref(self, org_id: int | None) -> dict[str, Any]:
        org = self.rows.get(org_id) if org_id is not None else None
        return {"department_uscc": org.uscc if org else None, "department_name": org.name if org else None}


def _missing(code: str, name: str, department: dict[str, Any], note: str) -> dict[str, Any]:
    return {"code": code, "name": name, **department, "note": note}


def _per_department(orgs: _Orgs, totals: dict[int | None, list[int]]) -> list[dict[str, Any]]:
    """[figure, target] per department id, as rows sorted by the department's code."""
    rows = [{"uscc": orgs.ref(d)["department_uscc"], "name": orgs.ref(d)["department_name"], "figure": f, "target": t}
            for d, (f, t) in totals.items()]
    return sorted(rows, key=lambda r: r["uscc"] or "")


def _type_targets(session: Session, orgs: _Orgs) -> tuple[Target, Target, Target]:
    ct = CertificateType
    types = session.execute(select(ct.id, ct.code, ct.name, ct.department_id).where(ct.active).order_by(ct.code)).all()
    in_force: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    for code, status, count in session.execute(select(CERTIFICATE_TALLIES)):
        total[code] += count
        if status in IN_FORCE:
            in_force[code] += count
    linked = set(session.execute(select(ServiceMaterial.certificate_type_id).distinct()
                                 .where(ServiceMaterial.certificate_type_id.is_not(None))).scalars())
    held = Target("types_with_certificates", "汇聚证照种类 / certificate types holding certificates",
                  sum(in_force[t.code] > 0 for t in types), TYPES_TARGET)
    linking = Target("types_linked_to_materials", "证照类目关联办事材料 / types linked to a service item's materials",
                     sum(t.id in linked for t in types), len(types))
    per_held: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    per_link: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    for t in types:
        dept = orgs.ref(t.department_id)
        per_held[t.department_id][0] += in_force[t.code] > 0
        per_held[t.department_id][1] += 1
        per_link[t.department_id][0] += t.id in linked
        per_link[t.department_id][1] += 1
        if not in_force[t.code]:
            note = (f"{total[t.code]} 份均已失效 / all {total[t.code]} no longer in force" if total[t.code]
                    else "尚无证照 / no certificate yet")
            held.missing.append(_missing(t.code, t.name, dept, note))
        if t.id not in linked:
            linking.missing.append(_missing(t.code, t.name, dept, "未关联任何办事材料 / in no service item's materials"))
    held.departments, linking.departments = _per_department(orgs, per_held), _per_department(orgs, per_link)
    records = Target("records", "证照数据总量 / certificate records", sum(total.values()), RECORDS_TARGET)
    by_org = session.execute(select(CERTIFICATE_DAILY.c.org_id, func.sum(CERTIFICATE_DAILY.c.count))
                             .group_by(CERTIFICATE_DAILY.c.org_id)).all()
    records.departments = _per_department(orgs, {org_id: [int(n), 0] for org_id, n in by_org})
    return held, records, linking


def _item_target(session: Session, orgs: _Orgs) -> Target:
    si = ServiceItem
    items = session.execute(select(si.id, si.code, si.name, si.department_id).order_by(si.code)).all()
    accepting = set(session.execute(select(ServiceMaterial.service_item_id).distinct()
                                    .where(ServiceMaterial.certificate_type_id.is_not(None))).scalars())
    target = Target("service_items_accepting", "应用覆盖政务服务事项 / service items accepting an e-certificate",
                    sum(i.id in accepting for i in items), len(items))
    per: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    for item in items:
        per[item.department_id][0] += item.id in accepting
        per[item.department_id][1] += 1
        if item.id not in accepting:
            target.missing.append(_missing(item.code, item.name, orgs.ref(item.department_id),
                                           "没有材料关联电子证照 / no material is an e-certificate"))
    target.departments = _per_department(orgs, per)
    return target


def _counter_target(session: Session, orgs: _Orgs, today: dt.date) -> Target:
    v = COUNTER_VERIFICATIONS.c
    since = today - dt.timedelta(days=ACTIVE_DAYS - 1)
    counters = orgs.of_kind("counter")
    active_ids = set(session.execute(select(v.org_id).distinct().where(v.day >= since)).scalars())  # by the day index
    idle = [c.id for c in counters if c.id not in active_ids]
    last: dict[int, dt.date] = {}
    for start in range(0, len(idle), 1000):  # the last day of those not active: by the primary key
        last.update(session.execute(select(v.org_id, func.max(v.day)).where(v.org_id.in_(idle[start:start + 1000]))
                                    .group_by(v.org_id)).all())
    target = Target("counters_connected", f"办事窗口接入（近{ACTIVE_DAYS}天有核验） / counters verifying in the last "
                    f"{ACTIVE_DAYS} days", 0, len(counters))
    per: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    for counter in counters:
        seen, active = last.get(counter.id), counter.id in active_ids
        target.figure += active
        per[counter.parent_id][0] += active
        per[counter.parent_id][1] += 1
        if not active:
            note = f"最近核验 {seen.isoformat()} / last verified {seen.isoformat()}" if seen else \
                "从未核验 / never verified"
            target.missing.append(_missing(counter.uscc, counter.name, orgs.ref(counter.parent_id), note))
    target.departments = _per_department(orgs, per)
    return target


def _association_target(session: Session, orgs: _Orgs) -> Target:
    reported = dict(session.execute(select(REPORT_TALLIES.c.org_id, REPORT_TALLIES.c.count)).all())
    associations = orgs.of_kind("association")
    target = Target("associations_reporting", "协会、评价机构报告上链 / associations submitting report summaries",
                    sum(reported.get(a.id, 0) > 0 for a in associations), len(associations))
    for a in associations:
        if not reported.get(a.id):
            target.missing.append(_missing(a.uscc, a.name, orgs.ref(None), "尚未提交报告 / no report submitted"))
    return target


def daily_series(session: Session, orgs: _Orgs, today: dt.date, days: int) -> dict[str, Any]:
    """Certificates collected per day (China time) and per issuing department, the last ``days`` days."""
    start = today - dt.timedelta(days=days - 1)
    dates = [start + dt.timedelta(days=n) for n in range(days)]
    d = CERTIFICATE_DAILY.c
    counts: dict[int, list[int]] = defaultdict(lambda: [0] * days)
    for day, org_id, count in session.execute(select(d.day, d.org_id, d.count).where(d.day >= start, d.day <= today)):
        counts[org_id][(day - start).days] += count
    departments = [{"uscc": orgs.ref(o)["department_uscc"], "name": orgs.ref(o)["department_name"], "counts": c}
                   for o, c in counts.items()]
    return {"days": [x.isoformat() for x in dates], "departments": sorted(departments, key=lambda r: r["uscc"] or "")}


def plan_targets(lib: Library, *, days: int = SERIES_DAYS, now: dt.datetime | None = None) -> dict[str, Any]:
    """Every target's figure, target, share, departments and missing list, and the daily series for the chart."""
    now = now or dt.datetime.now(dt.UTC)
    today = today_china(now)
    days = max(1, min(days, MAX_SERIES_DAYS))
    with lib.sessions() as session:
        orgs = _Orgs(session)
        held, records, linking = _type_targets(session, orgs)
        targets = [held, records, linking, _item_target(session, orgs), _counter_target(session, orgs, today),
                   _association_target(session, orgs)]
        series = daily_series(session, orgs, today, days)
    return {"as_of": now.isoformat(timespec="seconds"), "today": today.isoformat(),
            "targets": [t.to_dict() for t in targets], "series": series}
