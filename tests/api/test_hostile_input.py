"""Input an attacker would send: every route answers 4xx and the service stays up (issue 11)."""

from __future__ import annotations

import json
import re
import sys

import httpx
import pytest

from api.app import app
from api.jsonguard import MAX_DEPTH, problem
from tests.api.conftest import Api, assert_error
from tests.fixtures.library import sample_request

DEEP = b"[" * 100_000
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _body_routes() -> list[tuple[str, str]]:
    return [(method.upper(), re.sub(r"\{[^}]+\}", "1", path))
            for path, operations in app.openapi()["paths"].items() for method in operations
            if method.upper() in BODY_METHODS]


def test_the_recursion_limit_is_sane_after_web3_is_imported() -> None:
    import web3  # noqa: F401  py_ecc raises it to 100,000 on import

    assert sys.getrecursionlimit() <= 3000


@pytest.mark.parametrize("who", [None, "admin", "market", "counter"])
def test_a_100000_deep_body_is_refused_on_every_route(api: Api, who: str | None) -> None:
    routes = _body_routes()
    assert ("POST", "/public/verify") in routes and ("POST", "/departments/certificates") in routes
    for method, path in routes:
        r = api.call(method, path, who, content=DEEP, headers={"Content-Type": "application/json"})
        assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text[:200])
    r = api.call("POST", "/public/verify", content=DEEP, headers={"Content-Type": "application/json"})
    assert_error(r, 422, "json_too_deep")
    assert api.call("GET", "/healthz").status_code == 200


def test_a_deep_body_does_not_kill_the_served_process(api: Api, api_server: str) -> None:
    with httpx.Client(base_url=api_server, timeout=30) as http:
        for path in ("/public/verify", "/departments/certificates", "/counters/verify/identifier"):
            r = http.post(path, content=DEEP, headers={"Content-Type": "application/json"})
            assert r.status_code == 422 and r.json()["error"]["code"] == "json_too_deep", r.text
        assert http.get("/healthz").status_code == 200


@pytest.mark.parametrize(("body", "code"), [
    (b'{"a": NaN}', "number_invalid"),
    (b'{"a": -Infinity}', "number_invalid"),
    (b'{"a": 1e400}', "number_invalid"),
    (b'{"a": ' + b"9" * 5000 + b"}", "number_invalid"),
    (b'{"a": "\\ud800x"}', "text_invalid"),
    (b'{"a": "ok\\udc00"}', "text_invalid"),
    (b'{"a": "\xff"}', "json_encoding_invalid"),
    (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "json_too_deep"),
    # closing brackets inside a string do not hide the depth, with or without an escaped quote
    (b'{"a": "' + b"]" * 1000 + b'", "b": ' + b"[" * 100 + b"]" * 100 + b"}", "json_too_deep"),
    (b'{"a": "\\"' + b"]" * 1000 + b'", "b": ' + b"[" * 100 + b"]" * 100 + b"}", "json_too_deep"),
])
def test_the_guard_names_each_refusal(body: bytes, code: str) -> None:
    found = problem(body)
    assert found is not None and found[0] == code


@pytest.mark.parametrize("body", [
    b'{"a": "\\ud83d\\ude00", "b": "\\\\ud800", "c": "[[[[NaN 1e400"}',
    b'{"n": [1, -2.5, 1e10, 123456789012345678901234567890]}',
    b"[" * MAX_DEPTH + b"]" * MAX_DEPTH,
    b'{"a": "\\"' + b"[" * 100 + b'", "b": "' + b"{" * 100 + b'"}',
])
def test_the_guard_passes_ordinary_json(body: bytes) -> None:
    assert problem(body) is None


def test_nan_and_overflowing_numbers_are_refused_on_issuance(api: Api) -> None:
    licence = api.env.types["business_licence"]
    for literal in (b"NaN", b"1e400", b"Infinity"):
        request = sample_request(licence, fields={"registered_capital": "__N__"})
        body = json.dumps(request).encode().replace(b'"__N__"', literal)
        r = api.call("POST", "/departments/certificates", "market", content=body,
                     headers={"Content-Type": "application/json"})
        assert_error(r, 422, "number_invalid")


def test_a_lone_surrogate_in_a_bundle_is_refused(api: Api) -> None:
    body = b'{"format": "certledger/bundle/1", "record": {"holder": "\\udead"}}'
    r = api.call("POST", "/public/verify", content=body, headers={"Content-Type": "application/json"})
    assert_error(r, 422, "text_invalid")
