"""Lifecycle figures on a fresh local stack: a department revokes 10,000 certificates; counter intake
latency (p50, p99); access-log entries anchored per second.

    python -m benchmarks.lifecycle [--revoke 10000] [--intakes 500] [--access-log 10000] [--pg-url URL]

Starts its own Hardhat node and IPFS node on free loopback ports and a fresh SQLite database (or a
fresh schema in PostgreSQL with --pg-url), deploys the contract, imports the catalogue and activates
the market regulation department. Each ``bench_*`` function takes the :class:`Stack` and returns a
flat dict of figures; ``main`` runs them in turn and writes benchmarks/results/lifecycle.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import statistics
import time
import uuid
from typing import Any

from sqlalchemy import func, select

from benchmarks.library import requests_for
from benchmarks.report import report
from benchmarks.stack import Stack, fresh_stack
from ledger.app.onboarding import (
    activate_department,
    create_organization,
    ensure_platform,
)
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.uscc import derive_uscc
from ledger.holders import accesslog, intake, usecodes
from ledger.holders import tokens as holders
from ledger.issue import status_changes
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import issue_many
from ledger.storage.models import (
    AccessLogEntry,
    Certificate,
    CertificateType,
    Organization,
    ServiceItem,
    ServiceMaterial,
    UseCode,
)


def bench_mass_revoke(stack: Stack, n: int = 10_000) -> dict[str, Any]:
    """Issue and anchor ``n`` certificates (untimed), then revoke them all in one call (timed)."""
    lib, market = stack.lib, stack.market
    identifiers: list[str] = []
    for start in range(0, n, 5_000):
        issued = issue_many(lib, market, requests_for(stack.licence, min(5_000, n - start), "none"))
        identifiers += [i.identifier for i in issued]
    Anchorer(lib, max_leaves=100_000).run_once(force=True)
    budget = status_changes.gas_budget(lib)
    began = time.perf_counter()
    result = status_changes.change_status(lib, market, identifiers, "revoke", "benchmark: mass revocation",
                                     actor="benchmark")
    seconds = time.perf_counter() - began
    with lib.sessions() as session:
        recorded = session.scalar(select(func.count()).select_from(Certificate)
                                  .where(Certificate.identifier.in_(identifiers[:1000]), Certificate.status == "03"))
    if result.changed != n or recorded != min(n, 1000):
        raise RuntimeError(f"revoked {result.changed} of {n} ({recorded} of the first 1000 recorded)")
    gas = [t.gas_used for t in result.transactions]
    return {
        "revoke_certificates": n,
        "revoke_transactions": len(result.transactions),
        "revoke_max_leaves_per_transaction": max(t.certificates for t in result.transactions),
        "revoke_total_gas": sum(gas),
        "revoke_max_tx_gas": max(gas),
        "revoke_tx_gas_budget": budget,
        "revoke_gas_per_certificate": round(sum(gas) / n),
        "revoke_seconds": round(seconds, 3),
        "revoke_certificates_per_s": round(n / seconds, 1),
    }


def _intake_world(stack: Stack) -> tuple[Organization, str, str]:
    """The platform's audit writer, a counter, a holder with an anchored business licence, and a service item
    asking for a business licence (provided), a food business licence (missing) and a form (not linked)."""
    lib = stack.lib
    platform = ensure_platform(lib, "市电子证照库平台", derive_uscc("platform:bench", division=CITY_DIVISION, prefix="12"))
    activate_department(lib, platform.id)
    counter = create_organization(lib, kind="counter", name="基准测试窗口",
                                  uscc=derive_uscc(f"counter:{uuid.uuid4()}", division=CITY_DIVISION))
    holder_id = derive_uscc(f"bench:holder:{uuid.uuid4()}", division=CITY_DIVISION, prefix="91")
    issue_many(lib, stack.market, [{**requests_for(stack.licence, 1, "none")[0], "holder_id": holder_id}])
    Anchorer(lib).run_once(force=True)
    code = f"BENCH{uuid.uuid4().hex[:10].upper()}"
    with lib.sessions() as session, session.begin():
        food = session.execute(select(CertificateType).where(CertificateType.name == "食品经营许可证")).scalar_one()
        item = ServiceItem(code=code, name="食品经营许可（基准）", department_id=stack.market.id, holder_kind="legal_entity")
        session.add(item)
        session.flush()
        for position, (name, type_id) in enumerate([("营业执照", stack.licence.id), ("食品经营许可证", food.id),
                                                    ("申请书", None)]):
            session.add(ServiceMaterial(service_item_id=item.id, position=position, name=name,
                                        certificate_type_id=type_id, required=True))
    return counter, holder_id, code


def bench_intake(stack: Stack, n: int = 500) -> dict[str, Any]:
    """``n`` intakes, in process (``ledger.holders.intake.open_intake``, no HTTP), each with a fresh use code made
    untimed just before: latency of verifying the holder's certificate, spending the code and logging the use.
    A few untimed intakes first warm the caches (seal registry, verifier) as a running API worker has them."""
    lib = stack.lib
    counter, holder_id, item = _intake_world(stack)
    key = holders.holder_key_of(lib, "001", holder_id)
    seconds = []
    for i in range(-3, n):
        code = usecodes.issue(lib, key).code
        began = time.perf_counter()
        out = intake.open_intake(lib, counter, service_item_code=item, id_type="001", id_number=holder_id,
                                 use_code=code, case_number=f"BENCH-{i}", staff_id="bench")
        if i >= 0:
            seconds.append(time.perf_counter() - began)
        if out["materials"][0]["verification"]["verdict"] != "VALID":
            raise RuntimeError(f"intake {i}: the holder's licence did not verify: {out['materials'][0]}")
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {
        "intake_count": n,
        "intake_mode": "in process (ledger.holders.intake.open_intake), 1 certificate verified per intake",
        "intake_p50_ms": round(cuts[49] * 1000, 2),
        "intake_p99_ms": round(cuts[98] * 1000, 2),
        "intake_max_ms": round(max(seconds) * 1000, 2),
    }


def bench_access_log_anchoring(stack: Stack, n: int = 10_000) -> dict[str, Any]:
    """Write ``n`` access-log entries (untimed), then anchor every queued entry with the anchoring worker's
    batch policy (timed): Merkle batches, anchoring transactions under the audit writer, proofs stored."""
    lib = stack.lib
    counter, _holder, item = _intake_world(stack)
    Anchorer(lib).run_once(force=True)  # entries queued before (e.g. by bench_intake) are not counted
    now = dt.datetime.now(dt.UTC)
    key = holders.holder_key_of(lib, "001", derive_uscc("bench:log-holder", division=CITY_DIVISION, prefix="91"))
    for start in range(0, n, 1_000):
        with lib.sessions() as session, session.begin():
            writer = accesslog.audit_writer(session)
            for i in range(start, min(n, start + 1_000)):
                code = UseCode(code_hash=secrets.token_bytes(32), holder_key=key, expires_at=now, used_at=now, created_at=now)
                session.add(code)
                session.flush()
                accesslog.record_use(session, writer=writer, counter=counter, staff_id="bench", service_item_code=item,
                                     case_number=f"LOG-{i}", holder_key=key, certificates=[], use_code_id=code.id, now=now)
    began = time.perf_counter()
    batches = [b for b in Anchorer(lib).run_once(force=True) if b.kind == "access_log"]
    seconds = time.perf_counter() - began
    anchored = sum(b.leaf_count for b in batches)
    with lib.sessions() as session:
        unproved = session.scalar(select(func.count()).select_from(AccessLogEntry).where(AccessLogEntry.proof.is_(None)))
    if anchored != n or unproved:
        raise RuntimeError(f"anchored {anchored} of {n} access-log entries; {unproved} without a proof")
    return {
        "access_log_entries": n,
        "access_log_batches": len(batches),
        "access_log_anchor_seconds": round(seconds, 3),
        "access_log_entries_anchored_per_s": round(n / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--revoke", type=int, default=10_000, help="certificates revoked in one mass call")
    parser.add_argument("--intakes", type=int, default=500, help="intakes timed one by one")
    parser.add_argument("--access-log", type=int, default=10_000, help="access-log entries anchored")
    parser.add_argument("--pg-url", help="PostgreSQL URL (a fresh schema is made and dropped); default SQLite")
    args = parser.parse_args()
    with fresh_stack(args.pg_url, prefix="certledger-bench-lifecycle-") as stack:
        figures: dict[str, Any] = {"database": stack.lib.engine.dialect.name}
        figures.update(bench_mass_revoke(stack, args.revoke))
        figures.update(bench_intake(stack, args.intakes))
        figures.update(bench_access_log_anchoring(stack, args.access_log))
    report("lifecycle", figures, {"revoke_transactions": "<= 10", "revoke_seconds": "<= 60"})


if __name__ == "__main__":
    main()
