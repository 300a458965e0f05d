"""The production processes under load on one PostgreSQL database: ``certledger serve`` (4 API workers), two
``certledger worker`` processes and ``certledger indexer``, with concurrent clients issuing, changing statuses and
verifying for a while; then every promise is checked: no 5xx, no deadlock, no duplicate identifier or serial,
every 2xx issuance present, every status change recorded, every certificate anchored exactly once.

    python -m benchmarks.cluster [--clients 200] [--duration 180] [--api-workers 4] [--anchoring-workers 2]
                                 [--pg-url URL]

Starts its own Hardhat and IPFS nodes and a database of its own on the PostgreSQL server of ``--pg-url``
(dropped at the end: its deadlock counter is then this run's alone), deploys the contract, activates four
departments, a counter and their API keys, issues and anchors two certificates per client for its status changes,
then starts the processes as systemd would (environment only) and drives them. Each client loops without pause:
issue one certificate (35%), suspend or reinstate one of its own anchored certificates (10%), or verify an anchored
certificate by identifier at the counter (55%). Figures (requests/s and latency percentiles by kind, status codes,
the queue's drain time) and the checks go to ``benchmarks/results/cluster.json``; tests/test_cluster.py runs a
shorter version and asserts the checks.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from benchmarks.report import report
from benchmarks.stack import Stack, fresh_stack
from ledger.app.config import REPO_ROOT
from ledger.app.onboarding import (
    activate_department,
    create_api_key,
    create_organization,
)
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.uscc import derive_uscc
from ledger.devstack.api_process import library_environment
from ledger.devstack.launchers import free_port, stop
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import issue_many
from ledger.storage.engine import make_engine
from ledger.storage.models import CertificateType

CLI = str(Path(sys.executable).parent / "certledger")
MIX = (("issue", 0.35), ("status", 0.10), ("verify", 0.55))
DEPARTMENTS = 4
OWN_CERTIFICATES = 2


def _value(spec: dict[str, Any], n: int) -> Any:
    return {"string": lambda: f"压力测试{spec['key']}{n}", "date": lambda: "2021-06-01", "integer": lambda: 7,
            "decimal": lambda: "250.00", "enum": lambda: spec["values"][0]}[spec["type"]]()


def request_for(ctype: CertificateType) -> dict[str, Any]:
    """A valid request for a legal-entity type, with a number and holder no other request uses."""
    n = uuid.uuid4().hex[:12].upper()
    return {"type_code": ctype.code, "number": f"L{n}", "issue_date": "2025-02-03", "holder": f"压力测试企业{n}有限公司",
            "holder_id": derive_uscc(f"cluster:{n}", division=CITY_DIVISION, prefix="91"), "holder_id_type": "001",
            "document": "none", "fields": {f["key"]: _value(f, 0) for f in ctype.fields if f["required"]}}


@dataclass
class Department:
    org_id: int
    address: str
    ctype: CertificateType
    key: str


@dataclass
class Platform:
    departments: list[Department]
    counter_key: str
    owned: list[tuple[int, str]]  # (department index, identifier): anchored certificates for status changes


def prepare(stack: Stack, clients: int) -> Platform:
    """Four activated departments with a legal-entity type each, a counter, keys, and certificates to change."""
    lib = stack.lib
    with lib.sessions() as session:
        types = session.scalars(select(CertificateType).where(CertificateType.holder_kind == "legal_entity")
                                .order_by(CertificateType.code)).all()
    chosen: dict[int, CertificateType] = {}
    for ctype in types:
        chosen.setdefault(ctype.department_id, ctype)
    departments = []
    for org_id, ctype in list(chosen.items())[:DEPARTMENTS]:
        org = activate_department(lib, org_id)
        departments.append(Department(org.id, org.chain_address, ctype, create_api_key(lib, org.id, ["department"])))
    counter = create_organization(lib, kind="counter", name="压力测试窗口",
                                  uscc=derive_uscc(uuid.uuid4().hex, division=CITY_DIVISION))
    owned = []
    for index, dept in enumerate(departments):
        org = lib.organization(dept.org_id)
        count = clients * OWN_CERTIFICATES // DEPARTMENTS + OWN_CERTIFICATES
        owned += [(index, c.identifier) for c in issue_many(lib, org, [request_for(dept.ctype) for _ in range(count)])]
    Anchorer(lib).run_once(force=True)
    return Platform(departments, create_api_key(lib, counter.id, ["counter"]), owned)


@dataclass
class Cluster:
    url: str
    procs: dict[str, subprocess.Popen[bytes]]
    logs: dict[str, Path]


@contextmanager
def processes(stack: Stack, api_workers: int, anchoring_workers: int) -> Iterator[Cluster]:
    """serve, the anchoring workers and the indexer, each configured by the environment alone."""
    port = free_port()
    env = {**os.environ, **library_environment(stack.lib), "PYTHONPATH": str(REPO_ROOT),
           "CERTLEDGER_WORKERS": str(api_workers), "CERTLEDGER_BATCH_MAX_AGE_S": "2",
           "CERTLEDGER_LOG_RANGE": "1000", "PROMETHEUS_MULTIPROC_DIR": str(stack.work / "metrics")}
    commands = {"serve": ["serve", "--port", str(port)], "indexer": ["indexer"]}
    commands |= {f"worker-{i}": ["worker"] for i in range(anchoring_workers)}
    logs = {name: stack.work / f"{name}.log" for name in commands}
    procs = {}
    for name, args in commands.items():
        with logs[name].open("ab") as out:
            procs[name] = subprocess.Popen([CLI, *args], env=env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT)
    cluster = Cluster(f"http://127.0.0.1:{port}", procs, logs)
    try:
        _wait_ready(cluster)
        yield cluster
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                stop(proc)


def _wait_ready(cluster: Cluster, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [name for name, p in cluster.procs.items() if p.poll() is not None]
        if dead:
            raise RuntimeError(f"{dead} exited: see {[str(cluster.logs[n]) for n in dead]}")
        try:
            if httpx.get(f"{cluster.url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"serve not ready within {timeout:.0f}s: see {cluster.logs['serve']}")


@dataclass
class Load:
    samples: list[tuple[str, int, float]] = field(default_factory=list)  # (kind, status, seconds)
    issued: list[str] = field(default_factory=list)
    expected: dict[str, str] = field(default_factory=dict)  # identifier -> status after its last 2xx change
    changes: int = 0
    seconds: float = 0.0
    client_errors: Counter[str] = field(default_factory=Counter)


async def _client(http: httpx.AsyncClient, platform: Platform, mine: list[tuple[int, str]], end: float,
                  rng: random.Random, load: Load) -> None:
    kinds, weights = zip(*MIX, strict=True)
    anchored = [ident for _, ident in platform.owned]
    while time.monotonic() < end:
        kind = rng.choices(kinds, weights)[0]
        index, ident = rng.choice(mine)
        dept = platform.departments[index]
        if kind == "issue":
            call = http.post("/departments/certificates", headers={"X-API-Key": dept.key}, json=request_for(dept.ctype))
        elif kind == "status":
            action = "reinstate" if load.expected.get(ident) == "02" else "suspend"
            call = http.post(f"/departments/certificates/{ident}/status", headers={"X-API-Key": dept.key},
                             json={"action": action, "reason": "压力测试"})
        else:
            call = http.post("/counters/verify/identifier", headers={"X-API-Key": platform.counter_key},
                             json={"identifier": rng.choice(anchored)})
        started = time.perf_counter()
        try:
            r = await call
            status = r.status_code
        except httpx.HTTPError as exc:
            status = 0  # no answer at all: counted with the server errors, named in the figures
            load.client_errors[type(exc).__name__] += 1
        load.samples.append((kind, status, time.perf_counter() - started))
        if kind == "issue" and status == 201:
            load.issued.append(r.json()["identifier"])
        elif kind == "status" and status == 200:
            load.expected[ident] = "02" if action == "suspend" else "01"
            load.changes += 1


async def drive(url: str, platform: Platform, clients: int, duration: float, seed: int) -> Load:
    """``clients`` clients, each with its own certificates to change, for ``duration`` seconds."""
    load = Load()
    rng = random.Random(seed)
    owned = list(platform.owned)
    rng.shuffle(owned)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        started = time.monotonic()
        end = started + duration
        await asyncio.gather(*(_client(http, platform, owned[i::clients] or owned[:1], end,
                                       random.Random(seed + i), load) for i in range(clients)))
        load.seconds = time.monotonic() - started
    return load


def wait_drained(stack: Stack, timeout: float) -> float:
    """Seconds until no leaf is queued and no batch pending (``timeout`` if never)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with stack.engine.connect() as conn:
            left = conn.execute(text("SELECT (SELECT count(*) FROM anchor_outbox) + "
                                     "(SELECT count(*) FROM batches WHERE status = 'pending')")).scalar_one()
        if left == 0:
            return time.monotonic() - started
        time.sleep(0.5)
    return timeout


def _deadlocks(stack: Stack) -> int:
    with stack.engine.connect() as conn:
        return conn.execute(text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
                            ).scalar_one()


def _anchored_once(stack: Stack, dept: Department) -> int:
    """How far the department's certificates are from 'each in one anchored batch, each batch anchored once on
    chain, nothing else anchored': 0 when all hold."""
    with stack.engine.connect() as conn:
        certs, unproven = conn.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE a.batch_id IS NULL OR b.status <> 'anchored') FROM certificates c "
            "LEFT JOIN certificate_anchors a ON a.certificate_id = c.id LEFT JOIN batches b ON b.id = a.batch_id "
            "WHERE c.issuer_org_id = :org"), {"org": dept.org_id}).one()
        batches = conn.execute(text("SELECT root, leaf_count, status FROM batches WHERE org_id = :org"),
                               {"org": dept.org_id}).all()
    events = stack.lib.contract.contract.events.Anchored.get_logs(argument_filters={"issuer": dept.address},
                                                                   from_block=0)
    chain_roots = Counter(bytes(e["args"]["root"]) for e in events)
    off = unproven + abs(certs - sum(b.leaf_count for b in batches)) + sum(b.status != "anchored" for b in batches)
    off += abs(certs - sum(e["args"]["leafCount"] for e in events)) + sum(n - 1 for n in chain_roots.values())
    return off + len(set(chain_roots) ^ {bytes(b.root) for b in batches})


def check(stack: Stack, platform: Platform, load: Load, deadlocks_before: int) -> dict[str, int]:
    """The run's promises, each a count that must be 0."""
    statuses = Counter(status for _, status, _ in load.samples)
    idents = load.issued + [ident for _, ident in platform.owned]
    serials = [tuple(i.split(".")[5:8]) for i in idents]  # type code, issuer code, serial
    with stack.engine.connect() as conn:
        present = {row[0] for row in conn.execute(text("SELECT identifier FROM certificates"))}
        shown = dict(conn.execute(text("SELECT identifier, status FROM certificates WHERE identifier = ANY(:i)"),
                                  {"i": list(load.expected)}).all())
        recorded = conn.execute(text(
            "SELECT count(*) FROM certificate_events e JOIN certificates c ON c.id = e.certificate_id "
            "WHERE e.action IN ('suspend', 'reinstate') AND c.identifier = ANY(:i)"),
            {"i": [ident for _, ident in platform.owned]}).scalar_one()
    return {
        "check_server_errors": sum(n for status, n in statuses.items() if status >= 500 or status == 0),
        "check_duplicate_identifiers": len(idents) - len(set(idents)),
        "check_duplicate_serials": len(serials) - len(set(serials)),
        "check_missing_after_2xx": len(set(load.issued) - present),
        "check_wrong_status": sum(shown.get(i) != s for i, s in load.expected.items()),
        "check_unrecorded_status_changes": abs(load.changes - recorded),
        "check_not_anchored_exactly_once": sum(_anchored_once(stack, d) for d in platform.departments),
        "check_deadlocks": _deadlocks(stack) - deadlocks_before,
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def figures(load: Load) -> dict[str, float | int]:
    """Requests/s, p50 and p99 latency and non-2xx answers by kind, and every status code's count."""
    out: dict[str, float | int] = {"requests": len(load.samples),
                                   "requests_per_s": round(len(load.samples) / load.seconds, 1)}
    for kind, _ in MIX:
        times = [s for k, _, s in load.samples if k == kind]
        out[f"{kind}_requests"] = len(times)
        out[f"{kind}_per_s"] = round(len(times) / load.seconds, 1)
        out[f"{kind}_p50_ms"] = round(_percentile(times, 0.50) * 1000, 1)
        out[f"{kind}_p99_ms"] = round(_percentile(times, 0.99) * 1000, 1)
        out[f"{kind}_non_2xx"] = sum(1 for k, status, _ in load.samples if k == kind and not 200 <= status < 300)
    for status, n in sorted(Counter(status for _, status, _ in load.samples).items()):
        out[f"status_{status}"] = n
    for name, n in sorted(load.client_errors.items()):
        out[f"no_answer_{name}"] = n
    return out


@contextmanager
def own_database(pg_url: str) -> Iterator[str]:
    """A database of its own on the server of ``pg_url`` (its deadlock counter is this run's), dropped after."""
    name = f"certledger_cluster_{uuid.uuid4().hex[:8]}"
    admin = make_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(pg_url: str, *, clients: int, duration: float, api_workers: int = 4, anchoring_workers: int = 2,
        seed: int = 15) -> dict[str, Any]:
    """The whole run (see the module): figures and checks in one flat dict."""
    with own_database(pg_url) as url, fresh_stack(url, prefix="certledger-cluster-") as stack:
        platform = prepare(stack, clients)
        with processes(stack, api_workers, anchoring_workers) as cluster:
            before = _deadlocks(stack)
            load = asyncio.run(drive(cluster.url, platform, clients, duration, seed))
            drain = wait_drained(stack, timeout=300)
            time.sleep(1.5)  # PostgreSQL publishes its statistics within a second
            checks = check(stack, platform, load, before)
        exits = {name: proc.returncode for name, proc in cluster.procs.items()}
    return {"clients": clients, "duration_s": round(load.seconds, 1), "api_workers": api_workers,
            "anchoring_workers": anchoring_workers, **figures(load), "drain_after_load_s": round(drain, 1),
            "certificates_issued_2xx": len(load.issued), "status_changes_2xx": load.changes, **checks,
            "check_unclean_exits": sum(code != 0 for code in exits.values())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=180.0, help="seconds of load")
    parser.add_argument("--api-workers", type=int, default=4)
    parser.add_argument("--anchoring-workers", type=int, default=2)
    parser.add_argument("--pg-url", default=os.environ.get("CERTLEDGER_TEST_PG_URL",
                                                           "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--note", default="", help="recorded with the figures (e.g. the machine was shared)")
    args = parser.parse_args(argv)
    result = run(args.pg_url, clients=args.clients, duration=args.duration, api_workers=args.api_workers,
                 anchoring_workers=args.anchoring_workers)
    if args.note:
        result["note"] = args.note
    report("cluster", result, {k: "0" for k in result if k.startswith("check_")})
    failed = {k: v for k, v in result.items() if k.startswith("check_") and v}
    if failed:
        sys.exit(f"checks failed: {failed}")


if __name__ == "__main__":
    main()
