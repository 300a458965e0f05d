"""The ledger's tables.

Personal data: a holder's name and ID number live only inside a certificate's ``metadata`` JSON;
``holder_key`` (HMAC-SHA256 under the platform secret, see ``ledger.core.metadata.holder_key``) is what
lookups use. Neither goes on chain or to IPFS. How rows get in fast (``ledger.storage.bulk``) and how
anchored items are queued and batched (``ledger.storage.outbox``) live beside this module.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, MetaData,
                        String, Text, UniqueConstraint, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ledger.core.record import certificate_metadata, record_leaf
from ledger.storage.record_text import RecordText

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Json = JSON().with_variant(JSONB(), "postgresql")
Hash32 = LargeBinary(32)
Address = String(42)  # 0x-prefixed, EIP-55 checksummed


def dump_json(value: Any) -> str:
    """How JSON columns are written: compact UTF-8 (Chinese text stays readable and short)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored time as an aware UTC datetime (SQLite hands back timezone columns naive)."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Organization(Base):
    """A department, association, counter or the platform itself."""

    __tablename__ = "organizations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # department | association | counter | platform
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))  # a counter's department
    chain_address: Mapped[str | None] = mapped_column(Address, unique=True)
    keystore: Mapped[str | None] = mapped_column(Text)  # encrypted JSON keystore
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CertificateType(Base):
    """One entry of the catalogue: what a certificate of this type must carry and for how long."""

    __tablename__ = "certificate_types"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(21), unique=True)  # defining department's USCC + 3 digits
    seq: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    name_en: Mapped[str | None] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    holder_kind: Mapped[str] = mapped_column(String(16))  # natural_person | legal_entity | both
    validity_years: Mapped[int | None] = mapped_column(Integer)  # None: no fixed term
    fields: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    template: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ServiceItem(Base):
    """A government service (政务服务事项) whose applications take certificates as materials."""

    __tablename__ = "service_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    holder_kind: Mapped[str] = mapped_column(String(16))


class ServiceMaterial(Base):
    __tablename__ = "service_materials"
    __table_args__ = (UniqueConstraint("service_item_id", "position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    certificate_type_id: Mapped[int | None] = mapped_column(ForeignKey("certificate_types.id"), index=True)
    required: Mapped[bool] = mapped_column(Boolean)


class Batch(Base):
    """A Merkle batch of leaves anchored by one transaction (see the module's outbox protocol)."""

    __tablename__ = "batches"
    __table_args__ = (Index("ix_batches_status_id", "status", "id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # certificate | report | access_log
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    root: Mapped[bytes] = mapped_column(Hash32, unique=True)
    leaf_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | anchored
    tx_hash: Mapped[bytes | None] = mapped_column(Hash32)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    block_time: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # the outbox ids it claimed first and last: its outbox rows are found between them (ledger.storage.outbox)
    outbox_first_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    outbox_last_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))


class Certificate(Base):
    """One issued certificate version; ``record`` is the canonical JSON that the seal signs. Written once."""

    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("issuer_org_id", "type_code", "number", "version"),
        UniqueConstraint("issuer_org_id", "status_index"),
        Index("ix_certificates_issuer_org_id_id", "issuer_org_id", "id"),  # a department's list, newest first
        # partial: most certificates (all imported ones) are first versions without a PDF (migration 0019)
        *(Index(f"ix_certificates_{c}", c, sqlite_where=text(f"{c} IS NOT NULL"), postgresql_where=text(f"{c} IS NOT NULL"))
          for c in ("supersedes_id", "document_digest")),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(96), unique=True)
    type_code: Mapped[str] = mapped_column(ForeignKey("certificate_types.code"))
    issuer_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    number: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    holder_key: Mapped[bytes] = mapped_column(Hash32, index=True)
    status: Mapped[str] = mapped_column(String(2), default="01")
    issued_on: Mapped[dt.date] = mapped_column(Date)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    record: Mapped[str] = mapped_column(RecordText)  # stored once, packed: meta, salt and leaf are read from it
    record_seal: Mapped[bytes] = mapped_column(LargeBinary)  # as signer.compact_seal stores it beside its record
    document_cid: Mapped[str | None] = mapped_column(String(100))
    document_digest: Mapped[bytes | None] = mapped_column(Hash32)  # a PDF handed in, found by digest (partial index)
    document_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    # the version this one replaced; indexed for "is this version replaced?" (holder lists, intake)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    # its bit in the issuer's Bitstring status lists (ledger.credentials.status_lists), stable once given
    status_index: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def meta(self) -> dict[str, Any]:
        """The GB/T 36903 metadata, a view of the sealed record (``ledger.core.record.certificate_metadata``)."""
        return certificate_metadata(json.loads(self.record))

    @property
    def leaf(self) -> bytes:
        """Its Merkle leaf, derived from the record (migration 0020); its batch and proof: certificate_anchors."""
        return record_leaf(self.record.encode())


class CertificateEvent(Base):
    """One lifecycle event of a certificate version (ledger.issue.changes); ``status`` is the status after it."""

    __tablename__ = "certificate_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    certificate_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("certificates.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # suspend | reinstate | revoke | ... | renew | amend | supersede
    status: Mapped[str] = mapped_column(String(2))
    reason: Mapped[str | None] = mapped_column(Text)
    reason_code: Mapped[int] = mapped_column(Integer, default=0)  # the code sent on chain
    actor_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    actor: Mapped[str | None] = mapped_column(String(64))  # API key prefix, or "cli"
    related_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("certificates.id"))  # the other version
    tx_hash: Mapped[bytes | None] = mapped_column(Hash32)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReportSummary(Base):
    """A report summary an association submitted (ledger.issue.reports); ``record`` is what its seal signs.

    ``document_digest`` is the SHA-256 of the report document, which is stored (encrypted, in IPFS)
    only when the association sent it.
    """

    __tablename__ = "report_summaries"
    __table_args__ = (UniqueConstraint("association_org_id", "number"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(100), unique=True)  # RS.<association USCC>.<number>
    association_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(200))
    number: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(50), index=True)
    issuing_body: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    report_date: Mapped[dt.date] = mapped_column(Date, index=True)
    conclusion: Mapped[str] = mapped_column(Text)
    catalogue: Mapped[list[Any]] = mapped_column(Json)
    document_digest: Mapped[bytes] = mapped_column(Hash32, index=True)
    document_cid: Mapped[str | None] = mapped_column(String(100))
    document_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    record: Mapped[str] = mapped_column(Text)
    salt: Mapped[str] = mapped_column(String(64))
    record_seal: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(2), default="01")
    leaf: Mapped[bytes] = mapped_column(Hash32)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    leaf_index: Mapped[int | None] = mapped_column(Integer)
    proof: Mapped[bytes | None] = mapped_column(LargeBinary)  # concatenated 32-byte siblings
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AnchorOutbox(Base):
    """A leaf waiting to be anchored; ``batch_id`` and ``leaf_index`` are set when a worker claims it.

    ``kind`` names the anchored table ``item_id`` points into (``ledger.storage.outbox.ANCHORED_ITEMS``). Only that
    module writes it (no foreign keys) and nothing indexes what a claim sets: a HOT update (migration 0020).
    """

    __tablename__ = "anchor_outbox"
    __table_args__ = (
        Index("ix_anchor_outbox_queue", "kind", "org_id", "id"),
        {"postgresql_with": {"fillfactor": 50}},
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    org_id: Mapped[int] = mapped_column(Integer)  # an organizations.id
    leaf: Mapped[bytes] = mapped_column(Hash32)
    item_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))  # in outbox.ANCHORED_ITEMS[kind]
    batch_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))  # a batches.id
    leaf_index: Mapped[int | None] = mapped_column(Integer)
    # SHA-256 of the seal certificate the item was sealed with (NULL: unsealed): a batch holds leaves of one
    # seal, anchored only while that seal is the organization's current one on chain
    seal_fingerprint: Mapped[bytes | None] = mapped_column(Hash32)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class UseCode(Base):
    """A holder's consent to one use of their certificates (用证码): short-lived, single-use.

    Only an HMAC of the code is stored (``ledger.holders.usecodes``), so the table cannot be replayed at a counter.
    """

    __tablename__ = "use_codes"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    code_hash: Mapped[bytes] = mapped_column(Hash32, unique=True)
    holder_key: Mapped[bytes] = mapped_column(Hash32, index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AccessLogEntry(Base):
    """One use of a holder's certificates at a counter; anchored by the platform's audit writer.

    ``record`` is the canonical JSON (with a random ``salt``) whose leaf is anchored, so the leaf
    reveals nothing and the row cannot be changed unnoticed (``ledger.holders.accesslog``).
    """

    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    intake_id: Mapped[str] = mapped_column(String(32), unique=True)  # an intake's id, or a share opening's
    counter_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    staff_id: Mapped[str | None] = mapped_column(String(64))
    service_item_code: Mapped[str | None] = mapped_column(String(40))
    case_number: Mapped[str | None] = mapped_column(String(64))
    holder_key: Mapped[bytes] = mapped_column(Hash32, index=True)
    certificates: Mapped[list[str]] = mapped_column(Json)  # identifiers shown to the counter (or the link's reader)
    use_code_id: Mapped[int | None] = mapped_column(ForeignKey("use_codes.id"), unique=True)
    share_link_id: Mapped[int | None] = mapped_column(ForeignKey("share_links.id"))  # set for a share opening
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    record: Mapped[str] = mapped_column(Text)
    salt: Mapped[str] = mapped_column(String(64))
    leaf: Mapped[bytes] = mapped_column(Hash32)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    leaf_index: Mapped[int | None] = mapped_column(Integer)
    proof: Mapped[bytes | None] = mapped_column(LargeBinary)  # concatenated 32-byte siblings


class StatusListCounter(Base):
    """Next status-list index per issuing department (one row update per issuance call)."""

    __tablename__ = "status_list_counters"
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    next_index: Mapped[int] = mapped_column(Integer, default=0)


class StatusListSnapshot(Base):
    """One state of a department's status list (revocation or suspension): the SHA-256 of its bitstring in a
    small record anchored like a certificate, so a list cannot be rewritten silently."""

    __tablename__ = "status_list_snapshots"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(100), unique=True)  # SL.<credit code>.<purpose>.<sequence>
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    digest: Mapped[bytes] = mapped_column(Hash32)
    record: Mapped[str] = mapped_column(Text)
    leaf: Mapped[bytes] = mapped_column(Hash32)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    leaf_index: Mapped[int | None] = mapped_column(Integer)
    proof: Mapped[bytes | None] = mapped_column(LargeBinary)  # concatenated 32-byte siblings
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ShareLink(Base):
    """A holder's link showing one certificate (all its fields, or those chosen) to whoever opens it, until it
    expires or is revoked. Only a hash of the link's token is stored (``ledger.holders.sharing``)."""

    __tablename__ = "share_links"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(Hash32, unique=True)
    holder_key: Mapped[bytes] = mapped_column(Hash32, index=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"))
    fields: Mapped[list[str] | None] = mapped_column(Json)  # None: every field
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class SerialCounter(Base):
    """Next identifier serial per (type, issuer, year): one row update per allocated block."""

    __tablename__ = "serial_counters"
    type_code: Mapped[str] = mapped_column(String(21), primary_key=True)
    issuer_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_value: Mapped[int] = mapped_column(BigInteger, default=1)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    key_hash: Mapped[bytes] = mapped_column(Hash32, unique=True)  # SHA-256 of the key
    prefix: Mapped[str] = mapped_column(String(16))
    roles: Mapped[list[str]] = mapped_column(Json)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    staff_id: Mapped[str | None] = mapped_column(String(64))  # a counter staff member's own key: who looked
    staff_name: Mapped[str | None] = mapped_column(String(100))


class HolderRevocation(Base):
    """Every holder token of this holder issued at or before ``revoked_at`` is refused (``ledger.holders.tokens``)."""

    __tablename__ = "holder_revocations"
    holder_key: Mapped[bytes] = mapped_column(Hash32, primary_key=True)
    revoked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


# --- chain index (written by ledger.chain.indexer) ---


class ChainEvent(Base):
    __tablename__ = "chain_events"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    log_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[bytes] = mapped_column(Hash32)
    event: Mapped[str] = mapped_column(String(64))
    args: Mapped[dict[str, Any]] = mapped_column(Json)


class IndexerCursor(Base):
    __tablename__ = "indexer_cursors"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_block: Mapped[int] = mapped_column(BigInteger)


class ChainAnchor(Base):
    __tablename__ = "chain_anchors"
    issuer: Mapped[str] = mapped_column(Address, primary_key=True)
    root: Mapped[bytes] = mapped_column(Hash32, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    leaf_count: Mapped[int] = mapped_column(Integer)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # the issuer's seal current at the event (as anchorOf tells it); NULL: indexed before revision 0021, or the
    # issuer's registration was not indexed
    seal_fingerprint: Mapped[bytes | None] = mapped_column(Hash32)


class ChainLeafStatus(Base):
    __tablename__ = "chain_leaf_status"
    issuer: Mapped[str] = mapped_column(Address, primary_key=True)
    root: Mapped[bytes] = mapped_column(Hash32, primary_key=True)
    leaf: Mapped[bytes] = mapped_column(Hash32, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(200))
    block_number: Mapped[int] = mapped_column(BigInteger)


class ChainOrg(Base):
    __tablename__ = "chain_orgs"
    address: Mapped[str] = mapped_column(Address, primary_key=True)
    uscc_hash: Mapped[bytes] = mapped_column(Hash32, index=True)
    seal_fingerprint: Mapped[bytes | None] = mapped_column(Hash32)
    role: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean)
    updated_block: Mapped[int] = mapped_column(BigInteger)


# --- who sends, and what a verifier trusts ---


class ChainSender(Base):
    """One row per sending account: its row lock (PostgreSQL) or the write lock (SQLite) is held around nonce
    allocation and the send, so processes sending for one account never take the same nonce."""

    __tablename__ = "chain_senders"
    address: Mapped[str] = mapped_column(Address, primary_key=True)
    locked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class LedgerDeployment(Base):
    """Every genuine CertLedger deployment of this platform: a redeploy adds one; bundles naming an earlier one
    keep verifying (they are on the trust list)."""

    __tablename__ = "ledger_deployments"
    address: Mapped[str] = mapped_column(Address, primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TrustListRow(Base):
    """A published trust list (its canonical JSON and the city root's seal over it); the newest is served."""

    __tablename__ = "trust_lists"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    seal: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- the long-running workers ---


class WorkerHeartbeat(Base):
    """One row per worker process (anchoring worker, indexer), written every few seconds: what it is doing, and
    whether its rounds fail, with what error and since when (``ledger.storage.heartbeats``; read by ``/readyz``
    and ``/metrics``)."""

    __tablename__ = "worker_heartbeats"
    name: Mapped[str] = mapped_column(String(160), primary_key=True)  # kind@host:pid
    kind: Mapped[str] = mapped_column(String(32), index=True)
    host: Mapped[str] = mapped_column(String(120))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    beat_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16))  # running | failing | stopped
    failing_since: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(Json)


class KeyFailure(Base):
    """One refused attempt by an API key that may be guessing: a wrong use code, an unknown certificate identifier
    (``ledger.holders.attempts``). Kept in the database so that every stateless API worker counts the same
    attempts; rows older than the window are deleted as new ones come."""

    __tablename__ = "key_failures"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key_prefix: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_key_failures_key_prefix_kind_at", "key_prefix", "kind", "at"),)


# --- tables by name, for Core statements ---

CERTIFICATES = Certificate.__table__
OUTBOX = AnchorOutbox.__table__
BATCHES = Batch.__table__
REPORT_SUMMARIES = ReportSummary.__table__
ACCESS_LOG = AccessLogEntry.__table__
