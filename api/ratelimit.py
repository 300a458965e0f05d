"""Per-client-address token buckets for the public (keyless) routes.

Buckets live in the worker's memory: like a cache, losing them (restart, another worker) only
refills them, so workers stay stateless. With N workers a client gets at most N times the rate.
The client address is the connection's peer as uvicorn reports it; ``X-Forwarded-For`` replaces it only when the
peer is one of ``CERTLEDGER_TRUSTED_PROXIES`` (``api.serve.proxy_options``), so no client picks its own bucket.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from typing import Any

from fastapi import Request

from ledger.core.errors import CertledgerError


class RateLimited(CertledgerError):
    http_status = 429

    def __init__(self, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(
            "rate_limited",
            f"too many requests from this address; retry after {seconds} s "
            "(counters and departments use their API key routes, which are not rate-limited)",
            retry_after_s=seconds,
        )
        self.headers = {"Retry-After": str(seconds)}


class TokenBuckets:
    """``rate`` tokens per second, at most ``burst`` saved, per key; the oldest keys are forgotten."""

    def __init__(self, rate: float, burst: int, max_keys: int = 100_000, clock: Any = time.monotonic) -> None:
        self.rate, self.burst, self.max_keys, self.clock = rate, burst, max_keys, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token; returns 0 when granted, else the seconds until one is available."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait


def public_rate_limit(request: Request) -> None:
    """Dependency of the public routes: 429 ``rate_limited`` with Retry-After when the bucket is empty."""
    client = request.client.host if request.client else "unknown"
    wait = request.app.state.public_buckets.take(client)
    if wait > 0:
        raise RateLimited(wait)
