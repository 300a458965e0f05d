"""Concurrent writers on SQLite queue instead of failing (``ledger.storage.engine``: write transactions begin
IMMEDIATE). A deferred transaction that read and then wrote after another writer had committed got SQLITE_BUSY at
once, without waiting on busy_timeout: the full fuzz run met it as 503 ``database_busy`` when a seal rotation
ran while the anchoring worker anchored."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from ledger.app.onboarding import activate_department, create_organization
from ledger.core.catalogue import CITY_DIVISION, type_code
from ledger.core.uscc import derive_uscc
from ledger.issue.anchoring import Anchorer
from ledger.issue.issuance import issue_many
from ledger.issue.seals import rotate_seal
from ledger.storage.engine import make_engine, session_factory, writing
from ledger.storage.models import CertificateType
from tests.fixtures.library import LibraryEnv, sample_request


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'writers.db'}")
    with writing(engine) as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine
    engine.dispose()


def _session_tx(engine: Engine) -> Callable[[], AbstractContextManager[Any]]:
    sessions = session_factory(engine)

    @contextmanager
    def tx() -> Iterator[Any]:
        with sessions() as session, session.begin():  # a write transaction, as every writer of the library's
            yield session

    return tx


def _read_then_write(tx: Callable[[], AbstractContextManager[Any]], read: threading.Event,
                     other_read: threading.Event, errors: list[BaseException]) -> None:
    try:
        with tx() as conn:
            conn.execute(text("SELECT count(*) FROM t"))
            read.set()
            other_read.wait(1.0)  # a deferred second writer reads meanwhile; an immediate one waits at BEGIN
            conn.execute(text("INSERT INTO t VALUES (1)"))
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)


@pytest.mark.parametrize("kind", ["session", "core"])
def test_two_writers_that_read_first_both_commit(scratch: Engine, kind: str) -> None:
    tx = _session_tx(scratch) if kind == "session" else (lambda: writing(scratch))
    first_read, second_read = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    first = threading.Thread(target=_read_then_write, args=(tx, first_read, second_read, errors))
    first.start()
    first_read.wait(5)
    second = threading.Thread(target=_read_then_write, args=(tx, second_read, threading.Event(), errors))
    second.start()
    first.join(10)
    second.join(10)
    assert errors == []
    with scratch.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 2


def test_reads_stay_deferred_and_do_not_wait_on_a_writer(scratch: Engine) -> None:
    with writing(scratch) as writer:
        writer.execute(text("INSERT INTO t VALUES (2)"))
        with session_factory(scratch)() as session:  # a read while the write lock is held: answered at once (WAL)
            assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
        with scratch.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 0


def _department(env: LibraryEnv) -> tuple[int, CertificateType]:
    lib = env.lib
    org = create_organization(lib, kind="department", name=f"并发测试局{uuid.uuid4().hex[:6]}",
                              uscc=derive_uscc(uuid.uuid4().hex, division=CITY_DIVISION))
    activate_department(lib, org.id)
    template = env.types["skill"]
    with lib.sessions() as s, s.begin():
        ctype = CertificateType(code=type_code(org.uscc, 1), seq=1, name=f"并发测试证书{org.uscc}",
                                department_id=org.id, holder_kind=template.holder_kind, validity_years=None,
                                fields=template.fields)
        s.add(ctype)
    return org.id, ctype


def test_rotation_and_issuance_while_the_anchorer_anchors(library_env: LibraryEnv) -> None:
    """The fuzz run's 503s: seal rotations and issuances in two threads while the worker anchors in a third."""
    lib = library_env.lib
    (org_id, ctype), (other_id, other_type) = _department(library_env), _department(library_env)
    stop = threading.Event()
    errors: list[BaseException] = []

    def guarded(work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                while not stop.is_set():
                    work()
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
                stop.set()
        return run

    rounds = {"rotations": 0}

    def rotate() -> None:
        issue_many(lib, lib.organization(org_id), [sample_request(ctype) for _ in range(3)])
        rotate_seal(lib, org_id)
        rounds["rotations"] += 1
        if rounds["rotations"] >= 3:
            stop.set()

    threads = [threading.Thread(target=guarded(rotate)),
               threading.Thread(target=guarded(lambda: Anchorer(lib, max_age=0).run_once(force=True))),
               threading.Thread(target=guarded(lambda: issue_many(lib, lib.organization(other_id),
                                                                  [sample_request(other_type) for _ in range(2)])))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert errors == [], errors
    assert rounds["rotations"] == 3

