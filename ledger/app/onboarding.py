"""Bringing organizations onto the ledger: chain accounts, seals, chain registration and API keys.

A department or association gets an encrypted chain account, a seal certificate from the city seal
authority (persisted in the seal registry) and a registration on chain that binds the account to
its credit code (hash) and seal fingerprint; that binding is what verifiers check. Counters only
verify, so they get API keys but no chain account. The platform organization holds admin keys and,
once activated, a chain account registered as the audit writer that anchors the access log (it
seals nothing, so it gets no seal and registers a zero seal fingerprint).

A seal's algorithm (P-256 or SM2) is chosen at activation; rotation and compromise are ``ledger.issue.seals``'.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.app.library import Library
from ledger.chain.contract import OrgKind
from ledger.core.errors import BadInput, Conflict, NotFound, Unauthorized
from ledger.core.text import clean_text
from ledger.core.uscc import validate_uscc
from ledger.storage import seals as seals_store
from ledger.storage.models import ApiKey, Organization, utcnow

log = logging.getLogger(__name__)

OrgKindName = Literal["department", "association", "counter"]
KINDS = ("department", "association", "counter")
CHAIN_KINDS = {"department": OrgKind.DEPARTMENT, "association": OrgKind.ASSOCIATION, "platform": OrgKind.AUDIT_WRITER}
SEALED_KINDS = frozenset({"department", "association"})
NO_SEAL = bytes(32)
SEAL_ALGORITHMS = ("p256", "sm2")
ROLES = frozenset({"admin", "department", "counter", "association"})
KEY_PREFIX = "clk_"


def key_prefix(key: str) -> str:
    """The part of an API key that is stored in clear, to name the key in lists and histories."""
    return key[:12]


def _by_uscc(session: Session, uscc: str) -> Organization | None:
    return session.execute(select(Organization).where(Organization.uscc == uscc)).scalar_one_or_none()


def create_organization(
    lib: Library,
    *,
    kind: OrgKindName,
    name: str,
    uscc: str,
    name_en: str | None = None,
    parent_id: int | None = None,
    seal_algorithm: str = "p256",
) -> Organization:
    """A new organization, activated on chain when it issues (department) or seals reports (association).

    A department the catalogue import created without keys is activated instead of refused.
    """
    if kind not in KINDS:
        raise BadInput("organization_kind_invalid", f"kind {kind!r} must be one of {list(KINDS)}")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise BadInput("organization_name_invalid", "name must be the organization's name, 1-200 characters")
    name = clean_text(name.strip(), "name")
    name_en = clean_text(name_en.strip(), "name_en") if isinstance(name_en, str) else name_en
    code = validate_uscc(uscc)
    with lib.sessions() as session, session.begin():
        existing = _by_uscc(session, code)
        if existing is not None:
            if existing.kind == kind == "department" and existing.keystore is None:
                org_id = existing.id
            else:
                raise Conflict(
                    "organization_exists",
                    f"an organization with credit code {code} already exists ({existing.name}, id {existing.id})",
                    org_id=existing.id,
                )
        else:
            if parent_id is not None and session.get(Organization, parent_id) is None:
                raise NotFound("organization_not_found", f"parent organization {parent_id} does not exist")
            org = Organization(kind=kind, name=name.strip(), name_en=name_en, uscc=code, parent_id=parent_id)
            session.add(org)
            session.flush()
            org_id = org.id
    if kind in CHAIN_KINDS:
        return activate_department(lib, org_id, seal_algorithm=seal_algorithm)
    return lib.organization(org_id)


def seal_algorithm_of(value: str) -> str:
    """``value`` if it names a seal algorithm the seal authority makes; BadInput otherwise."""
    if value not in SEAL_ALGORITHMS:
        raise BadInput("seal_algorithm_invalid", f"印章算法只能是 {' 或 '.join(SEAL_ALGORITHMS)} / the seal algorithm "
                       f"{value!r} must be one of {list(SEAL_ALGORITHMS)} (P-256 CMS seals or SM2 GB/T 38540 seals)")
    return value


def activate_department(lib: Library, org_id: int, *, seal_algorithm: str = "p256") -> Organization:
    """Give an existing department (or association) row its chain account, seal and chain registration.

    The platform organization gets a chain account and its registration as the audit writer, no seal.

    Idempotent step by step, so an activation interrupted half-way is finished by calling it again:
    the account is kept once made, the seal is issued once (``seal_algorithm``: "p256" or "sm2"),
    registration is skipped when on chain.
    """
    seal_algorithm_of(seal_algorithm)
    contract = lib.require_contract()
    org = lib.organization(org_id)
    if org.kind not in CHAIN_KINDS:
        raise BadInput("organization_kind_invalid", f"{org.name} is a {org.kind}; only departments, associations "
                       "and the platform get chain accounts")
    if org.keystore is None:
        address, keystore = lib.new_chain_account(org)
        with lib.sessions() as session, session.begin():
            row = session.get(Organization, org_id, with_for_update=True)
            if row.keystore is None:
                row.keystore, row.chain_address = keystore, address
        org = lib.organization(org_id)
    fingerprint = _seal_fingerprint(lib, org, seal_algorithm) if org.kind in SEALED_KINDS else NO_SEAL
    if contract.organization(org.chain_address) is None:
        contract.register_organization(lib.admin_account(), org.chain_address, CHAIN_KINDS[org.kind], org.uscc,
                                       fingerprint)
    log.info("organization activated", extra={"org_id": org_id, "uscc": org.uscc, "address": org.chain_address})
    return org


def _seal_fingerprint(lib: Library, org: Organization, algorithm: str) -> bytes:
    """The fingerprint of the organization's current seal certificate, issuing its first seal if it has none."""
    with lib.sessions() as session:
        serial = seals_store.current_serial(session, org.id)
    if serial is None:
        authority = lib.seal_authority()
        info = authority.issue_seal(org.name, org.uscc, algorithm=algorithm)
        with lib.sessions() as session, session.begin():
            seals_store.save_certificate(session, org.id, info, authority.registry.eseals.get(info.serial))
        lib.invalidate_seals()
        return seals_store.fingerprint(info.der)
    return seals_store.fingerprint(lib.seal_registry().certificate(serial).der)


def ensure_platform(lib: Library, name: str, uscc: str) -> Organization:
    """The platform organization (holder of admin API keys), created once."""
    code = validate_uscc(uscc)
    with lib.sessions() as session, session.begin():
        org = _by_uscc(session, code)
        if org is None:
            org = Organization(kind="platform", name=name, uscc=code)
            session.add(org)
        elif org.kind != "platform":
            raise Conflict("organization_exists", f"credit code {code} belongs to {org.name}, a {org.kind}")
    return org


def _key_hash(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


@dataclass(frozen=True)
class KeyOwner:
    """Who an API key speaks for: its organization, its roles, and the staff member when it is a person's key."""

    org: Organization
    roles: list[str]
    staff_id: str | None = None
    staff_name: str | None = None


def _staff(org: Organization, staff_id: str | None, staff_name: str | None) -> tuple[str | None, str | None]:
    """A staff member's ID and name, checked: both or neither, and only on a counter's key."""
    if staff_id is None and staff_name is None:
        return None, None
    if org.kind != "counter":
        raise BadInput("staff_key_not_counter", f"只有窗口的密钥可以指定工作人员 / only a counter's key names a staff "
                       f"member; {org.name} is a {org.kind}")
    ok = all(isinstance(v, str) and v.strip() and len(v) <= limit for v, limit in ((staff_id, 64), (staff_name, 100)))
    if not ok:
        raise BadInput("staff_invalid", "工作人员编号（1-64 字）和姓名（1-100 字）须同时填写 / a staff member's key needs "
                       "both staff_id (1-64 characters) and staff_name (1-100 characters)")
    return staff_id.strip(), staff_name.strip()


def create_api_key(lib: Library, org_id: int, roles: list[str], *, staff_id: str | None = None,
                   staff_name: str | None = None) -> str:
    """A new API key for the organization (a counter's may name the staff member who holds it); the plaintext is
    returned once and stored only as a hash."""
    if not roles or not set(roles) <= ROLES:
        raise BadInput("roles_invalid", f"roles {roles!r} must be a non-empty subset of {sorted(ROLES)}")
    org = lib.organization(org_id)
    allowed = {"platform": {"admin"}, "department": {"department"}, "association": {"association"},
               "counter": {"counter"}}[org.kind]
    if not set(roles) <= allowed:
        raise BadInput("roles_invalid", f"a {org.kind} can hold only the roles {sorted(allowed)}")
    staff_id, staff_name = _staff(org, staff_id, staff_name)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with lib.sessions() as session, session.begin():
        session.add(ApiKey(org_id=org_id, key_hash=_key_hash(key), prefix=key_prefix(key), roles=sorted(set(roles)),
                           staff_id=staff_id, staff_name=staff_name))
    log.info("api key created", extra={"org_id": org_id, "prefix": key_prefix(key), "roles": roles})
    return key


def authenticate(lib: Library, key: str) -> KeyOwner:
    """Who an API key speaks for; Unauthorized ``api_key_invalid`` otherwise (unknown, revoked, or its
    organization deactivated)."""
    if not isinstance(key, str) or not key.startswith(KEY_PREFIX):
        raise Unauthorized("api_key_invalid", "the API key is missing or malformed: send it in the X-API-Key header")
    with lib.sessions() as session:
        row = session.execute(
            select(ApiKey, Organization).join(Organization, Organization.id == ApiKey.org_id)
            .where(ApiKey.key_hash == _key_hash(key))
        ).one_or_none()
    if row is None or row.ApiKey.revoked_at is not None or not row.Organization.active:
        raise Unauthorized("api_key_invalid", "this API key is unknown or revoked: ask the platform admin for a new one")
    return KeyOwner(row.Organization, list(row.ApiKey.roles), row.ApiKey.staff_id, row.ApiKey.staff_name)


def list_api_keys(lib: Library, org_id: int) -> list[ApiKey]:
    """The organization's keys, revoked ones too (prefixes only: a key itself is never stored)."""
    lib.organization(org_id)
    with lib.sessions() as session:
        return list(session.scalars(select(ApiKey).where(ApiKey.org_id == org_id).order_by(ApiKey.id)))


def _active_key(session: Session, org_id: int, prefix: str) -> ApiKey:
    row = session.execute(
        select(ApiKey).where(ApiKey.org_id == org_id, ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
        .with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("api_key_not_found", f"该机构没有以 {prefix!r} 开头的有效密钥 / organization {org_id} has no active "
                       f"API key starting {prefix!r}", prefix=prefix)
    return row


def revoke_api_key(lib: Library, org_id: int, prefix: str) -> None:
    """Refuse the key from now on (each API worker forgets its cached answer within seconds)."""
    with lib.sessions() as session, session.begin():
        _active_key(session, org_id, prefix).revoked_at = utcnow()
    log.info("api key revoked", extra={"org_id": org_id, "prefix": prefix})


def rotate_api_key(lib: Library, org_id: int, prefix: str) -> str:
    """A new key with the same roles (and staff member) as the key ``prefix``, which is revoked in the same
    transaction; the new plaintext is returned once."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with lib.sessions() as session, session.begin():
        old = _active_key(session, org_id, prefix)
        old.revoked_at = utcnow()
        session.add(ApiKey(org_id=org_id, key_hash=_key_hash(key), prefix=key_prefix(key), roles=list(old.roles),
                           staff_id=old.staff_id, staff_name=old.staff_name))
    log.info("api key rotated", extra={"org_id": org_id, "prefix": prefix, "new_prefix": key_prefix(key)})
    return key
