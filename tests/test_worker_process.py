"""``certledger worker`` as deployed: two processes at once, killed with -9 at random points while certificates
are issued, lose nothing and anchor nothing twice; SIGTERM stops a worker cleanly. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import random
import signal
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from ledger.issue.issuance import issue_many
from ledger.storage import heartbeats
from ledger.storage.models import (
    AnchorOutbox,
    Batch,
    Certificate,
    WorkerHeartbeat,
    as_utc,
)
from tests.fixtures.cli import start_cli, stop_gently, wait_until
from tests.fixtures.library import LibraryEnv, sample_request
from tests.test_anchoring import (
    _assert_anchored_once,
    _certificates,
    _department_with_type,
    anchored_certificates,
)

KILLS = 7


def _issue_for(env: LibraryEnv, org, ctype, seconds: float, issued: list[int], rng: random.Random) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        issued += [c.id for c in issue_many(env.lib, org, [sample_request(ctype) for _ in range(rng.randint(1, 9))])]
        time.sleep(rng.uniform(0.05, 0.4))


def _anchored(env: LibraryEnv, ids: list[int]) -> bool:
    with env.lib.sessions() as s:
        waiting = s.scalar(select(func.count()).select_from(Certificate)
                           .where(Certificate.id.in_(ids), Certificate.id.not_in(anchored_certificates())))
    return waiting == 0


def _chain_leaf_total(env: LibraryEnv, address: str) -> tuple[int, set[bytes]]:
    """Leaves the department anchored on chain, over every Anchored event of its account, and their roots."""
    events = env.lib.contract.contract.events.Anchored.get_logs(argument_filters={"issuer": address}, from_block=0)
    return sum(e["args"]["leafCount"] for e in events), {bytes(e["args"]["root"]) for e in events}


def test_two_workers_killed_at_random_lose_nothing_and_anchor_nothing_twice(library_env: LibraryEnv,
                                                                            tmp_path: Path) -> None:
    env = library_env
    org, ctype = _department_with_type(env)
    rng = random.Random(15)
    settings = {**env.env, "CERTLEDGER_BATCH_MAX_AGE_S": "0.3", "CERTLEDGER_BATCH_MAX_LEAVES": "7"}
    logs = [tmp_path / f"worker-{i}.log" for i in range(2)]
    workers = [start_cli(["worker", "--interval", "0.2"], settings, log) for log in logs]
    issued: list[int] = []
    issuer = threading.Thread(target=_issue_for, args=(env, org, ctype, 20.0, issued, rng))
    issuer.start()
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(1.0, 3.5))  # past a worker's start (~1.5 s), at any point of its rounds
            victim = rng.randrange(2)
            workers[victim].send_signal(signal.SIGKILL)
            assert workers[victim].wait(10) == -signal.SIGKILL
            workers[victim] = start_cli(["worker", "--interval", "0.2"], settings, logs[victim])
        issuer.join()
        wait_until(lambda: _anchored(env, issued), "every issued certificate anchored", timeout=180, logs=logs,
                   procs=workers)
        # a worker restarted by the last kill may still be starting: SIGTERM before its handler would kill it
        wait_until(lambda: all(_heartbeat(env, w.pid) is not None for w in workers), "every worker beating",
                   timeout=60, logs=logs, procs=workers)
    finally:
        issuer.join()
        codes = [stop_gently(w) for w in workers]
    assert codes == [0, 0], "SIGTERM stops a worker cleanly"

    certs = _certificates(env.lib, issued)
    assert len(certs) == len(set(issued)) > 100
    _assert_anchored_once(env.lib, certs)
    with env.lib.sessions() as s:
        batches = s.execute(select(Batch).where(Batch.org_id == org.id)).scalars().all()
        queued = s.scalar(select(func.count()).select_from(AnchorOutbox).where(AnchorOutbox.org_id == org.id))
        beats = s.execute(select(WorkerHeartbeat).where(WorkerHeartbeat.state == "stopped")).scalars().all()
    assert queued == 0 and all(b.status == "anchored" for b in batches)
    assert sum(b.leaf_count for b in batches) == len(certs), "every certificate in exactly one batch"
    on_chain, roots = _chain_leaf_total(env, org.chain_address)
    assert on_chain == len(certs) and roots == {bytes(b.root) for b in batches}, "nothing else anchored on chain"
    assert {w.pid for w in workers} <= {b.pid for b in beats}, "each stopped worker said so in its heartbeat"


def _heartbeat(env: LibraryEnv, pid: int) -> WorkerHeartbeat | None:
    with env.lib.sessions() as s:
        return s.scalar(select(WorkerHeartbeat).where(WorkerHeartbeat.pid == pid))


def test_a_worker_stops_on_sigterm_and_a_killed_one_goes_stale(library_env: LibraryEnv, tmp_path: Path) -> None:
    logs = [tmp_path / "stopped.log", tmp_path / "killed.log"]
    stopped, killed = (start_cli(["worker"], library_env.env, log) for log in logs)
    wait_until(lambda: all(_heartbeat(library_env, p.pid) for p in (stopped, killed)), "both workers' heartbeats",
               timeout=60, logs=logs, procs=[stopped, killed])
    started = time.monotonic()
    assert stop_gently(stopped) == 0 and time.monotonic() - started < 10
    text = logs[0].read_text()
    assert '"message": "worker stopped"' in text and "Traceback" not in text
    assert _heartbeat(library_env, stopped.pid).state == "stopped"

    killed.kill()
    killed.wait(10)
    row = _heartbeat(library_env, killed.pid)
    assert row.state == "running" and heartbeats.is_alive(row), "a killed worker cannot say so"
    later = as_utc(row.beat_at) + dt.timedelta(seconds=heartbeats.STALE_AFTER_S + 1)
    assert not heartbeats.is_alive(row, later), "its silence does"
