"""``deploy/postgres/loopback-drill.sh`` run for real: PostgreSQL 15 from ``primary.conf`` and ``replica.conf`` on
loopback, a synchronous standby made by ``replica-setup.sh``'s ``pg_basebackup`` call, certledger's migrations
through the two-host ``DATABASE_URL`` of docs/deployment.md, a commit held while the standby is down, and a
failover the same URL follows. The drill once imported a module the package no longer had and nothing noticed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DRILL = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "loopback-drill.sh"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def test_the_postgres_drill_replicates_migrates_holds_commits_and_fails_over() -> None:
    if os.geteuid() != 0 or not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
        pytest.skip("the drill runs PostgreSQL 15 (Debian's server binaries) as the postgres account, from root")
    out = subprocess.run(["bash", str(DRILL)], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHON": sys.executable})
    log = out.stdout + out.stderr
    assert out.returncode == 0, log
    assert "replication (application, state, sync): db_2|streaming|sync" in out.stdout, log
    migrated = re.search(r"^migrate: connected to port (\d+), (\d+) tables$", out.stdout, re.MULTILINE)
    standby = re.search(r"^standby tables: (\d+)$", out.stdout, re.MULTILINE)
    failover = re.search(r"^after-failover: connected to port (\d+), (\d+) tables$", out.stdout, re.MULTILINE)
    assert migrated and standby and failover, log
    assert int(migrated[2]) > 30 and migrated[2] == standby[1] == failover[2], log  # the schema reached the standby
    assert migrated[1] != failover[1], log  # the promoted standby answered, through the same URL
    assert "standby down: the commit waited" in out.stdout, log
    assert out.stdout.rstrip().endswith("the commit made while the standby was down: present"), log
