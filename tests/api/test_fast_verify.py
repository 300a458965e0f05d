"""The lean verify-by-identifier path answers exactly as the regular route, and leaves every refusal to it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api import fast_verify
from api.app import create_app
from api.fast_verify import FastVerifyIdentifier
from ledger.core.identifiers import make_identifier, parse_identifier
from ledger.holders import attempts
from ledger.holders.lookups import flush_lookups
from ledger.issue.anchoring import Anchorer
from ledger.storage.models import KeyFailure
from ledger.verify import remembered
from ledger.verify.service import service_verifier
from tests.api.conftest import Api, assert_error, new_uscc
from tests.api.test_disclosure import fresh_counter_key
from tests.fixtures.library import sample_request

PATH = "/counters/verify/identifier"


@pytest.fixture(scope="module")
def regular(api: Api) -> Iterator[TestClient]:
    """The same app without the lean path."""
    app = create_app(api.env.lib)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not FastVerifyIdentifier]
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def identifiers(api: Api) -> dict[str, str]:
    licence = api.env.types["business_licence"]
    issued = [api.call("POST", "/departments/certificates", "market", json=sample_request(licence)).json()
              for _ in range(2)]
    Anchorer(api.env.lib).run_once(force=True)
    queued = api.call("POST", "/departments/certificates", "market", json=sample_request(licence)).json()
    r = api.call("POST", "/admin/organizations", "admin",
                 json={"kind": "association", "name": "某行业协会", "uscc": new_uscc("51")})
    assert r.status_code == 201, r.text
    r = api.call("POST", f"/admin/organizations/{r.json()['id']}/api-keys", "admin", json={"roles": ["association"]})
    api.keys["association"] = r.json()["key"]
    ident = issued[0]["identifier"]
    return {"anchored": ident, "other": issued[1]["identifier"], "queued": queued["identifier"],
            "malformed": "1.2.156.3005.2.nonsense", "check_failed": ident[:-1] + ("A" if ident[-1] != "A" else "B"),
            "unknown": ident[:-20] + "20249999999.001.X"}


def _requests(api: Api, ids: dict[str, str]) -> dict[str, tuple[Any, bytes]]:
    def body(identifier: Any) -> bytes:
        return json.dumps({"identifier": identifier}).encode()

    counter = {"X-API-Key": api.keys["counter"], "Content-Type": "application/json"}
    out = {name: (counter, body(value)) for name, value in ids.items()}
    out |= {
        "department key": ({**counter, "X-API-Key": api.keys["market"]}, body(ids["anchored"])),
        "admin key": ({**counter, "X-API-Key": api.keys["admin"]}, body(ids["anchored"])),
        "association key": ({**counter, "X-API-Key": api.keys["association"]}, body(ids["anchored"])),
        "no key": ({"Content-Type": "application/json"}, body(ids["anchored"])),
        "unknown key": ({**counter, "X-API-Key": "cl_nonsense"}, body(ids["anchored"])),
        "extra field": (counter, b'{"identifier": "%s", "x": 1}' % ids["anchored"].encode()),
        "number": (counter, b'{"identifier": 12}'),
        "too long": (counter, body("1" * 129)),
        "not json": (counter, b"identifier=1"),
        "not an object": (counter, b'["x"]'),
        "empty": (counter, b""),
        "text/plain": ({**counter, "Content-Type": "text/plain"}, body(ids["anchored"])),
        "padded": (counter, body(ids["other"]) + b" " * 2000),
        "two keys, counter first": ([("X-API-Key", api.keys["counter"]), ("X-API-Key", api.keys["association"]),
                                     ("Content-Type", "application/json")], body(ids["anchored"])),
        "two keys, association first": ([("X-API-Key", api.keys["association"]), ("X-API-Key", api.keys["counter"]),
                                         ("Content-Type", "application/json")], body(ids["anchored"])),
    }
    return out


@pytest.fixture()
def lean_answers(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether the lean path answered, per request it looked at."""
    answered: list[bool] = []
    original = fast_verify.FastVerifyIdentifier._answer

    async def spy(*args: Any) -> bytes | None:
        out = await original(*args)
        answered.append(out is not None)
        return out

    monkeypatch.setattr(fast_verify.FastVerifyIdentifier, "_answer", spy)
    return answered


def test_every_answer_is_the_regular_routes(api: Api, regular: TestClient, identifiers: dict[str, str],
                                            lean_answers: list[bool], monkeypatch: pytest.MonkeyPatch) -> None:
    # statuses re-read at most once a minute here, so that which answers are remembered does not depend on timing
    monkeypatch.setattr(service_verifier(api.env.lib).chain, "status_max_age", 60.0)
    for identifier in identifiers.values():  # a first verification: the route's own (and remembered if VALID)
        regular.post(PATH, headers={"X-API-Key": api.keys["counter"]}, json={"identifier": identifier})
    for name, (headers, content) in _requests(api, identifiers).items():
        lean_answers.clear()
        fast = api.client.post(PATH, headers=headers, content=content)
        slow = regular.post(PATH, headers=headers, content=content)
        assert (fast.status_code, fast.content) == (slow.status_code, slow.content), name
        unique = ("date", "x-request-id")  # each answer's own (api.observe)
        assert {k: v for k, v in fast.headers.items() if k not in unique} == \
            {k: v for k, v in slow.headers.items() if k not in unique}, name
        assert fast.headers["x-request-id"] != slow.headers["x-request-id"]
        # a stored certificate needing no chain read (its root was seen above), allowed key
        expected = name in ("anchored", "other", "queued", "two keys, counter first")  # keys are single-role
        assert lean_answers == ([expected] if name not in ("no key", "text/plain", "padded") else []), name


def test_a_status_due_for_rereading_goes_the_regular_way(api: Api, identifiers: dict[str, str],
                                                         lean_answers: list[bool]) -> None:
    headers = {"X-API-Key": api.keys["counter"]}
    chain = service_verifier(api.env.lib).chain
    assert api.client.post(PATH, headers=headers, json={"identifier": identifiers["other"]}).status_code == 200
    with chain._looking:  # no look already under way in the background can note a fresh one meanwhile
        chain._status_checked = 0.0  # the once-a-second look at status events is due
        lean_answers.clear()
        r = api.client.post(PATH, headers=headers, json={"identifier": identifiers["other"]})
    assert r.status_code == 200 and r.json()["verdict"] == "VALID"
    assert lean_answers == [False]


def test_a_locked_out_key_gets_nothing_from_the_lean_path(api: Api, regular: TestClient, identifiers: dict[str, str],
                                                          lean_answers: list[bool],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The unknown-identifier lockout holds on both paths: before, the lean path kept answering a locked-out key
    for every certificate that exists."""
    monkeypatch.setattr(service_verifier(api.env.lib).chain, "status_max_age", 60.0)
    key = fresh_counter_key(api)
    headers = {"X-API-Key": key}
    regular.post(PATH, headers=headers, json={"identifier": identifiers["anchored"]})  # remembered: lean from now on
    lean_answers.clear()
    assert api.client.post(PATH, headers=headers, json={"identifier": identifiers["anchored"]}).status_code == 200
    assert lean_answers == [True]
    parts = parse_identifier(identifiers["anchored"])
    for n in range(attempts.IDENTIFIERS.limit):
        guess = make_identifier(parts.type_code, parts.issuer_code, f"2018{n:07d}", 1)
        assert_error(api.client.post(PATH, headers=headers, json={"identifier": guess}), 404, "certificate_not_found")
    lean_answers.clear()
    r = api.client.post(PATH, headers=headers, json={"identifier": identifiers["anchored"]})
    assert_error(r, 429, "unknown_identifier_attempts_exceeded")
    assert int(r.headers["Retry-After"]) > 0
    assert lean_answers == [False]
    assert attempts.locked_out(api.env.lib, key[:12], attempts.IDENTIFIERS)
    assert not attempts.locked_out(api.env.lib, key[:12], attempts.IDENTIFIERS,  # the window has passed
                                   now=dt.datetime.now(dt.UTC) + attempts.IDENTIFIERS.window)
    assert api.client.post(PATH, headers={"X-API-Key": api.keys["counter"]},  # other keys are not locked out
                           json={"identifier": identifiers["anchored"]}).status_code == 200


def test_a_key_locked_out_by_another_worker_is_refused_on_the_lean_path_within_a_second(
        api: Api, regular: TestClient, identifiers: dict[str, str], lean_answers: list[bool],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Failures another worker records are not seen at once (a key under its limit is taken as such for
    ``UNDER_LIMIT_S``), but once that has passed the lean path refuses the key: the route answers 429."""
    monkeypatch.setattr(service_verifier(api.env.lib).chain, "status_max_age", 60.0)
    key = fresh_counter_key(api)
    headers = {"X-API-Key": key}
    regular.post(PATH, headers=headers, json={"identifier": identifiers["anchored"]})  # remembered: lean from now on
    assert api.client.post(PATH, headers=headers, json={"identifier": identifiers["anchored"]}).status_code == 200
    now = dt.datetime.now(dt.UTC)
    with api.env.lib.sessions() as session, session.begin():  # as another worker's refusals write them
        session.add_all(KeyFailure(key_prefix=key[:12], kind=attempts.IDENTIFIERS.kind, at=now)
                        for _ in range(attempts.IDENTIFIERS.limit))
    time.sleep(attempts.UNDER_LIMIT_S + 0.1)
    lean_answers.clear()
    r = api.client.post(PATH, headers=headers, json={"identifier": identifiers["anchored"]})
    assert_error(r, 429, "unknown_identifier_attempts_exceeded")
    assert lean_answers == [False]


def test_verifications_waiting_on_one_turn_are_read_together_each_answered_as_the_route_would(
        api: Api, regular: TestClient, identifiers: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests that reach the lean path on one turn of the event loop are verified together: on PostgreSQL their
    rows in one read. A neighbour that fails (unknown, malformed) or repeats changes no other's answer."""
    monkeypatch.setattr(service_verifier(api.env.lib).chain, "status_max_age", 60.0)
    for identifier in identifiers.values():  # roots seen, VALID results remembered, as in the first test
        regular.post(PATH, headers={"X-API-Key": api.keys["counter"]}, json={"identifier": identifier})
    parts = parse_identifier(identifiers["anchored"])
    identifiers = {**identifiers, "not stored": make_identifier(parts.type_code, parts.issuer_code, "20189999999", 1)}
    names = ["anchored", "not stored", "other", "malformed", "queued", "anchored", "check_failed", "other"]
    reads: list[list[str]] = []
    original = remembered.read_all

    def counted(engine: Any, statement: Any, params: Any, **kwargs: Any) -> Any:
        if "identifiers" in params:
            reads.append(list(params["identifiers"]))
        return original(engine, statement, params, **kwargs)

    monkeypatch.setattr(remembered, "read_all", counted)
    headers = {"X-API-Key": api.keys["counter"]}

    async def together() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=api.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://counter") as client:
            return await asyncio.gather(*(client.post(PATH, headers=headers, json={"identifier": identifiers[n]})
                                          for n in names))

    answers = asyncio.run(together())
    for name, fast in zip(names, answers, strict=True):
        slow = regular.post(PATH, headers=headers, json={"identifier": identifiers[name]})
        assert (fast.status_code, fast.content) == (slow.status_code, slow.content), name
    assert [a.status_code for a in answers] == [200, 404, 200, 422, 200, 200, 422, 200]
    if api.env.lib.engine.dialect.name == "postgresql":  # elsewhere each verification reads its own row
        assert reads[0] == [identifiers[n] for n in names]
    flush_lookups(api.env.lib)  # the lookups they noted, written before the session's database goes
