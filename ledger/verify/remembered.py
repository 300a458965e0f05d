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
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson
from sqlalchemy import ARRAY, Text, any_, bindparam, select
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
from ledger.storage.driver_reads import read_all, read_one
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
_ROW_INPUT_COLUMNS = (
    select(_Certificates.c.record, _Certificates.c.record_seal, ANCHORS.c.batch_id,
           ANCHORS.c.node, _Batches.c.status, _Batches.c.root, _Batches.c.tx_hash, _Batches.c.block_number,
           _Batches.c.block_time)
    .select_from(CERTIFICATES_WITH_BATCH)
)
_ROW_INPUTS = _ROW_INPUT_COLUMNS.where(_Certificates.c.identifier == bindparam("identifier"))
_ROW_COLUMNS = len(_ROW_INPUTS.selected_columns)


# On PostgreSQL, with the statuses in the indexer's table (the service's verifiers), the rows of several
# certificates at once, each with the proof's nodes (``PROOF_WITH_ANCHOR``) and the leaf's status
# (``with_leaf_status``): one statement for every verification the API's event loop has waiting
# (``api.fast_verify``), where each took one of its own.
_MANY_ROW_INPUTS = with_leaf_status(
    _ROW_INPUT_COLUMNS.add_columns(PROOF_WITH_ANCHOR, _Certificates.c.identifier)
    .where(_Certificates.c.identifier == any_(bindparam("identifiers", type_=ARRAY(Text)))))


class RowInputs(NamedTuple):
    """A certificate's stored inputs as one read gave them (``row`` None: no such certificate)."""

    row: tuple[Any, ...] | None
    proof: bytes | None  # read with the row (else None: read apart)
    status: StatusRead | None  # read with the row (else None: read apart)


def _statuses_table(verifier: Verifier) -> LeafStatusTable | None:
    statuses = verifier.chain.leaf_statuses
    return statuses if isinstance(statuses, LeafStatusTable) else None


def read_row_inputs(lib: Library, verifier: Verifier, identifiers: Sequence[str], *,
                    own_connection: bool = False) -> dict[str, RowInputs] | None:
    """The stored inputs of the verifications of ``identifiers`` in one read, each with its proof and leaf status
    (an identifier stored nowhere maps to an empty read), or None where one statement cannot give them all (SQLite,
    or statuses not in the indexer's table): then :func:`verify_stored` reads each itself. Through a bare driver
    connection: on a remembered result this read is the whole cost."""
    table = _statuses_table(verifier)
    if table is None or lib.engine.dialect.name != "postgresql":
        return None
    rows = read_all(lib.engine, _MANY_ROW_INPUTS, {"identifiers": list(identifiers), "status_cursor": table.cursor},
                    own_connection=own_connection)
    found = {identifier: RowInputs(None, None, None) for identifier in identifiers}
    for got in rows:
        row = got[:_ROW_COLUMNS]
        found[got[_ROW_COLUMNS + 1]] = RowInputs(row, got[_ROW_COLUMNS],
                                                 StatusRead.of(row[5], got[_ROW_COLUMNS + 2:]))
    return found


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


def verify_stored(lib: Library, verifier: Verifier, identifier: str, *, own_connection: bool = False,
                  read: RowInputs | None = None) -> VerificationResult:
    """Verify a stored certificate, or return its remembered result while that holds; ``read``: its stored inputs
    as :func:`read_row_inputs` gave them (else read here, the same way)."""
    # read before verifying: if anything changes meanwhile, the remembered result is not reused
    registry, day = lib.seal_registry(), verifier.today()
    hit = verifier.valid_results.get(identifier)
    if read is None:
        reads = read_row_inputs(lib, verifier, [identifier], own_connection=own_connection)
        read = reads[identifier] if reads is not None else RowInputs(
            read_one(lib.engine, _ROW_INPUTS, {"identifier": identifier}, own_connection=own_connection), None, None)
    table = _statuses_table(verifier)
    with table.given(read.status) if table is not None else contextlib.nullcontext():
        result, proof, leaf = _verified(lib, verifier, identifier, read, hit, registry, day,
                                        own_connection=own_connection)
    if hit is not None and result is hit.result:  # still valid: remembered already
        return result
    if result.verdict is Status.PENDING:
        result = _with_expected_anchoring(lib, identifier, result)
    if result.verdict is Status.VALID and proof is not None and result.certificate.get("identifier") == identifier:
        if len(verifier.valid_results) >= VALID_RESULTS_LIMIT:
            verifier.valid_results.clear()
        verifier.valid_results[identifier] = _ValidResult(read.row, registry, day, result, proof, leaf)
    return result


def _verified(lib: Library, verifier: Verifier, identifier: str, read: RowInputs, hit: _ValidResult | None,
              registry: SealRegistry, day: dt.date, *, own_connection: bool
              ) -> tuple[VerificationResult, bytes | None, bytes | None]:
    """The remembered result if it holds, else a verification of the stored row: (result, its proof, its leaf)."""
    row = read.row
    if hit is not None and _still_valid(verifier, hit, row, registry, day):
        log.info("certificate verified", extra={"identifier": identifier, "verdict": hit.result.verdict.value})
        return hit.result, None, None
    chain_id = verifier.chain.chain_id()  # offline: known before the bundle is built, or ChainReadNeeded
    if row is None:  # unknown, or not as written: the stored bundle's reading refuses or finds it
        return verifier.verify_bundle(certificate_bundle(lib, identifier)), None, None
    record = unpack_record(row[0])  # a bare driver read: the record as stored
    data = record.encode()
    leaf = record_leaf(data)
    proof = None
    if row[4] == "anchored":
        proof = (checked_proof(row[2], row[3], read.proof) if read.proof is not None else
                 read_proof(lib.engine, row[2], row[3], own_connection=own_connection))
    result = _verify_row(verifier, identifier, row, record, leaf, expand_seal(row[1], registry, data), proof, chain_id)
    return result, proof, leaf


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
    """Verify a stored certificate from its row (``_ROW_INPUTS``' columns), its record (unpacked) and the record's
    leaf, its seal as made and its proof (None: not anchored) as from its stored bundle (``item_bundle``), without
    encoding the bundle only to decode it again."""
    _record, _stored_seal, _batch_id, _node, batch_status, root, _tx_hash, block_number, _block_time = row
    bundle: dict[str, Any] = {"identifier": identifier, "record": orjson.loads(record), "root": None}
    if batch_status != "anchored" or proof is None:  # pending, as is_anchored judges it
        return verifier.verify_parts(bundle, seal, leaf, None, [])
    contract = verifier.chain.contract
    bundle |= {"root": "0x" + root.hex(),
               "chain": {"chain_id": chain_id, "contract": contract.address, "block_number": block_number}}
    return verifier.verify_parts(bundle, seal, leaf, root, split_proof(proof))
