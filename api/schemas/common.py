"""What every schema shares: the base model, errors, examples, anchor and document references.

The API's request and response models (this package) are the OpenAPI schema, with an example for each.

Field names are the English GB/T 36903 names (``ledger.core.metadata.COMMON_FIELDS``); the Chinese
label of each is in its description. Domain rules (identifier check characters, a type's field
schema, holder ID check digits) are enforced by the ledger, so their errors keep specific codes.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

EXAMPLE_TYPE_CODE = "114301007463904398001"
EXAMPLE_DEPARTMENT = "114301007463904398"
EXAMPLE_IDENTIFIER = "1.2.156.3005.2.114301007463904398001.114301007463904398.20250000001.001.X"
EXAMPLE_HOLDER_USCC = "11430100303989522P"
EXAMPLE_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
EXAMPLE_HASH = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

Role = Literal["admin", "department", "counter", "association"]
OrgKind = Literal["department", "association", "counter"]
CheckStatus = Literal["VALID", "INVALID", "SKIPPED", "ERROR", "PENDING"]  # PENDING: a verdict only
AnchorStatus = Literal["queued", "pending", "anchored"]


INT64_MAX = 2**63 - 1  # ids and paging cursors: what the database's BIGINT holds (larger ones are 422, not 500)


def _zoned(value: dt.datetime) -> dt.datetime:
    """A time without a zone is UTC (SQLite keeps none); every time the API shows or takes carries its zone."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


UtcTime = Annotated[dt.datetime, AfterValidator(_zoned)]

_WHOLE_NUMBER = re.compile(r"-?[0-9]+")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _written_whole_number(value: Any) -> Any:
    """A query's integer as its schema writes one: pydantic alone also takes ``1.0``, ``+1``, `` 1`` and ``1_000``."""
    if isinstance(value, str) and not _WHOLE_NUMBER.fullmatch(value):
        raise PydanticCustomError("integer_invalid", "an integer is written in digits only, e.g. 42")
    return value


def _written_date(value: Any) -> Any:
    """A query's date as its schema writes one (YYYY-MM-DD): pydantic alone also takes a number (Unix time) or a
    date and time at midnight."""
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise PydanticCustomError("date_invalid", "a date is written YYYY-MM-DD, e.g. 2026-01-31")
    return value


# Query parameters arrive as text; these go after a parameter's Query(...), which keeps its bounds in the schema.
WHOLE_NUMBER = BeforeValidator(_written_whole_number)
ISO_DATE = BeforeValidator(_written_date)


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors ---


class ErrorInfo(Model):
    code: str = Field(description="machine-readable snake_case code", examples=["certificate_duplicate"])
    message: str = Field(description="what went wrong and how to fix it")
    details: dict[str, Any] = Field(default_factory=dict, description="structured context (field, allowed values...)")


class ErrorResponse(Model):
    """Every 4xx/5xx answer has this shape."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"error": {
            "code": "field_missing",
            "message": "fields.legal_representative (法定代表人（负责人、经营者）) is required for this certificate type",
            "details": {"field": "fields.legal_representative"},
        }}]},
    )
    error: ErrorInfo


class DocumentRef(Model):
    cid: str = Field(description="IPFS CID of the stored (encrypted) document", examples=[EXAMPLE_CID])
    sha256: str = Field(description="SHA-256 (hex) of the plaintext sealed PDF", examples=[EXAMPLE_HASH])


def hex0x(value: bytes | None) -> str | None:
    """Bytes as the API shows them: 0x-prefixed hex."""
    return None if value is None else "0x" + value.hex()


class AnchorInfo(Model):
    batch_id: int | None = None
    status: AnchorStatus
    root: str | None = Field(None, description="Merkle root (hex)")
    tx_hash: str | None = None
    block_number: int | None = None
    anchored_at: UtcTime | None = None

    @classmethod
    def of(cls, batch: Any) -> AnchorInfo:
        """Where an item's batch stands (``queued`` while no batch has claimed it)."""
        if batch is None:
            return cls(status="queued")
        return cls(batch_id=batch.id, status=batch.status, root=hex0x(batch.root), tx_hash=hex0x(batch.tx_hash),
                   block_number=batch.block_number, anchored_at=batch.block_time)


StatusAction = Literal["suspend", "reinstate", "revoke", "cancel", "withdraw"]


BUNDLE_EXAMPLE: dict[str, Any] = {
    "format": "certledger/bundle/1",
    "identifier": EXAMPLE_IDENTIFIER,
    "record": {"format": "certledger/record/1", "identifier": EXAMPLE_IDENTIFIER, "...": "..."},
    "seal": {"format": "cms", "der": "MIIG..."},
    "leaf": "0x" + EXAMPLE_HASH,
    "root": "0x" + EXAMPLE_HASH,
    "proof": ["0x" + EXAMPLE_HASH],
    "chain": {"chain_id": 31337, "contract": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
              "tx_hash": "0x" + EXAMPLE_HASH, "block_number": 42, "anchored_at": "2025-03-01T08:00:05+00:00"},
    "trust": {"city_root_pem": "-----BEGIN CERTIFICATE-----...", "seal_certificate_pem": "-----BEGIN CERTIFICATE-----..."},
    "document": {"cid": EXAMPLE_CID, "sha256": EXAMPLE_HASH},
    "exported_at": "2025-03-02T09:00:00+00:00",
}


