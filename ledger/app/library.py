"""The library service context: everything an API worker, the CLI or the anchoring worker needs.

Built from configuration only. What it keeps in memory are caches (unlocked keys, the seal
registry, sealers), each safe to rebuild at any time, so any number of stateless workers can run
side by side over one database, chain and IPFS node.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from eth_account.signers.base import BaseAccount
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ledger.app.config import Settings, get_settings
from ledger.app.metrics import count_ipfs_error
from ledger.chain import keys
from ledger.chain.client import ChainClient
from ledger.chain.contract import Deployment, LedgerContract
from ledger.core.errors import Conflict, NotFound, ServiceUnavailable
from ledger.core.process_pool import ProcessPool
from ledger.documents.envelope import KeyRing, load_keyring
from ledger.documents.ipfs import IpfsStore
from ledger.documents.rendering import SealKey
from ledger.storage import seals as seals_store
from ledger.storage import trust as trust_store
from ledger.storage.engine import make_engine, session_factory
from ledger.storage.models import Organization
from ledger.storage.senders import sender_lock
from signer.authority import SealAuthority
from signer.keystore import PASSWORD_ENV, KeyStore
from signer.pkcs11_keystore import TOKEN_ENV, Pkcs11Token, keystore_from_env
from signer.record_seal import Sealer
from signer.registry import SealRegistry

log = logging.getLogger(__name__)

PLATFORM_SECRET_FILE = "platform-secret.key"
ADMIN_KEYSTORE = Path("keys") / "admin.json"
SEAL_REGISTRY_RECHECK_S = 1.0


class Library:
    """Database, chain, IPFS, document keys and seal keys, wired from one ``Settings``."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        chain: ChainClient,
        contract: LedgerContract | None,
        ipfs: IpfsStore,
        keyring: KeyRing,
        seal_keystore: KeyStore,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.sessions: sessionmaker[Session] = session_factory(engine)
        self.chain = chain
        self.contract = contract
        self.ipfs = ipfs
        self.keyring = keyring
        self.seal_keystore = seal_keystore
        self._lock = threading.Lock()
        self._registry: tuple[object, SealRegistry] | None = None
        self._registry_checked = 0.0
        self._sealers: dict[int, Sealer] = {}
        self._platform_secret: bytes | None = None
        self.workers = ProcessPool(settings.cpu_processes)  # sealing PDFs, preparing imported rows
        # chain keys in a PKCS#11 token when one is configured (CERTLEDGER_PKCS11_TOKEN), else keystores
        self.chain_token = Pkcs11Token.from_env() if os.environ.get(TOKEN_ENV) else None

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, engine: Engine | None = None) -> Library:
        settings = settings or get_settings()
        engine = engine or make_engine(settings.database)
        chain = ChainClient(
            settings.rpc_url,
            confirmations=settings.confirmations,
            receipt_timeout=settings.receipt_timeout,
            sender_lock=sender_lock(engine),
        )
        contract = None
        if settings.contract_address:
            contract = LedgerContract(chain, settings.contract_address)
        elif settings.deployment_file.exists():
            contract = LedgerContract(chain, Deployment.load(settings.deployment_file).address)
        return cls(
            settings,
            engine,
            chain,
            contract,
            IpfsStore(settings.ipfs_api, on_error=count_ipfs_error),
            load_keyring(settings.home),
            keystore_from_env(settings.home / "keys" / "seals",
                              {**os.environ, PASSWORD_ENV: settings.require_key_password()}),
        )

    def close(self) -> None:
        self.ipfs.close()
        self.workers.close()

    # ------------------------------------------------------------ secrets and accounts

    @property
    def platform_secret(self) -> bytes:
        """Key of the holder index HMAC: CERTLEDGER_PLATFORM_SECRET (hex), else a 0600 file made on first use."""
        if self._platform_secret is None:
            if self.settings.platform_secret_hex:
                try:
                    secret = bytes.fromhex(self.settings.platform_secret_hex)
                except ValueError:
                    secret = b""
                if len(secret) < 32:
                    raise ServiceUnavailable(
                        "platform_secret_invalid",
                        "CERTLEDGER_PLATFORM_SECRET must be at least 32 bytes written as hex "
                        "(make one with: python -c 'import secrets; print(secrets.token_hex(32))')",
                    )
            else:
                secret = _read_or_create_secret(self.settings.home / PLATFORM_SECRET_FILE)
            self._platform_secret = secret
        return self._platform_secret

    def admin_account(self, *, create: bool = False) -> BaseAccount:
        """The platform administrator's chain account (home/keys/admin.json: a keystore, or its token key's name)."""
        path = self.settings.home / ADMIN_KEYSTORE
        password = self.settings.require_key_password()
        if not path.exists():
            if not create:
                raise ServiceUnavailable(
                    "admin_key_missing",
                    f"no platform admin chain key at {path}: deploy the contract first (certledger up)",
                )
            _address, stored = keys.new_account(password, "chain-admin", token=self.chain_token,
                                                light=self.settings.light_kdf)
            _write_private(path, stored.encode())
        return keys.open_account(path.read_text(encoding="utf-8"), password, token=self.chain_token)

    def new_chain_account(self, org: Organization) -> tuple[str, str]:
        """(address, what to store) of a new chain account for ``org``: in the token when one is configured."""
        return keys.new_account(self.settings.require_key_password(), f"chain-{org.uscc}", token=self.chain_token,
                                light=self.settings.light_kdf)

    def org_account(self, org: Organization) -> BaseAccount:
        if not org.keystore:
            raise ServiceUnavailable(
                "organization_not_activated",
                f"{org.name} ({org.uscc}) has no chain account yet: activate it through the admin API",
                org_id=org.id,
            )
        return keys.open_account(org.keystore, self.settings.require_key_password(), token=self.chain_token)

    def require_contract(self) -> LedgerContract:
        if self.contract is None:
            raise ServiceUnavailable(
                "contract_not_deployed",
                "no ledger contract is configured: run certledger up, or set CERTLEDGER_CONTRACT_ADDRESS",
            )
        return self.contract

    def deploy(self) -> Deployment:
        """Deploy a new ledger contract from the admin account, save home/deployment.json and record it among the
        platform's deployments (the trust list keeps every one)."""
        contract, deployment = LedgerContract.deploy(self.chain, self.admin_account(create=True),
                                                     admin_delay=self.settings.admin_delay_s)
        deployment.save(self.settings.deployment_file)
        with self.sessions() as session, session.begin():
            trust_store.record_deployment(session, address=deployment.address, chain_id=deployment.chain_id,
                                          block_number=deployment.block_number, tx_hash=deployment.tx_hash)
        self.contract = contract
        log.info("ledger contract deployed", extra={"address": deployment.address, "chain_id": deployment.chain_id})
        return deployment

    # ------------------------------------------------------------ seals

    def seal_registry(self) -> SealRegistry:
        """The public seal trust data, cached until another process or this one changes it.

        The database is asked whether it changed at most every ``SEAL_REGISTRY_RECHECK_S`` seconds,
        so a seal revoked through another worker counts everywhere within that time; a change made
        through this Library counts at once (``invalidate_seals``).
        """
        now = time.monotonic()
        cached = self._registry
        if cached is not None and now - self._registry_checked < SEAL_REGISTRY_RECHECK_S:
            return cached[1]
        with self.sessions() as session:
            stamp = seals_store.registry_stamp(session)
            if cached is not None and cached[0] == stamp:
                self._registry_checked = now
                return cached[1]
            registry = seals_store.load_registry(session)
        if registry is None:
            raise ServiceUnavailable("seal_authority_missing", "the city seal authority is not set up yet: run certledger up")
        self._registry = (stamp, registry)
        self._registry_checked = now
        return registry

    def invalidate_seals(self) -> None:
        self._registry = None

    def seal_authority(self) -> SealAuthority:
        """The city seal authority; created on first use (root key in the seal key store, root in the DB)."""
        with self._lock, self.sessions() as session, session.begin():
            registry = seals_store.load_registry(session)
            if registry is None:
                authority = SealAuthority.create(self.seal_keystore)
                seals_store.save_root(session, authority.registry.root_der)
                return authority
        # A private copy: the authority adds to its registry, which must not change the shared cache.
        return SealAuthority(self.seal_keystore, registry)

    def _current_serial(self, org_id: int) -> int:
        """The organization's current seal; Conflict ``seal_compromised`` once it was reported compromised: from
        that moment nothing is sealed with it until a new seal is rotated in."""
        with self.sessions() as session:
            serial = seals_store.current_serial(session, org_id)
        if serial is None:
            raise ServiceUnavailable("organization_has_no_seal", f"organization {org_id} has no seal: activate it first")
        compromised = self.seal_registry().revocations.get(serial)
        if compromised is not None:
            raise Conflict("seal_compromised", "印章已报告泄露，请先更换印章 / the seal was reported compromised "
                           f"(at {compromised.isoformat()}): rotate the seal first (POST /admin/organizations/{org_id}"
                           "/seals/rotate), then issue again", org_id=org_id, serial=f"{serial:x}")
        return serial

    def sealer(self, org_id: int) -> Sealer:
        """The record sealer of the organization's current seal (cached per seal certificate)."""
        serial = self._current_serial(org_id)
        sealer = self._sealers.get(serial)
        if sealer is None:
            sealer = Sealer.load(self.seal_keystore, self.seal_registry(), serial)
            self._sealers[serial] = sealer
        return sealer

    def seal_key(self, org_id: int) -> SealKey:
        """What a document worker process needs to open the organization's current seal key itself."""
        registry = self.seal_registry()
        cert = registry.certificate(self._current_serial(org_id))
        return SealKey(self.seal_keystore, cert.der, registry.root_der)

    def organization(self, org_id: int) -> Organization:
        with self.sessions() as session:
            org = session.get(Organization, org_id)
        if org is None:
            raise NotFound("organization_not_found", f"no organization has id {org_id}")
        return org


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _read_or_create_secret(path: Path) -> bytes:
    try:
        _write_private(path, os.urandom(32))
        log.info("platform secret created", extra={"path": str(path)})
    except FileExistsError:
        pass  # made earlier, or by another process just now
    secret = path.read_bytes()
    if len(secret) != 32:
        raise ServiceUnavailable("platform_secret_invalid", f"{path} must hold exactly 32 bytes; it holds {len(secret)}")
    return secret
