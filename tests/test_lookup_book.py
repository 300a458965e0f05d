"""The lookup book while the access log cannot be written: lookups are kept for the next write, up to a bound,
and those beyond are counted, reported and dropped; once the log can be written again, what was kept is."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from ledger.holders import lookups
from ledger.holders.accesslog import LOOKUP_FORMAT
from ledger.holders.lookups import LookupBook
from ledger.issue.issuance import issue_many
from ledger.storage.models import AccessLogEntry, Organization
from tests.fixtures.library import LibraryEnv, sample_request


def _platform_active(env: LibraryEnv, active: bool) -> None:
    with env.lib.sessions() as session, session.begin():
        session.get(Organization, env.platform.id).active = active


def _entries(env: LibraryEnv, identifiers: list[str]) -> dict[str, int]:
    """How many lookups the access log holds per certificate of ``identifiers``, from the entries' records."""
    with env.lib.sessions() as session:
        records = session.execute(select(AccessLogEntry.record)).scalars().all()
    counted: dict[str, int] = {}
    for record in map(json.loads, records):
        if record["format"] == LOOKUP_FORMAT and record["certificates"][0] in identifiers:
            counted[record["certificates"][0]] = counted.get(record["certificates"][0], 0) + record["lookups"]
    return counted


def test_lookups_kept_up_to_a_bound_while_the_log_cannot_be_written(
        library_env: LibraryEnv, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=lookups.__name__)
    env = library_env
    org = env.departments["market"]
    issued = [c.identifier for c in issue_many(env.lib, org, [sample_request(env.types["business_licence"])
                                                                for _ in range(5)])]
    monkeypatch.setattr(lookups, "MAX_PENDING", 3)
    book = LookupBook(env.lib, interval=3600)  # this test flushes; the book's own thread would only after an hour
    _platform_active(env, False)  # no audit writer: the access log cannot be written
    try:
        for identifier in issued:  # 5 certificates, 3 kept: the 4th and 5th are dropped
            book.add(identifier, None, None)
        book.add(issued[0], None, None)  # a certificate already held is counted again, at the bound too
        assert book.flush() == 0
        book.add(issued[4], None, None)  # still at the bound after the failed write: dropped
    finally:
        _platform_active(env, True)
    assert book.flush() == 3
    dropped = [r for r in caplog.records if r.getMessage().startswith("lookups dropped")]
    assert [r.count for r in dropped] == [2, 1]  # type: ignore[attr-defined]  # reported at each write attempt
    assert _entries(env, issued) == {issued[0]: 2, issued[1]: 1, issued[2]: 1}
