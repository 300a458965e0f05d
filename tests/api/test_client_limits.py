"""The public rate limit counts per client address, and X-Forwarded-For names the client only when it comes from a
proxy CERTLEDGER_TRUSTED_PROXIES names (issue 11: a forwarded header from loopback used to pick any bucket)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from api.serve import proxy_options
from ledger.devstack.api_process import start_api
from ledger.devstack.launchers import free_port, stop
from tests.fixtures.library import LibraryEnv

LIMITED = {"CERTLEDGER_PUBLIC_RATE": "0.01", "CERTLEDGER_PUBLIC_BURST": "2"}


def _statuses(url: str, forwarded: list[str]) -> list[int]:
    with httpx.Client(base_url=url, timeout=30) as http:
        return [http.get("/verify/not-an-identifier", headers={"X-Forwarded-For": f}).status_code for f in forwarded]


def test_forwarded_headers_are_believed_only_from_configured_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CERTLEDGER_TRUSTED_PROXIES", raising=False)
    assert proxy_options() == {"proxy_headers": False, "forwarded_allow_ips": None}
    monkeypatch.setenv("CERTLEDGER_TRUSTED_PROXIES", "10.0.0.5,10.0.1.0/24")
    assert proxy_options() == {"proxy_headers": True, "forwarded_allow_ips": "10.0.0.5,10.0.1.0/24"}


def test_a_forwarded_header_does_not_bypass_the_limit(library_env: LibraryEnv, tmp_path: Path) -> None:
    if library_env.lib.engine.dialect.name != "sqlite":
        pytest.skip("the limit lives in the worker's memory: one database is enough")
    env = {k: v for k, v in library_env.env.items() if k != "CERTLEDGER_TRUSTED_PROXIES"}
    port = free_port()
    proc = start_api(port, {**env, **LIMITED}, tmp_path / "api.log")
    try:
        # four "different clients" forwarded from one (untrusted) address: one bucket, emptied after the burst
        assert _statuses(f"http://127.0.0.1:{port}", ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"]) == [422, 422, 429, 429]
    finally:
        stop(proc)
