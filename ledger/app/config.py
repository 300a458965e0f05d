"""Configuration from the environment, so that API workers stay stateless and one image runs anywhere.

Every setting has a local-stack default; production points the same code at a permissioned chain's
JSON-RPC endpoint, a Kubo RPC API (behind IPFS Cluster) and PostgreSQL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HOME_ENV = "CERTLEDGER_HOME"


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _home() -> Path:
    return Path(_env(HOME_ENV, str(REPO_ROOT / "var"))).resolve()


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=_home)
    rpc_url: str = field(default_factory=lambda: _env("CERTLEDGER_RPC_URL", "http://127.0.0.1:8545"))
    confirmations: int = field(default_factory=lambda: int(_env("CERTLEDGER_CONFIRMATIONS", "0")))
    receipt_timeout: float = field(default_factory=lambda: float(_env("CERTLEDGER_RECEIPT_TIMEOUT", "120")))
    contract_address: str | None = field(default_factory=lambda: os.environ.get("CERTLEDGER_CONTRACT_ADDRESS"))
    database_url: str | None = field(default_factory=lambda: os.environ.get("DATABASE_URL"))
    ipfs_api: str = field(default_factory=lambda: _env("CERTLEDGER_IPFS_API", "/ip4/127.0.0.1/tcp/5001/http"))
    key_password: str | None = field(default_factory=lambda: os.environ.get("CERTLEDGER_KEY_PASSWORD"))
    light_kdf: bool = field(default_factory=lambda: _env("CERTLEDGER_LIGHT_KDF", "0") == "1")
    platform_secret_hex: str | None = field(default_factory=lambda: os.environ.get("CERTLEDGER_PLATFORM_SECRET"))
    # processes that seal PDFs and prepare imported rows (default: one per core); 1 keeps that work in process
    cpu_processes: int = field(default_factory=lambda: int(_env("CERTLEDGER_CPU_PROCESSES", str(os.cpu_count() or 1))))
    batch_max_leaves: int = field(default_factory=lambda: int(_env("CERTLEDGER_BATCH_MAX_LEAVES", "10000")))
    batch_max_age_s: float = field(default_factory=lambda: float(_env("CERTLEDGER_BATCH_MAX_AGE_S", "30")))
    # Seconds a new platform administrator waits before accepting an admin transfer on a new deployment
    # (two-step transfer, AccessControlDefaultAdminRules): 0 for the local chain, days in production.
    admin_delay_s: int = field(default_factory=lambda: int(_env("CERTLEDGER_ADMIN_DELAY_S", "0")))
    public_url: str = field(default_factory=lambda: _env("CERTLEDGER_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"))
    # The JSON-RPC endpoint browsers verify against (the public page's own verification, verifier-js): a node
    # that answers eth_call and eth_chainId to anyone, with CORS; empty: the platform's own rpc_url.
    public_rpc_url: str = field(default_factory=lambda: _env("CERTLEDGER_PUBLIC_RPC_URL", ""))

    @property
    def database(self) -> str:
        """``DATABASE_URL``, else an SQLite file under CERTLEDGER_HOME (the repo's ``var/`` by default)."""
        return self.database_url or f"sqlite:///{self.home / 'certledger.db'}"

    @property
    def deployment_file(self) -> Path:
        return self.home / "deployment.json"

    def require_key_password(self) -> str:
        from ledger.core.errors import ServiceUnavailable

        if not self.key_password:
            raise ServiceUnavailable(
                "key_password_missing",
                "CERTLEDGER_KEY_PASSWORD is not set: private keys are stored encrypted and need it "
                "(./dev up sets a local one in var/.env)",
            )
        return self.key_password


STACK_ENV_FILE = ".env"


def read_env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines of an environment file (``#`` comments skipped); empty if there is none."""
    if not path.is_file():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines()
             if "=" in line and not line.lstrip().startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def adopt_stack_environment(home: Path) -> None:
    """Take the settings ``certledger up`` wrote in ``home/.env`` (key password, node addresses) for every name the
    environment does not set, so any command run beside a local stack reaches the same stack."""
    for name, value in read_env_file(home / STACK_ENV_FILE).items():
        os.environ.setdefault(name, value)


def get_settings() -> Settings:
    return Settings()
