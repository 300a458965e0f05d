"""The production processes under load on one PostgreSQL database (``benchmarks.cluster``, bounded to 20 seconds of load):
4 API workers, 2 anchoring workers and the indexer, 200 concurrent clients issuing, changing statuses and
verifying. No 5xx, no deadlock, no duplicate identifier or serial, every 2xx present, every status change
recorded, every certificate anchored exactly once, and every process stops cleanly on SIGTERM."""

from __future__ import annotations

import pytest

from benchmarks.cluster import run
from tests.fixtures.db import PG_URL


@pytest.mark.postgres
@pytest.mark.slow
def test_two_hundred_clients_on_one_postgresql_database() -> None:
    result = run(PG_URL, clients=200, duration=20)
    checks = {k: v for k, v in result.items() if k.startswith("check_")}
    assert checks and not any(checks.values()), checks
    assert result["issue_non_2xx"] == result["status_non_2xx"] == result["verify_non_2xx"] == 0, result
    assert result["certificates_issued_2xx"] > 0 and result["status_changes_2xx"] > 0
    assert result["drain_after_load_s"] < 300, "the anchoring queue drained after the load"
