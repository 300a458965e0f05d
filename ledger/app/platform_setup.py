"""A new platform (``certledger init``, and ``up`` before its demo data): each step done once, and reported.

1. database schema: the migrations, up to this release's;
2. catalogue: departments, certificate types and service items of the packaged catalogue;
3. city seal root: the root key and certificate of the city seal authority. **Needs the city root**: in
   production the root is made in the offline key ceremony (docs/deployment.md, "Key ceremony"); today the
   service makes it here and keeps it in ``CERTLEDGER_HOME/keys/seals``, encrypted with the key password;
4. platform admin chain key (``keys/admin.json``, or a key in the PKCS#11 token): deploys the contract and
   registers organisations;
5. platform organisation: holder of the admin API keys;
6. audit writer: the platform's chain account, registered on chain to anchor the holders' access log. Needs
   the contract (``certledger deploy``): until then the step waits and ``init`` says to run it again;
7. a first admin API key, printed once, when the platform has none.

Every step is idempotent: running ``init`` again reports each as ``already`` done. Seal certificates for
departments and the trust list also need the city root; they come later (``activate``, ``trust export``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from ledger.app import onboarding
from ledger.app.library import ADMIN_KEYSTORE, Library
from ledger.core.catalogue import CITY_DIVISION
from ledger.core.uscc import derive_uscc
from ledger.storage import seals as seals_store
from ledger.storage.catalogue import import_catalogue
from ledger.storage.engine import migrate, schema_revisions
from ledger.storage.models import ApiKey

PLATFORM_NAME = "市电子证照库平台"
PLATFORM_USCC = derive_uscc("platform:certledger", division=CITY_DIVISION, prefix="12")


@dataclass(frozen=True)
class Step:
    name: str
    outcome: str  # done | already | waiting
    detail: str
    needs_root: bool = False


def _schema(lib: Library) -> Step:
    before, head = schema_revisions(lib.engine)
    if before == head:
        return Step("database schema", "already", f"at migration {head}")
    migrate(lib.engine)
    return Step("database schema", "done", f"migrated from {before or 'an empty database'} to {head}")


def _catalogue(lib: Library) -> Step:
    with lib.sessions() as session:
        stats = import_catalogue(session)
    return Step("catalogue", "done", f"{stats.departments} departments, {stats.certificate_types} certificate types, "
                f"{stats.service_items} service items (kept up to date)")


def _city_root(lib: Library) -> Step:
    with lib.sessions() as session:
        existed = seals_store.load_registry(session) is not None
    root = lib.seal_authority().registry.root_der
    detail = f"root certificate SHA-256 {hashlib.sha256(root).hexdigest()}"
    return Step("city seal root", "already" if existed else "done", detail, needs_root=True)


def _admin_key(lib: Library) -> Step:
    existed = (lib.settings.home / ADMIN_KEYSTORE).exists()
    account = lib.admin_account(create=True)
    return Step("platform admin chain key", "already" if existed else "done", f"account {account.address}")


def setup_platform(lib: Library, name: str = PLATFORM_NAME, uscc: str = PLATFORM_USCC, *,
                   admin_key: bool = True, report: Callable[[Step], None] | None = None) -> list[Step]:
    """Run the steps of the module in order; ``report`` sees each as it ends. ``admin_key`` False: no API key
    (the local stack makes its own demo keys)."""
    steps: list[Step] = []

    def done(step: Step) -> None:
        steps.append(step)
        if report is not None:
            report(step)

    for step in (_schema, _catalogue, _city_root, _admin_key):
        done(step(lib))
    platform = onboarding.ensure_platform(lib, name, uscc)
    done(Step("platform organisation", "done", f"{platform.name} ({platform.uscc}), id {platform.id}"))
    if lib.contract is None:
        done(Step("audit writer", "waiting", "no contract yet: run `certledger deploy`, then `certledger init` again"))
    else:
        had = platform.chain_address is not None and lib.contract.organization(platform.chain_address) is not None
        platform = onboarding.activate_department(lib, platform.id)
        done(Step("audit writer", "already" if had else "done", f"account {platform.chain_address} registered in "
                  f"{lib.contract.address}"))
    if admin_key:
        done(_first_admin_key(lib, platform.id))
    return steps


def _first_admin_key(lib: Library, platform_id: int) -> Step:
    with lib.sessions() as session:
        held = session.scalar(select(ApiKey.prefix).where(ApiKey.org_id == platform_id, ApiKey.revoked_at.is_(None)))
    if held is not None:
        return Step("admin API key", "already", f"the platform holds key {held}… (shown once when made)")
    key = onboarding.create_api_key(lib, platform_id, ["admin"])
    return Step("admin API key", "done", f"{key}  (shown once: keep it now)")
