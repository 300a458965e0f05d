"""HTTP-only settings (body limit, public rate limit), read from the environment like ledger.app.config."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

MB = 1024 * 1024


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, str(default)))


@dataclass(frozen=True)
class ApiSettings:
    """``max_body_bytes`` bounds every request body (multipart overhead included)."""

    max_body_bytes: int = field(default_factory=lambda: _int("CERTLEDGER_MAX_BODY_BYTES", 50 * MB))
    public_rate: float = field(default_factory=lambda: _float("CERTLEDGER_PUBLIC_RATE", 5.0))
    public_burst: int = field(default_factory=lambda: _int("CERTLEDGER_PUBLIC_BURST", 20))
    public_max_clients: int = field(default_factory=lambda: _int("CERTLEDGER_PUBLIC_MAX_CLIENTS", 100_000))
