"""Stored certificates as the verifier reads them: a row and its batch, and the proof bundle built from them.
"""

from __future__ import annotations

import base64
import json
import logging
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select

from ledger.core.errors import Conflict, NotFound
from ledger.core.identifiers import parse_identifier
from ledger.core.merkle import split_proof
from ledger.core.record import record_leaf
from ledger.storage.certificate_anchors import ANCHORS, CERTIFICATES_WITH_BATCH, read_proof
from ledger.storage.models import Batch, Certificate
from ledger.verify.bundle import build_bundle
from signer.compact_seal import expand_seal

if TYPE_CHECKING:
    from ledger.app.library import Library

log = logging.getLogger(__name__)


def certificate_bundle(lib: Library, identifier: str) -> dict[str, Any]:
    """The bundle of a stored certificate, or its pending form (root None) while its batch is unanchored."""
    return item_bundle(lib, *load_certificate(lib, identifier))


def item_bundle(lib: Library, cert: Any, batch: Any | None) -> dict[str, Any]:
    """The bundle of a stored anchored item (a certificate or report summary row and its batch row), or
    its pending form (root None) while its batch is unanchored."""
    if is_anchored(cert, batch):
        return stored_bundle(lib, cert, batch)
    return {"identifier": cert.identifier, "record": json.loads(cert.record), "leaf": "0x" + cert.leaf.hex(),
            "seal": {"der": base64.b64encode(cert.record_seal).decode()}, "root": None, "proof": [], "chain": {}}


_CERTS, _BATCHES = Certificate.__table__, Batch.__table__


def export_bundle(lib: Library, identifier: str) -> dict[str, Any]:
    """The bundle of an anchored certificate; Conflict ``certificate_not_anchored`` while its batch is pending."""
    cert, batch = load_certificate(lib, identifier)
    return stored_bundle(lib, cert, batch)


def is_anchored(cert: Any, batch: Any | None) -> bool:
    return batch is not None and batch.status == "anchored" and cert.proof is not None


def stored_bundle(lib: Library, cert: Any, batch: Any | None) -> dict[str, Any]:
    """The bundle of a certificate row and its batch row."""
    if not is_anchored(cert, batch):
        raise Conflict(
            "certificate_not_anchored",
            f"certificate {cert.identifier} is issued but its batch is not anchored yet; export it after the next "
            "anchoring run (certledger anchor --now anchors at once)",
            identifier=cert.identifier,
        )
    contract = lib.require_contract()
    return build_bundle(
        record=json.loads(cert.record),
        seal=cert.record_seal,
        leaf=cert.leaf,
        root=batch.root,
        proof=split_proof(cert.proof),
        chain_id=contract.client.chain_id,
        contract=contract.address,
        tx_hash=batch.tx_hash,
        block_number=batch.block_number,
        anchored_at=batch.block_time,
        city_root_der=lib.seal_registry().root_der,
    )


# Built once: composing the statement cost more than running it.
_CERTIFICATE_WITH_BATCH = (
    select(*_CERTS.c, ANCHORS.c.leaf_index, ANCHORS.c.node, *(c.label(f"batch__{c.name}") for c in _BATCHES.c))
    .select_from(CERTIFICATES_WITH_BATCH)
    .where(_CERTS.c.identifier == bindparam("identifier"))
)


def load_certificate(lib: Library, identifier: str) -> tuple[Any, Any | None]:
    """A certificate and its batch by identifier (validated first); NotFound ``certificate_not_found``.

    Both come back as plain objects with the ORM classes' attribute names: this is every
    verification's first step, and a Core query costs a fraction of loading ORM objects. The certificate's
    ``record_seal`` is the seal as made (``signer.compact_seal``), with ``batch_id``, ``leaf_index`` and, once
    anchored, ``proof`` (``ledger.storage.certificate_anchors``), as an anchored item of another kind has them.
    """
    ident = str(parse_identifier(identifier))
    with lib.engine.connect() as conn:
        row = conn.execute(_CERTIFICATE_WITH_BATCH, {"identifier": ident}).first()
        if row is None:
            raise NotFound("certificate_not_found", f"no certificate has the identifier {ident}", identifier=ident)
        values = row._mapping
        anchored = values["batch__status"] == "anchored"
        proof = read_proof(conn, values["batch__id"], values["node"]) if anchored else None
    # attributes named as on the ORM classes (its columns; Certificate.meta and .leaf are views of the record)
    cert = SimpleNamespace(**{a.key: values[a.columns[0].name] for a in Certificate.__mapper__.column_attrs},
                           leaf=record_leaf(values["record"].encode()), batch_id=values["batch__id"],
                           leaf_index=values["leaf_index"], proof=proof)
    cert.record_seal = expand_seal(cert.record_seal, lib.seal_registry(), cert.record.encode())
    batch = None
    if values["batch__id"] is not None:
        batch = SimpleNamespace(**{a.key: values[f"batch__{a.columns[0].name}"] for a in Batch.__mapper__.column_attrs})
    return cert, batch
