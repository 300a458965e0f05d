"""Identifiers (GB/T 36904), credit codes (GB 32100) and the concurrent serial allocator."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine

from ledger.core.errors import BadInput
from ledger.core.identifiers import make_identifier, mod37_36, parse_identifier
from ledger.core.uscc import check_char, derive_uscc, make_uscc, validate_uscc
from ledger.storage.models import Organization
from ledger.storage.serials import allocate_serials

EXAMPLE = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"


def test_example_identifier_round_trips() -> None:
    ident = parse_identifier(EXAMPLE)
    assert (ident.type_code, ident.issuer_code, ident.serial, ident.version, ident.check) == (
        "11100000000013338W011", "11430000006122244L", "20230000403", 1, "U",
    )
    assert ident.year == 2023
    assert make_identifier(ident.type_code, ident.issuer_code, ident.serial, 1) == EXAMPLE


def test_mod37_36_catches_every_single_substitution_and_adjacent_swap() -> None:
    body = "11100000000013338W01111430000006122244L20230000403001"
    assert mod37_36(body) == "U"
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for i, ch in enumerate(body):
        for other in alphabet:
            if other != ch:
                assert mod37_36(body[:i] + other + body[i + 1:]) != "U", (i, other)
    for i in range(len(body) - 1):
        if body[i] != body[i + 1]:
            assert mod37_36(body[:i] + body[i + 1] + body[i] + body[i + 2:]) != "U", i


@pytest.mark.parametrize(
    ("text", "code", "says"),
    [
        (EXAMPLE[:-1] + "V", "identifier_check_failed", "expected 'U'"),
        (EXAMPLE.replace("20230000403", "20230000404"), "identifier_check_failed", "mistyped"),
        (EXAMPLE.replace("1.2.156.3005.2", "1.2.156.3005.3"), "identifier_malformed", "expected"),
        (EXAMPLE.replace(".001.", ".01."), "identifier_malformed", "3-digit version"),
        (EXAMPLE.replace("11430000006122244L", "11430000006122244M"), "identifier_malformed", "check character"),
        (EXAMPLE.replace(".001.U", ".000.U"), "identifier_malformed", "001 or later"),
        ("", "identifier_malformed", "not a certificate identifier"),
    ],
)
def test_bad_identifiers_say_what_is_wrong(text: str, code: str, says: str) -> None:
    with pytest.raises(BadInput) as e:
        parse_identifier(text)
    assert e.value.code == code
    assert says in e.value.message


def test_make_identifier_validates_its_parts() -> None:
    with pytest.raises(BadInput) as e:
        make_identifier("11100000000013338W01", "11430000006122244L", "20230000403", 1)
    assert e.value.code == "type_code_invalid"
    with pytest.raises(BadInput) as e:
        make_identifier("11100000000013338W011", "11430000006122244L", "2023403", 1)
    assert e.value.code == "serial_invalid"
    with pytest.raises(BadInput) as e:
        make_identifier("11100000000013338W011", "11430000006122244L", "20230000403", 1000)
    assert e.value.code == "version_invalid"


@pytest.mark.parametrize("code", ["11100000000013338W", "11430000006122244L", "91350100M000100Y43"])
def test_real_credit_codes_validate(code: str) -> None:
    assert validate_uscc(code.lower()) == code


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("11100000000013338X", "should be 'W'"),
        ("1110000000001333W", "17 characters"),
        ("11100000000013338I", "except I, O, Z, S, V"),
        ("Z1100000000013338W", "except I, O, Z, S, V"),
        ("B1100000000013338W", "registration authority"),
        ("111000000000133390", "GB 11714"),
        ("1110A000000013338W", "administrative division"),
    ],
)
def test_bad_credit_codes_say_what_is_wrong(code: str, says: str) -> None:
    with pytest.raises(BadInput) as e:
        validate_uscc(code)
    assert e.value.code == "uscc_invalid"
    assert says in e.value.message


def test_derived_credit_codes_are_stable_valid_and_distinct() -> None:
    codes = {derive_uscc(f"department:{i}", division="430100") for i in range(500)}
    assert len(codes) == 500
    for c in codes:
        assert validate_uscc(c) == c and c.startswith("11430100")
    assert derive_uscc("x", division="430100") == derive_uscc("x", division="430100")
    assert make_uscc("91", "350100", "M0001000")[-1] == check_char(make_uscc("91", "350100", "M0001000")[:17])


def _issuer(engine: Engine, sessions, uscc_seed: str) -> int:
    with sessions.begin() as s:
        org = Organization(kind="department", name=uscc_seed, uscc=derive_uscc(uscc_seed, division="430100"))
        s.add(org)
        s.flush()
        return org.id


def test_serials_are_consecutive_blocks(engine: Engine, sessions) -> None:
    org = _issuer(engine, sessions, "serial-blocks")
    with engine.begin() as conn:
        assert allocate_serials(conn, "T" * 21, org, 2025, 3) == ["20250000001", "20250000002", "20250000003"]
    with engine.begin() as conn:
        assert allocate_serials(conn, "T" * 21, org, 2025) == ["20250000004"]
        assert allocate_serials(conn, "T" * 21, org, 2026) == ["20260000001"]


def test_rolled_back_allocation_is_not_consumed(engine: Engine, sessions) -> None:
    org = _issuer(engine, sessions, "serial-rollback")
    with engine.connect() as conn:
        allocate_serials(conn, "R" * 21, org, 2025, 5)
        conn.rollback()
    with engine.begin() as conn:
        assert allocate_serials(conn, "R" * 21, org, 2025) == ["20250000001"]


def test_concurrent_workers_never_share_a_serial(engine: Engine, sessions) -> None:
    org = _issuer(engine, sessions, "serial-concurrent")
    got: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            for _ in range(25):
                with engine.begin() as conn:
                    serials = allocate_serials(conn, "C" * 21, org, 2025, 2)
                with lock:
                    got.extend(serials)
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(got) == [f"2025{n:07d}" for n in range(1, 301)]
