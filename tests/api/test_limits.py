"""The body limit (50 MB, enforced while the body streams in) and the public rate limit."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from api.ratelimit import TokenBuckets
from api.settings import MB, ApiSettings
from tests.api.conftest import Api, assert_error, stored_rows


def test_a_50_mb_upload_is_refused_and_nothing_is_stored(api: Api) -> None:
    before = stored_rows(api.env.lib)
    pdf = b"%PDF-1.7\n" + b"0" * (50 * MB)
    r = api.call("POST", "/counters/verify/pdf", "counter", files={"file": ("big.pdf", pdf, "application/pdf")})
    error = assert_error(r, 413, "upload_too_large")
    assert "50 MB" in error["message"]
    request = {"type_code": api.env.types["business_licence"].code, "document": "A" * (50 * MB)}
    assert_error(api.call("POST", "/departments/certificates", "market", json=request), 413, "upload_too_large")
    assert stored_rows(api.env.lib) == before


def _asgi_post(app: Any, path: str, headers: dict[str, str], chunks: list[bytes]) -> tuple[int, dict[str, Any], int]:
    """POST a body in chunks without Content-Length; returns status, JSON body and chunks the app read."""
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        if read < len(chunks):
            read += 1
            return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80), "state": {},
    }
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body), read


def test_the_limit_is_enforced_while_the_body_streams_in(api: Api) -> None:
    app = create_app(api.env.lib, ApiSettings(max_body_bytes=1 * MB))
    boundary = "certledgerboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n%PDF-1.7\n").encode()
    chunk = 64 * 1024
    chunks = [head] + [b"0" * chunk] * 128  # 8 MB, never announced by a Content-Length
    status, body, read = _asgi_post(app, "/counters/verify/pdf", {
        "content-type": f"multipart/form-data; boundary={boundary}", "x-api-key": api.keys["counter"],
        "transfer-encoding": "chunked",
    }, chunks)
    assert status == 413 and body["error"]["code"] == "upload_too_large"
    assert read <= 1 * MB // chunk + 2  # stopped at the limit, not after reading all 8 MB


def test_a_small_upload_passes_the_limit(api: Api) -> None:
    r = api.call("POST", "/counters/verify/pdf", "counter", files={"file": ("x.txt", b"hello", "text/plain")})
    assert_error(r, 422, "pdf_not_pdf")


def test_public_routes_are_rate_limited_per_client(api: Api) -> None:
    app = create_app(api.env.lib, ApiSettings(public_rate=0.01, public_burst=2))
    with TestClient(app) as client:
        for _ in range(2):
            assert_error(client.get("/verify/not-an-identifier"), 422, "identifier_malformed")
        r = client.get("/verify/not-an-identifier")
        error = assert_error(r, 429, "rate_limited")
        assert int(r.headers["Retry-After"]) >= 1 and error["details"]["retry_after_s"] >= 1
        assert_error(client.post("/public/verify", json={}), 429, "rate_limited")
        # keyed routes are not rate-limited
        assert client.get("/healthz").status_code == 200


def test_token_buckets_refill_at_their_rate() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=2.0, burst=3, max_keys=2, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == 0.5  # a token every 0.5 s
    assert buckets.take("b") == 0.0  # buckets are per client
    now[0] = 0.5
    assert buckets.take("a") == 0.0
    buckets.take("c")  # a third client evicts the least recently seen one
    assert list(buckets._buckets) == ["a", "c"]
