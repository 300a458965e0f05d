import json
import random

import pytest
import rfc8785

from ledger.core.canonical import _plain, canonical_record
from ledger.core.errors import BadInput

from .conftest import record

SAMPLES = [
    record(),
    {"b": 1, "a": [True, None, "x\n\"\\\u0001é"], "c": {"z": -9007199254740991}},
    {"\U0001f600": 1, "\ue000": 2, "a": 1},  # UTF-16 key order differs from code-point order
    {"f": 1.5, "g": 1e21, "h": 0.1, "i": 1.0},  # floats take the exact rfc8785 path
    {"n": 9007199254740991, "m": -0},
]


@pytest.mark.parametrize("rec", SAMPLES)
def test_matches_rfc8785(rec: dict) -> None:
    assert canonical_record(rec) == rfc8785.dumps(rec)
    assert canonical_record(json.dumps(rec).encode()) == rfc8785.dumps(rec)


def test_non_bmp_keys_sorted_by_utf16() -> None:
    out = canonical_record({"\U0001f600": 1, "\ue000": 2})
    assert out.index("\U0001f600".encode()) < out.index("\ue000".encode())


@pytest.mark.parametrize("bad,code", [(b"{not json", "record_not_json"), (b"\xff\xfe", "record_not_json"),
                                      (b"[1,2]", "record_not_object"), (b'{"a": NaN}', "record_not_json"),
                                      ({"a": 2**60}, "record_not_json")])
def test_bad_records(bad: object, code: str) -> None:
    with pytest.raises(BadInput) as e:
        canonical_record(bad)
    assert e.value.code == code


_ALPHABET = "aZ09 \"\\/\b\f\n\r\t\x00\x1f\x7f\u00e9\u2028\u2029\u4e2d\ue000\uffff\U0001f600"


def _text(rnd: random.Random, bmp: bool = False) -> str:
    chars = _ALPHABET[:-1] if bmp else _ALPHABET
    return "".join(rnd.choice(chars) for _ in range(rnd.randint(0, 8)))


def _value(rnd: random.Random, depth: int) -> object:
    kind = rnd.randrange(8 if depth < 3 else 6)
    if kind == 0:
        return rnd.choice([0, -1, 1, 2**53 - 1, -(2**53 - 1), rnd.randint(-10**9, 10**9)])
    if kind == 1:
        return rnd.choice([True, False, None])
    if kind < 6:
        return _text(rnd)
    if kind == 6:
        return [_value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))]
    return {_text(rnd, bmp=True): _value(rnd, depth + 1) for _ in range(rnd.randint(0, 5))}


def test_fast_path_equals_rfc8785_on_generated_records() -> None:
    """Records the fast path takes (all of these: no floats, safe ints, BMP keys) give rfc8785's bytes."""
    rnd = random.Random(8785)
    for _ in range(2000):
        rec = {_text(rnd, bmp=True): _value(rnd, 0) for _ in range(rnd.randint(1, 8))}
        assert _plain(rec)
        assert canonical_record(rec) == rfc8785.dumps(rec), rec


@pytest.mark.parametrize("rec", [{"a": 1.0}, {"a": [1, {"b": 2**53}]}, {"\U0001f600": 1}, {1: "x"},
                                 {"a": ("tuple",)}])
def test_fast_path_declines(rec: dict) -> None:
    assert not _plain(rec)
