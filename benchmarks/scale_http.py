"""The HTTP figures of ``benchmarks.scale`` at its size: 2 API workers (``api.serve``, environment only) on the
benchmark's database, chain and IPFS node, driven by wrk from 50 connections as ``benchmarks.library`` does.

One phase per call, each with fresh workers: their start-up (process start to the first 200 of a verification,
which builds the worker's Library), first verifications of random identifiers no worker has verified before (a
one-second warm-up over others, then the measured run as fast as the workers answer, and before the status changes
a run at about 2,000 a second, ``PACED_RATE``, for the latency at that load), each worker's RSS after serving them,
on PostgreSQL the pages those verifications read from outside its buffers and found in them, per verification;
and, after the status changes, a department's list page (random pages of its certificates, newest first) and a holder's
certificate list, both p50/p99 from 4 connections for 10 s each, after 2 s of warm-up. Then the lookups the workers
noted are written into the access log as the anchoring worker writes them, timed (``lookups_recorded_per_s``: no anchoring worker runs
during the HTTP runs, so that work is measured here, apart).
"""

from __future__ import annotations

import random
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text

from benchmarks.library import WRK_SCRIPT, wrk
from ledger.app.onboarding import create_api_key, create_organization
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.uscc import derive_uscc
from ledger.devstack.api_process import library_environment, start_api
from ledger.devstack.launchers import free_port, stop
from ledger.holders.lookups import record_noted_lookups
from ledger.holders.tokens import issue_token
from ledger.issue.import_samples import citizen_id
from ledger.storage.models import CERTIFICATES, CertificateType, Organization

WORKERS = 2
CLIENTS = 50
WARMUP_S = 1
RUN_S = 10  # long enough for the steady rate, not the first seconds of fresh workers (warm-up aside)
LIST_S = 10  # a p99 of a few hundred pages a run is one slow page: a thousand or more
LIST_CLIENTS = 4  # a few staff or holders paging at once: latency, not a queue of 50
# Each list's first seconds on fresh workers are run and reported apart (``*_warmup_p99_ms``): a worker's first pages
# open its database connections, plan the route's statement and read cold pages (80-105 ms each at 1 M), and wrk
# counts with each slow request the ones its connection would have sent meanwhile (coordinated omission), so a slow
# start of a second outweighed the run's slowest 1% (a department's list page p99 1,180 ms at p50 7 ms in one 5 M run;
# 16-21 ms in three runs at 1 M).
LIST_WARMUP_S = 2
WARMUP_IDS, RUN_IDS = 4_000, 60_000  # enough for 6,000 first verifications a second without repeats
# Latency at a given load rather than at saturation: wrk's 50 connections each wait a random time (exponential, so
# arrivals are about Poisson) before their next request, for about PACED_RATE requests a second in all. The
# saturating run's latency is its connections over its rate (Little's law: 50 / 2,000 a second is 25 ms whatever
# the service); this one says how long a verification takes while the service carries that load.
PACED_RATE = 2_000
PACED_REQUEST_MS = 5
PACED_S = 10
PACED_IDS = 24_000
PACED_DELAY = """
local mean_ms = %(mean_ms).2f
delay = function()
  return -math.log(1 - math.random()) * mean_ms
end
"""
LIST_SAMPLES = 2_000
LIST_TARGETS = {"department_list_p99_ms": "<= 50"}

# GET requests cycling through paths, each with its own value of one header (a key, a holder's token)
GET_SCRIPT = """
local paths = {%(paths)s}
local values = {%(values)s}
local threads = 0
setup = function(thread)
  thread:set("offset", threads)
  threads = threads + 1
end
local n = -1
request = function()
  n = n + 1
  local i = ((offset + n * 2) %% #paths) + 1
  return wrk.format("GET", paths[i], {["%(header)s"] = values[i]})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
                         latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def _lua_list(items: list[str]) -> str:
    return ", ".join(f'"{i}"' for i in items)


def _identifiers(stack: Any, k: int, used: set[int]) -> list[str]:
    """``k`` random certificates' identifiers, none of ``used`` (which they join)."""
    with stack.engine.connect() as conn:
        top = int(conn.execute(select(func.max(CERTIFICATES.c.id))).scalar_one())
        free = top - len(used)
        ids: set[int] = set()
        while len(ids) < min(k, free):
            pick = random.randint(1, top)
            if pick not in used:
                ids.add(pick)
        used |= ids
        ordered, out = sorted(ids), []
        for i in range(0, len(ordered), 5_000):
            out += conn.execute(select(CERTIFICATES.c.identifier).where(
                CERTIFICATES.c.id.in_(ordered[i:i + 5_000]))).scalars().all()
    random.shuffle(out)
    return out


def worker_rss_mb(server: subprocess.Popen[bytes]) -> list[float]:
    """Resident memory of each uvicorn worker of ``server`` (its children forked by ``api.serve``)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if ppid != server.pid or b"api.serve" not in (stat.parent / "cmdline").read_bytes():
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, ValueError, IndexError):
            continue
        out.append(int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) / 1024)
    return out


def _verify_runs(stack: Any, url: str, key: str, pools: tuple[list[str], ...]) -> dict[str, Any]:
    """The warm-up over one pool of identifiers, then the measured first verifications over the second, as fast as
    the service answers; with a third pool, then paced, aimed at PACED_RATE a second."""
    home = stack.lib.settings.home
    got: dict[str, Any] = {}
    # each connection's cycle is its wait plus the request's own time (a few ms at this load, at 5 M): both make up
    # the 25 ms of 50 connections at 2,000 a second; the rate reached is reported (``paced_per_s``)
    paced = PACED_DELAY % {"mean_ms": CLIENTS * 1000 / PACED_RATE - PACED_REQUEST_MS}
    runs = [("warmup", pools[0], WARMUP_S, ""), ("run", pools[1], RUN_S, "")]
    if len(pools) > 2:
        runs.append(("paced", pools[2], PACED_S, paced))
    for name, ids, seconds, extra in runs:
        script = home / f"scale-verify-{name}.lua"
        script.write_text(WRK_SCRIPT % {"ids": _lua_list(ids), "key": key, "threads": 2} + extra, encoding="utf-8")
        got[name] = wrk(url, script, CLIENTS, seconds)
    run = got["run"]
    figures = {"per_s": round(run["per_s"]), "p50_ms": round(run["p50_ms"], 2), "p99_ms": round(run["p99_ms"], 2),
               "failures": run["failures"], "requests": run["requests"],
               "repeats": max(0, run["requests"] - len(pools[1])),
               "served": sum(g["requests"] for g in got.values())}
    if "paced" in got:
        p = got["paced"]
        figures |= {"paced_per_s": round(p["per_s"]), "paced_p50_ms": round(p["p50_ms"], 2),
                    "paced_p99_ms": round(p["p99_ms"], 2), "paced_failures": p["failures"],
                    "paced_repeats": max(0, p["requests"] - len(pools[2]))}
    return figures


def _get_run(stack: Any, url: str, name: str, paths: list[str], header: str, values: list[str]) -> dict[str, Any]:
    """A warm-up of ``LIST_WARMUP_S`` (its p99 reported too), then the measured run, both over all of ``paths``."""
    script = stack.lib.settings.home / f"scale-{name}.lua"
    script.write_text(GET_SCRIPT % {"paths": _lua_list(paths), "values": _lua_list(values), "header": header},
                      encoding="utf-8")
    warm = wrk(url, script, LIST_CLIENTS, LIST_WARMUP_S)
    got = wrk(url, script, LIST_CLIENTS, LIST_S)
    return {f"{name}_per_s": round(got["per_s"]), f"{name}_p50_ms": round(got["p50_ms"], 2),
            f"{name}_p99_ms": round(got["p99_ms"], 2), f"{name}_failures": got["failures"] + warm["failures"],
            f"{name}_warmup_p99_ms": round(warm["p99_ms"], 2)}


def _department_list(stack: Any, url: str, orgs: list[Organization]) -> dict[str, Any]:
    """Pages of 100 of the largest department's list, newest first from random places (the first page too)."""
    c = CERTIFICATES.c
    with stack.engine.connect() as conn:
        org_id, count, low, high = conn.execute(
            select(c.issuer_org_id, func.count(), func.min(c.id), func.max(c.id)).group_by(c.issuer_org_id)
            .order_by(func.count().desc()).limit(1)).one()
    org = next(o for o in orgs if o.id == org_id)
    key = create_api_key(stack.lib, org.id, ["department"])
    paths = ["/departments/certificates?limit=100"] + [
        f"/departments/certificates?limit=100&after={random.randint(low, high + 1)}" for _ in range(LIST_SAMPLES)]
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as http:
        answer = http.get(paths[1])
        assert answer.status_code == 200, answer.text
    return {"department_list_certificates": count,
            **_get_run(stack, url, "department_list", paths, "X-API-Key", [key] * len(paths))}


def _holder_list(stack: Any, url: str, types: list[tuple[CertificateType, Organization]], per_type: int) -> dict[str, Any]:
    """Random holders' certificate lists (each holder of the samples holds one certificate of every type of its kind)."""
    natural = any(t.holder_kind != "legal_entity" for t, _ in types)
    holders = random.sample(range(max(per_type, 1)), min(LIST_SAMPLES, max(per_type, 1)))
    tokens = [issue_token(stack.lib, "111", citizen_id(n)).token if natural else
              issue_token(stack.lib, "001", derive_uscc(f"sample:{n}", division=CITY_DIVISION)).token for n in holders]
    values = [f"Bearer {t}" for t in tokens]
    with httpx.Client(base_url=url, headers={"Authorization": values[0]}, timeout=30) as http:
        answer = http.get("/holders/me/certificates")
        assert answer.status_code == 200, answer.text
    paths = ["/holders/me/certificates"] * len(values)
    return {"holder_list_certificates": len(answer.json()["items"]),
            **_get_run(stack, url, "holder_list", paths, "Authorization", values)}


def http_phase(stack: Any, orgs: list[Organization], per_type: int, types: list[tuple[CertificateType, Organization]],
               used: set[int], *, after_changes: bool) -> dict[str, Any]:
    """Fresh API workers: start-up, first verifications, their RSS; after the changes the list pages too."""
    suffix = "_after_changes" if after_changes else ""
    with stack.engine.connect() as conn:
        stored = int(conn.execute(select(func.count()).select_from(CERTIFICATES)).scalar_one())
    pools = (_identifiers(stack, min(WARMUP_IDS, stored // 8), used),
             _identifiers(stack, min(RUN_IDS, stored // 4), used))
    if not after_changes:  # the paced run once: latency at the target rate
        pools += (_identifiers(stack, min(PACED_IDS, stored // 8), used),)
    counter = create_organization(stack.lib, kind="counter", name=f"规模测试窗口{suffix}",
                                  uscc=derive_uscc(f"scale-counter:{uuid.uuid4()}", division=CITY_DIVISION, prefix="12"))
    key = create_api_key(stack.lib, counter.id, ["counter"])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    server = start_api(port, library_environment(stack.lib), stack.lib.settings.home / f"api{suffix}.log",
                       workers=WORKERS)
    try:
        healthz_s = time.perf_counter() - start
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as http:
            answer = http.post("/counters/verify/identifier", json={"identifier": pools[0][0]})
            assert answer.status_code == 200, answer.text
        figures: dict[str, Any] = {f"api_healthz_s{suffix}": round(healthz_s, 2),
                                   f"api_start_s{suffix}": round(time.perf_counter() - start, 2)}
        blocks = _pg_blocks(stack)
        verify = _verify_runs(stack, url, key, pools)
        if blocks is not None:
            time.sleep(1.5)  # an idle backend reports its counts within a second
            after = _pg_blocks(stack)
            figures |= {f"http_verify_first{suffix}_pg_{kind}_per_verification": round((n - b) / verify["served"], 2)
                        for kind, n, b in zip(("blocks_read", "blocks_hit"), after, blocks, strict=True)}
        rss = worker_rss_mb(server)
        figures |= {f"api_verifications_served{suffix}": verify.pop("served"),
                    f"api_worker_rss_mb{suffix}": round(max(rss), 1), f"api_workers_seen{suffix}": len(rss)}
        figures |= {f"http_verify_first{suffix}_{k}": v for k, v in verify.items()}
        if after_changes:
            figures |= _department_list(stack, url, orgs)
            figures |= _holder_list(stack, url, types, per_type)
    finally:
        stop(server)
    return figures | _lookups_recorded(stack, suffix)


def _pg_blocks(stack: Any) -> tuple[int, int] | None:
    """The database's pages read from outside PostgreSQL's buffers (from the OS's page cache or the disk) and found
    in them, so far. At 5 M a first verification's reads from the disk, not its CPU, made the latency's tail on a
    machine whose memory does not hold the database (docs/import.md)."""
    if stack.engine.dialect.name != "postgresql":
        return None
    with stack.engine.connect() as conn:
        read, hit = conn.execute(text("SELECT blks_read, blks_hit FROM pg_stat_database "
                                      "WHERE datname = current_database()")).one()
    return int(read), int(hit)


def _lookups_recorded(stack: Any, suffix: str) -> dict[str, Any]:
    """The anchoring worker's share of the phase's lookups, which the API workers only noted: the notes turned into
    access-log entries (``ledger.holders.lookups.record_noted_lookups``), timed here, no other load running."""
    start = time.perf_counter()
    written = record_noted_lookups(stack.lib)
    seconds = time.perf_counter() - start
    return {f"lookups_recorded{suffix}": written, f"lookups_recorded{suffix}_per_s": round(written / seconds)}
