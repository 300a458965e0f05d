import json

import pytest
import rfc8785

from ledger.errors import BadInput
from signer.canonical import canonical_record

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
