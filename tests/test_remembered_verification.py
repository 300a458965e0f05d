"""Remembered VALID verifications by identifier (per worker): reused only while every input is unchanged."""

from __future__ import annotations

import copy
import datetime as dt
import json
import time

import pytest
from sqlalchemy import update

from ledger.app.indexing import chain_indexer
from ledger.core.checks import Status
from ledger.core.statuses import LeafStatus
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import issue_many
from ledger.storage.driver_reads import own_connections
from ledger.storage.models import Certificate
from ledger.verify.service import (
    SERVICE_STATUS_MAX_AGE,
    service_verifier,
    verify_identifier,
)
from ledger.verify.stored import export_bundle
from tests.fixtures.library import LibraryEnv, sample_request
from tests.fixtures.verifying import verification_without_chain

pytestmark = pytest.mark.chains("anvil", "hardhat", "besu")


@pytest.fixture()
def anchored(library_env: LibraryEnv) -> list[str]:
    lib = library_env.lib
    issued = issue_many(lib, library_env.departments["market"],
                        [sample_request(library_env.types["business_licence"]) for _ in range(2)])
    Anchorer(lib).run_once(force=True)
    return [c.identifier for c in issued]


def test_valid_result_is_reused_while_nothing_changed(library_env: LibraryEnv, anchored: list[str]) -> None:
    first = verify_identifier(library_env.lib, anchored[0])
    assert first.verdict is Status.VALID
    assert verify_identifier(library_env.lib, anchored[0]) is first


def test_changed_stored_record_is_verified_afresh(library_env: LibraryEnv, anchored: list[str]) -> None:
    lib, identifier = library_env.lib, anchored[0]
    assert verify_identifier(lib, identifier).verdict is Status.VALID
    with lib.sessions() as session, session.begin():
        stored = session.query(Certificate).filter_by(identifier=identifier).one().record
        record = json.loads(stored)
        record["number"] = "FORGED-1"
        session.execute(update(Certificate).where(Certificate.identifier == identifier)
                        .values(record=json.dumps(record, ensure_ascii=False)))
    tampered = verify_identifier(lib, identifier)
    assert tampered.verdict is Status.INVALID
    assert tampered.check("record_integrity").reason == "leaf_mismatch"
    with lib.sessions() as session, session.begin():
        session.execute(update(Certificate).where(Certificate.identifier == identifier).values(record=stored))
    assert verify_identifier(lib, identifier).verdict is Status.VALID  # the same inputs again


def test_status_change_on_chain_counts_within_the_status_max_age(library_env: LibraryEnv,
                                                                 anchored: list[str]) -> None:
    lib, identifier = library_env.lib, anchored[1]
    assert verify_identifier(lib, identifier) is verify_identifier(lib, identifier)
    bundle = export_bundle(lib, identifier)
    lib.contract.set_status(lib.org_account(library_env.departments["market"]), bundle["root"], bundle["leaf"],
                            LeafStatus.SUSPENDED)
    time.sleep(SERVICE_STATUS_MAX_AGE + 0.2)
    result = verify_identifier(lib, identifier)
    assert result.verdict is Status.INVALID
    assert result.check("status").reason == "suspended"


def test_another_registry_or_day_is_verified_afresh(library_env: LibraryEnv, anchored: list[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    lib, identifier = library_env.lib, anchored[0]
    first = verify_identifier(lib, identifier)
    registry = copy.deepcopy(lib.seal_registry())
    with monkeypatch.context() as m:
        m.setattr(lib, "seal_registry", lambda: registry)  # what a revocation through any worker brings
        again = verify_identifier(lib, identifier)
    assert again.verdict is Status.VALID and again is not first
    verifier = service_verifier(lib)
    tomorrow = verifier.today() + dt.timedelta(days=1)
    monkeypatch.setattr(verifier, "today", lambda: tomorrow)
    assert verify_identifier(lib, identifier) is not again


def test_only_valid_results_of_stored_identifiers_are_remembered(library_env: LibraryEnv) -> None:
    lib = library_env.lib
    queued = issue_many(lib, library_env.departments["market"],
                        [sample_request(library_env.types["business_licence"])])[0].identifier
    pending = verify_identifier(lib, queued)
    assert pending.verdict is Status.PENDING
    assert verify_identifier(lib, queued) is not pending
    assert queued not in service_verifier(lib).valid_results


def test_the_event_loop_check_reads_the_database_only_and_survives_a_broken_connection(
        library_env: LibraryEnv, anchored: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    lib, identifier = library_env.lib, anchored[0]
    chain = service_verifier(lib).chain
    monkeypatch.setattr(chain, "status_max_age", 60.0)  # so that the status read below stays fresh
    first = verify_identifier(lib, identifier)
    monkeypatch.setattr(chain.contract, "verify", None)  # any chain read would fail now
    assert verification_without_chain(lib, identifier) is first
    own_connections.by_engine[lib.engine].close()  # as a database restart would leave it
    with pytest.raises(Exception):  # noqa: B017 - the driver's own error; the API then takes the regular route
        verification_without_chain(lib, identifier)
    assert verification_without_chain(lib, identifier) is first
    monkeypatch.setattr(chain, "_status_checked", 0.0)  # the periodic look at status events is due
    assert verification_without_chain(lib, identifier) is None


def test_revocation_events_are_looked_at_in_the_background_half_a_period_early(
        library_env: LibraryEnv, anchored: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    lib, identifier = library_env.lib, anchored[0]
    chain = service_verifier(lib).chain
    first = verify_identifier(lib, identifier)
    assert first.verdict is Status.VALID
    checked = time.monotonic() - 0.6 * SERVICE_STATUS_MAX_AGE
    monkeypatch.setattr(chain, "_status_checked", checked)
    assert verification_without_chain(lib, identifier) is first  # the last look is recent enough; one starts now
    deadline = time.monotonic() + 10
    while chain._status_checked == checked:
        assert time.monotonic() < deadline, "the background look did not run"
        time.sleep(0.05)
    assert time.monotonic() - chain._status_checked < 0.6 * SERVICE_STATUS_MAX_AGE  # renewed, not merely expired
    bundle = export_bundle(lib, identifier)
    lib.contract.set_status(lib.org_account(library_env.departments["market"]), bundle["root"], bundle["leaf"],
                            LeafStatus.SUSPENDED)
    chain_indexer(lib).run_until_head()  # the indexer's round puts the change in the status table
    seen = verification_without_chain(lib, identifier)
    assert seen is not None and seen.check("status").reason == "suspended"  # answered without the chain node
    assert verify_identifier(lib, identifier).check("status").reason == "suspended"
