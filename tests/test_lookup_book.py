"""The lookup book and its notes: an API worker notes lookups in ``lookup_notes``, the anchoring worker turns them into
access-log entries. While the notes cannot be written, lookups are kept for the next write, up to a bound, and those
beyond are counted, reported and dropped; while the access log cannot be written (no audit writer), the notes wait
and become entries once it can; converters side by side write each note once."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from alembic import command
from sqlalchemy import func, select, text

from ledger.core.errors import ServiceUnavailable
from ledger.holders import lookups
from ledger.holders.accesslog import LOOKUP_FORMAT
from ledger.holders.lookups import LookupBook, record_noted_lookups
from ledger.issue.issuance import issue_many
from ledger.plan.monthly import PlanAnchorer
from ledger.storage.engine import alembic_config, schema_revisions
from ledger.storage.lookup_notes import LOOKUP_NOTES
from ledger.storage.models import AccessLogEntry, Batch, Organization
from tests.fixtures.library import LibraryEnv, sample_request


def _platform_active(env: LibraryEnv, active: bool) -> None:
    with env.lib.sessions() as session, session.begin():
        session.get(Organization, env.platform.id).active = active


def _issued(env: LibraryEnv, n: int) -> list[str]:
    org = env.departments["market"]
    return [c.identifier for c in issue_many(env.lib, org, [sample_request(env.types["business_licence"])
                                                            for _ in range(n)])]


def _entries(env: LibraryEnv, identifiers: list[str]) -> dict[str, list[dict]]:
    """The lookup entries' records of each certificate of ``identifiers``."""
    with env.lib.sessions() as session:
        records = session.execute(select(AccessLogEntry.record)).scalars().all()
    found: dict[str, list[dict]] = {}
    for record in map(json.loads, records):
        if record["format"] == LOOKUP_FORMAT and record["certificates"][0] in identifiers:
            found.setdefault(record["certificates"][0], []).append(record)
    return found


def _counted(env: LibraryEnv, identifiers: list[str]) -> dict[str, int]:
    return {i: sum(r["lookups"] for r in rs) for i, rs in _entries(env, identifiers).items()}


def _noted(env: LibraryEnv, identifiers: list[str]) -> int:
    with env.lib.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(LOOKUP_NOTES)
                            .where(LOOKUP_NOTES.c.identifier.in_(identifiers))).scalar_one()


@contextmanager
def _notes_table_gone(env: LibraryEnv) -> Iterator[None]:
    """A real write failure: the notes table renamed away for a while."""
    with env.lib.engine.begin() as conn:
        conn.execute(text("ALTER TABLE lookup_notes RENAME TO lookup_notes_away"))
    try:
        yield
    finally:
        with env.lib.engine.begin() as conn:
            conn.execute(text("ALTER TABLE lookup_notes_away RENAME TO lookup_notes"))


def test_lookups_kept_up_to_a_bound_while_the_notes_cannot_be_written(
        library_env: LibraryEnv, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=lookups.__name__)
    env = library_env
    issued = _issued(env, 5)
    monkeypatch.setattr(lookups, "MAX_PENDING", 3)
    book = LookupBook(env.lib, interval=3600)  # this test flushes; the book's own thread would only after an hour
    with _notes_table_gone(env):
        for identifier in issued:  # 5 certificates, 3 kept: the 4th and 5th are dropped
            book.add(identifier, None, None)
        book.add(issued[0], None, None)  # a certificate already held is counted again, at the bound too
        assert book.flush() == 0
        book.add(issued[4], None, None)  # still at the bound after the failed write: dropped
    assert book.flush() == 3
    assert _noted(env, issued) == 3
    dropped = [r for r in caplog.records if r.getMessage().startswith("lookups dropped")]
    assert [r.count for r in dropped] == [2, 1]  # type: ignore[attr-defined]  # reported at each write attempt
    record_noted_lookups(env.lib)
    assert _noted(env, issued) == 0
    assert _counted(env, issued) == {issued[0]: 2, issued[1]: 1, issued[2]: 1}


def test_noted_lookups_wait_for_the_audit_writer_then_are_anchored_once(library_env: LibraryEnv) -> None:
    env = library_env
    issued = _issued(env, 2)
    book = LookupBook(env.lib, interval=3600)
    counter = env.departments["land"]  # any organization's credit code names the caller
    _platform_active(env, False)  # no audit writer: the access log cannot be written, the notes can
    try:
        book.add(issued[0], counter, "staff-7")
        book.add(issued[0], counter, "staff-7")
        book.add(issued[1], None, None)
        assert book.flush() == 2
        with pytest.raises(ServiceUnavailable) as refused:
            record_noted_lookups(env.lib)
        assert refused.value.code == "audit_writer_missing"
        assert _noted(env, issued) == 2 and _entries(env, issued) == {}
        PlanAnchorer(env.lib).run_once(force=True)  # the worker logs it and goes on anchoring; the notes wait
        assert _noted(env, issued) == 2
    finally:
        _platform_active(env, True)
    PlanAnchorer(env.lib).run_once(force=True)  # the worker's round: notes into entries, then anchored
    assert _noted(env, issued) == 0
    found = _entries(env, issued)
    assert [(r["who"], r["counter"], r["staff_id"], r["lookups"]) for r in found[issued[0]]] == [
        ("counter", counter.uscc, "staff-7", 2)]
    assert [(r["who"], r["counter"], r["staff_id"], r["lookups"]) for r in found[issued[1]]] == [
        ("public", None, None, 1)]
    with env.lib.sessions() as session:
        statuses = session.execute(
            select(Batch.status).join(AccessLogEntry, AccessLogEntry.batch_id == Batch.id)
            .where(AccessLogEntry.intake_id.in_([found[i][0]["lookup_id"] for i in issued]))).scalars().all()
    assert statuses == ["anchored", "anchored"]
    record_noted_lookups(env.lib)  # again: nothing of these is written twice
    assert _counted(env, issued) == {issued[0]: 2, issued[1]: 1}


def test_converters_side_by_side_write_each_note_once(library_env: LibraryEnv,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    env = library_env
    issued = _issued(env, 3)
    counter = env.departments["hr"]
    book = LookupBook(env.lib, interval=3600)
    for staff in range(40):  # 120 notes: one per certificate and staff member, each with staff + 1 lookups
        for identifier in issued:
            for _ in range(staff + 1):
                book.add(identifier, counter, f"s{staff}")
    assert book.flush() == 120
    monkeypatch.setattr(lookups, "NOTES_PER_TRANSACTION", 7)  # many small transactions, interleaved
    errors: list[BaseException] = []

    def convert() -> None:
        try:
            record_noted_lookups(env.lib)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=convert) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _noted(env, issued) == 0
    found = _entries(env, issued)
    for identifier in issued:
        assert sorted((r["staff_id"], r["lookups"]) for r in found[identifier]) == sorted(
            (f"s{staff}", staff + 1) for staff in range(40))


def test_the_downgrade_refuses_while_notes_wait(library_env: LibraryEnv) -> None:
    env = library_env
    issued = _issued(env, 1)
    book = LookupBook(env.lib, interval=3600)
    book.add(issued[0], None, None)
    assert book.flush() == 1
    with pytest.raises(RuntimeError, match="noted lookups are not in the access log yet"):
        command.downgrade(alembic_config(env.lib.engine), "0021")
    current, head = schema_revisions(env.lib.engine)
    assert current == head and _noted(env, issued) == 1  # the whole downgrade undone, the later steps' too
    record_noted_lookups(env.lib)
    assert _counted(env, issued) == {issued[0]: 1}


def test_a_backlog_is_written_a_bounded_part_at_a_time(library_env: LibraryEnv,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    env = library_env
    record_noted_lookups(env.lib)  # what earlier tests noted
    issued = _issued(env, 5)
    book = LookupBook(env.lib, interval=3600)
    for identifier in issued:
        book.add(identifier, None, None)
    assert book.flush() == 5
    monkeypatch.setattr(lookups, "NOTES_PER_TRANSACTION", 2)
    assert lookups.flush_lookups(env.lib) == 2  # a holder's read: one transaction's worth, the oldest first
    assert _noted(env, issued) == 3 and set(_counted(env, issued)) == set(issued[:2])
    assert record_noted_lookups(env.lib, limit=2) == 2  # a worker's round, bounded
    assert record_noted_lookups(env.lib) == 1
    assert _counted(env, issued) == dict.fromkeys(issued, 1)
