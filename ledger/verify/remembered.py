"""Remembered VALID results, and the one database read that decides whether one still holds.

Counters verify the same certificates again and again; the record hash, proof and seal checks would give the
same answer while nothing they rest on changed. Each worker keeps up to ``VALID_RESULTS_LIMIT`` VALID results
and returns one only while its inputs are unchanged: the stored row (read again each time, through a bare
driver connection, since on a remembered result that read is the whole cost), the seal registry, the date and
the leaf's status.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import bindparam, select
from web3.exceptions import Web3Exception

from ledger.core.checks import PENDING_REASONS, Status
from ledger.core.errors import CertledgerError
from ledger.core.merkle import split_proof
from ledger.core.record import record_leaf
from ledger.core.statuses import LeafStatus
from ledger.storage.certificate_anchors import (
    ANCHORS,
    CERTIFICATES_WITH_BATCH,
    PROOF_WITH_ANCHOR,
    checked_proof,
    read_proof,
)
from ledger.storage.driver_reads import read_one
from ledger.storage.leaf_statuses import LeafStatusTable, StatusRead, with_leaf_status
from ledger.storage.record_text import unpack_record
from ledger.storage.models import Batch, Certificate
from ledger.verify.fragments import VerificationResult, Verifier
from ledger.verify.stored import certificate_bundle
from signer.compact_seal import expand_seal
from signer.registry import SealRegistry

if TYPE_CHECKING:
    from ledger.app.library import Library

log = logging.getLogger(__name__)

VALID_RESULTS_LIMIT = 4096


@dataclass(frozen=True)
class _ValidResult:
    """A VALID verification and everything it was computed from that can change."""

    row: tuple[Any, ...]
    registry: SealRegistry
    day: dt.date
    result: VerificationResult
    proof: bytes  # read from its batch's tree, which never changes once stored
    leaf: bytes  # of the row's record (derived, not stored: ``Certificate.leaf``)


_Batches = Batch.__table__
_Certificates = Certificate.__table__


# Every stored value a stored certificate's bundle is built from, as the driver returns them (its proof is read
# from its batch's tree by batch and node).
_ROW_INPUTS = (
    select(_Certificates.c.record, _Certificates.c.record_seal, ANCHORS.c.batch_id,
           ANCHORS.c.node, _Batches.c.status, _Batches.c.root, _Batches.c.tx_hash, _Batches.c.block_number,
           _Batches.c.block_time)
    .select_from(CERTIFICATES_WITH_BATCH)
    .where(_Certificates.c.identifier == bindparam("identifier"))
)


# A first verification on PostgreSQL reads the proof's nodes (``PROOF_WITH_ANCHOR``) and the leaf's status in the
# indexer's table (``with_leaf_status``) with the row: two statements fewer. A remembered result's check reads the row
# alone: its proof is remembered with it, and its status is read as a fresh one is.
_ROW_INPUTS_PROOF_AND_STATUS = with_leaf_status(_ROW_INPUTS.add_columns(PROOF_WITH_ANCHOR))
_ROW_COLUMNS = len(_ROW_INPUTS.selected_columns)


class _RowInputs(NamedTuple):
    row: tuple[Any, ...] | None
    proof: bytes | None  # read with the row (else None: read apart)
    status: StatusRead | None  # read with the row (else None: read apart)


def _row_inputs(lib: Library, identifier: str, statuses: LeafStatusTable | None, *, own_connection: bool = False,
                first: bool = False) -> _RowInputs:
    """The stored inputs of a certificate's verification, read through a bare driver connection: on a
    remembered result this read is the whole cost. ``own_connection``: through this thread's own connection
    (for the API's event loop, one thread). ``first`` (no remembered result), on PostgreSQL with the statuses in
    the indexer's table (the service's verifiers): its proof and its leaf status as read with it."""
    if first and statuses is not None and lib.engine.dialect.name == "postgresql":
        got = read_one(lib.engine, _ROW_INPUTS_PROOF_AND_STATUS, {"identifier": identifier,
                                                                  "status_cursor": statuses.cursor},
                       own_connection=own_connection)
        if got is None:
            return _RowInputs(None, None, None)
        row = got[:_ROW_COLUMNS]
        return _RowInputs(row, got[_ROW_COLUMNS], StatusRead.of(row[5], got[_ROW_COLUMNS + 1:]))
    return _RowInputs(read_one(lib.engine, _ROW_INPUTS, {"identifier": identifier}, own_connection=own_connection),
                      None, None)


def _still_valid(verifier: Verifier, hit: _ValidResult, row: tuple[Any, ...] | None, registry: SealRegistry,
                 day: dt.date) -> bool:
    """Whether a remembered VALID result holds still: none of its inputs changed since, the stored row, the seal
    registry (revocations), the day, and the leaf's status on chain, read as a fresh verification reads it (so a
    status change counts within ``status_max_age``), and no compromise of the anchor's seal on chain. The chain
    facts it also rests on (the anchor, with its seal, and the anchoring account's registration) cannot change
    once set."""
    if row != hit.row or registry is not hit.registry or day != hit.day:
        return False
    try:
        anchor, status = verifier.chain.anchor_and_status([hit.result.certificate["issuer_account"]], row[5], hit.leaf,
                                                          split_proof(hit.proof))
    except (CertledgerError, Web3Exception):
        return False  # a full verification reports it as a fragment
    # a seal compromise recorded on chain since (not through this platform's registry) counts too
    return anchor is not None and status == LeafStatus.VALID and not verifier.chain.compromise_time(
        anchor.seal_fingerprint)


def verify_stored(lib: Library, verifier: Verifier, identifier: str, *,
                       own_connection: bool = False) -> VerificationResult:
    # read before verifying: if anything changes meanwhile, the remembered result is not reused
    registry, day = lib.seal_registry(), verifier.today()
    hit = verifier.valid_results.get(identifier)
    statuses = verifier.chain.leaf_statuses
    table = statuses if isinstance(statuses, LeafStatusTable) else None
    row, read_with_row, status_read = _row_inputs(lib, identifier, table, own_connection=own_connection,
                                                  first=hit is None)
    if hit is not None and _still_valid(verifier, hit, row, registry, day):
        log.info("certificate verified", extra={"identifier": identifier, "verdict": hit.result.verdict.value})
        return hit.result
    chain_id = verifier.chain.chain_id()  # offline: known before the bundle is built, or ChainReadNeeded
    proof = None
    if row is None:  # unknown, or not as written: the stored bundle's reading refuses or finds it
        result = verifier.verify_bundle(certificate_bundle(lib, identifier))
    else:
        record = unpack_record(row[0])  # a bare driver read: the record as stored
        data = record.encode()
        leaf = record_leaf(data)
        if row[4] == "anchored":
            proof = (checked_proof(row[2], row[3], read_with_row) if read_with_row is not None else
                     read_proof(lib.engine, row[2], row[3], own_connection=own_connection))
        with table.given(status_read) if table is not None else contextlib.nullcontext():
            result = _verify_row(verifier, identifier, row, record, leaf, expand_seal(row[1], registry, data), proof,
                                 chain_id)
    if result.verdict is Status.PENDING:
        result = _with_expected_anchoring(lib, identifier, result)
    if result.verdict is Status.VALID and proof is not None and result.certificate.get("identifier") == identifier:
        if len(verifier.valid_results) >= VALID_RESULTS_LIMIT:
            verifier.valid_results.clear()
        verifier.valid_results[identifier] = _ValidResult(row, registry, day, result, proof, leaf)
    return result


def _with_expected_anchoring(lib: Library, identifier: str, result: VerificationResult) -> VerificationResult:
    """A PENDING result with the time its batch is expected on chain (its issuance plus the batching age,
    ``CERTLEDGER_BATCH_MAX_AGE_S``), so that a person told 待上链 also learns when to look again."""
    with lib.engine.connect() as conn:
        issued = conn.scalar(select(_Certificates.c.created_at).where(_Certificates.c.identifier == identifier))
    if issued is None:
        return result
    if issued.tzinfo is None:  # SQLite returns naive UTC
        issued = issued.replace(tzinfo=dt.UTC)
    expected = (issued + dt.timedelta(seconds=lib.settings.batch_max_age_s)).isoformat()
    checks = [replace(c, data={**c.data, "expected_anchoring_by": expected}) if c.reason in PENDING_REASONS else c
              for c in result.checks]
    return VerificationResult(result.verdict, checks, {**result.certificate, "expected_anchoring_by": expected})


def _verify_row(verifier: Verifier, identifier: str, row: tuple[Any, ...], record: str, leaf: bytes, seal: bytes,
                proof: bytes | None, chain_id: int) -> VerificationResult:
    """Verify a stored certificate from its ``_row_inputs``, its record (unpacked) and the record's leaf, its seal
    as made and its proof (None: not anchored) as from its stored bundle (``item_bundle``), without encoding the
    bundle only to decode it again."""
    _record, _stored_seal, _batch_id, _node, batch_status, root, _tx_hash, block_number, _block_time = row
    bundle: dict[str, Any] = {"identifier": identifier, "record": json.loads(record), "root": None}
    if batch_status != "anchored" or proof is None:  # pending, as is_anchored judges it
        return verifier.verify_parts(bundle, seal, leaf, None, [])
    contract = verifier.chain.contract
    bundle |= {"root": "0x" + root.hex(),
               "chain": {"chain_id": chain_id, "contract": contract.address, "block_number": block_number}}
    return verifier.verify_parts(bundle, seal, leaf, root, split_proof(proof))
